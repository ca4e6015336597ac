//! API Gateway's IAM authorizer on localhost, when asked for (`StackOptions::gateway_iam`,
//! `kyc-local` with `LOCAL_GATEWAY_IAM=true`): a request to a route that is not public must
//! carry an `Authorization` header in Signature Version 4's form, else it gets the gateway's
//! `403 {"message": "Forbidden"}` and never reaches the function. Only the header's form is
//! checked, not the signature: there is no IAM here. Off by default (the tests and `make dev`
//! call the API unsigned); the property-based API tests turn it on, so the spec's `sigv4`
//! requirement is held to.

use axum::http::HeaderMap;

/// Whether `value` has the form of a SigV4 `Authorization` header for `execute-api`:
/// `AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/execute-api/aws4_request,
/// SignedHeaders=<names>, Signature=<64 hex>`.
pub fn is_sigv4(value: &str) -> bool {
    let Some(rest) = value.strip_prefix("AWS4-HMAC-SHA256 ") else {
        return false;
    };
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        let (name, v) = part.trim().split_once('=').unwrap_or(("", ""));
        let slot = match name {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => return false,
        };
        if slot.replace(v).is_some() {
            return false;
        }
    }
    let scope_ok = credential.is_some_and(|c| {
        let parts: Vec<&str> = c.split('/').collect();
        parts.len() == 5
            && parts[..3]
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
            && parts[1].len() == 8
            && parts[1].bytes().all(|b| b.is_ascii_digit())
            && parts[3] == "execute-api"
            && parts[4] == "aws4_request"
    });
    let headers_ok = signed_headers.is_some_and(|h| {
        !h.is_empty()
            && h.split(';').all(|n| {
                !n.is_empty()
                    && n.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            })
    });
    let signature_ok = signature.is_some_and(|s| {
        s.len() == 64
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    });
    scope_ok && headers_ok && signature_ok
}

/// Whether the gateway lets the request through: exactly one `Authorization` header, in SigV4 form.
pub fn authorized(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
    match (values.next(), values.next()) {
        (Some(v), None) => v.to_str().is_ok_and(is_sigv4),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNED: &str = "AWS4-HMAC-SHA256 Credential=AKIDLOCAL/20261130/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn only_a_sigv4_shaped_header_for_execute_api_passes_the_gateway() {
        assert!(is_sigv4(SIGNED));
        for bad in [
            "",
            "Bearer abc",
            "Basic b25kYXRvOnB3",
            &SIGNED.replace("execute-api", "s3"),
            &SIGNED.replace("Signature=0123", "Signature=X123"),
            &SIGNED.replace("20261130", "2026113"),
            &format!("{SIGNED}, Signature=00"),
            &SIGNED.replace("SignedHeaders=host;x-amz-date", "SignedHeaders="),
        ] {
            assert!(!is_sigv4(bad), "{bad:?}");
        }
        let mut headers = HeaderMap::new();
        assert!(!authorized(&headers));
        headers.insert(http::header::AUTHORIZATION, SIGNED.parse().unwrap());
        assert!(authorized(&headers));
        headers.append(http::header::AUTHORIZATION, SIGNED.parse().unwrap());
        assert!(!authorized(&headers), "sent twice");
    }
}
