//! `Bond-Signature: t=<unix seconds>,v1=<hex>,v2=<hex>`: HMAC-SHA256 over the timestamp and the
//! raw body, compared in constant time, within a tolerance, against every active secret.
//!
//! Bond's documentation is cut off where it states the exact signed string. The layout lives in
//! [`signed_payload`] alone, pinned by test vectors computed outside Rust, so it can be corrected
//! against one captured sandbox delivery without touching anything else.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use crate::provider::AuthError;

/// The string Bond signs: `{t}.{raw body}` (the Stripe layout; see the module note).
pub fn signed_payload(t: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(t.len() + 1 + body.len());
    out.extend_from_slice(t.as_bytes());
    out.push(b'.');
    out.extend_from_slice(body);
    out
}

fn mac(secret: &[u8]) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts keys of any length")
}

/// Hex HMAC-SHA256 of the signed payload: what a sender puts in `v1`/`v2`.
pub fn sign(secret: &[u8], t: &str, body: &[u8]) -> String {
    let digest = {
        let mut m = mac(secret);
        m.update(&signed_payload(t, body));
        m.finalize().into_bytes()
    };
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The parts of a `Bond-Signature` header.
#[derive(Debug, PartialEq, Eq)]
pub struct Header<'a> {
    pub t: &'a str,
    pub signatures: Vec<&'a str>,
}

pub fn parse_header(raw: &str) -> Result<Header<'_>, AuthError> {
    let mut t = None;
    let mut signatures = Vec::new();
    for part in raw.split(',') {
        let (k, v) = part.trim().split_once('=').ok_or(AuthError::Invalid)?;
        match k {
            "t" if t.is_none() => t = Some(v),
            "t" => return Err(AuthError::Invalid),
            "v1" | "v2" => signatures.push(v),
            _ => {}
        }
    }
    let t = t.ok_or(AuthError::Invalid)?;
    if signatures.is_empty() {
        return Err(AuthError::Invalid);
    }
    Ok(Header { t, signatures })
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

/// Accept when the timestamp is within `tolerance` of `now` and any signature matches any secret.
pub fn verify(
    secrets: &[SecretString],
    header: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
    tolerance_secs: i64,
) -> Result<(), AuthError> {
    let header = parse_header(header.ok_or(AuthError::Missing)?)?;
    let t: i64 = header.t.parse().map_err(|_| AuthError::Invalid)?;
    if (now.timestamp() - t).abs() > tolerance_secs {
        return Err(AuthError::Invalid);
    }
    let payload = signed_payload(header.t, body);
    let mut ok = false;
    for secret in secrets {
        for sig in &header.signatures {
            // A signature of the wrong length or alphabet never matches (no prefix comparisons).
            let Some(bytes) = decode_hex(sig) else {
                continue;
            };
            let mut m = mac(secret.expose_secret().as_bytes());
            m.update(&payload);
            ok |= m.verify_slice(&bytes).is_ok();
        }
    }
    if ok {
        Ok(())
    } else {
        Err(AuthError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = r#"{"event":"kyc.verification.success","customer_id":"931e2341-c3eb-4681-97d4-f6e09d90da14","occurred_at":"2021-10-20T10:27:20.154286+00:00"}"#;
    /// Computed with Python's `hmac.new(secret, f"{t}.{body}", sha256).hexdigest()`.
    const VECTOR: &str = "f78088e518585bd216fdba8e729d3ccd08b97b963ed2502bbc9e30dde0130aa8";

    fn at(t: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(t, 0).unwrap()
    }

    fn secrets(list: &[&str]) -> Vec<SecretString> {
        list.iter()
            .map(|s| SecretString::from(s.to_string()))
            .collect()
    }

    #[test]
    fn the_signed_string_layout_matches_the_independent_vectors() {
        assert_eq!(
            sign(b"whsec_bond_test_secret", "1598980451", BODY.as_bytes()),
            VECTOR
        );
        assert_eq!(
            sign(b"second-secret", "1700000000", b"{}"),
            "eedf66313686f1c61c175580a2cbe403d17358d74b276ee2dfb6a5dcb24a6362"
        );
    }

    #[test]
    fn a_valid_signature_in_v1_or_v2_is_accepted() {
        let s = secrets(&["whsec_bond_test_secret"]);
        for header in [
            format!("t=1598980451,v2={VECTOR}"),
            format!("t=1598980451,v1={VECTOR},v2=00"),
            format!("t=1598980451, v1=ab, v2={VECTOR}"),
        ] {
            assert_eq!(
                verify(&s, Some(&header), BODY.as_bytes(), at(1598980451 + 10), 300),
                Ok(()),
                "{header}"
            );
        }
    }

    #[test]
    fn wrong_secret_tampered_body_and_stale_timestamps_are_refused() {
        let header = format!("t=1598980451,v1={VECTOR},v2={VECTOR}");
        let good = secrets(&["whsec_bond_test_secret"]);
        assert_eq!(
            verify(
                &secrets(&["nope"]),
                Some(&header),
                BODY.as_bytes(),
                at(1598980451),
                300
            ),
            Err(AuthError::Invalid)
        );
        let tampered = BODY.replace("success", "failure");
        assert_eq!(
            verify(
                &good,
                Some(&header),
                tampered.as_bytes(),
                at(1598980451),
                300
            ),
            Err(AuthError::Invalid)
        );
        assert_eq!(
            verify(
                &good,
                Some(&header),
                BODY.as_bytes(),
                at(1598980451 + 301),
                300
            ),
            Err(AuthError::Invalid)
        );
        assert_eq!(
            verify(
                &good,
                Some(&header),
                BODY.as_bytes(),
                at(1598980451 - 301),
                300
            ),
            Err(AuthError::Invalid)
        );
    }

    #[test]
    fn missing_or_malformed_signatures_are_refused() {
        let good = secrets(&["whsec_bond_test_secret"]);
        let now = at(1598980451);
        assert_eq!(
            verify(&good, None, BODY.as_bytes(), now, 300),
            Err(AuthError::Missing)
        );
        for header in [
            "t=1598980451".to_owned(),
            format!("v2={VECTOR}"),
            format!("t=1598980451,v2={VECTOR}00"),
            format!("t=1598980451,v2={}", &VECTOR[..63]),
            format!("t=1598980451,v2={}", &VECTOR[..32]),
            "t=1598980451,v2=".to_owned(),
            format!("t=soon,v2={VECTOR}"),
            format!("t=1598980451,t=1598980452,v2={VECTOR}"),
            "garbage".to_owned(),
        ] {
            assert_eq!(
                verify(&good, Some(&header), BODY.as_bytes(), now, 300),
                Err(AuthError::Invalid),
                "{header}"
            );
        }
    }

    #[test]
    fn during_rotation_either_secret_is_accepted() {
        let both = secrets(&["old-secret", "whsec_bond_test_secret"]);
        let header = format!("t=1598980451,v2={VECTOR}");
        assert_eq!(
            verify(&both, Some(&header), BODY.as_bytes(), at(1598980451), 300),
            Ok(())
        );
        let old = sign(b"old-secret", "1598980451", BODY.as_bytes());
        assert_eq!(
            verify(
                &both,
                Some(&format!("t=1598980451,v2={old}")),
                BODY.as_bytes(),
                at(1598980451),
                300
            ),
            Ok(())
        );
    }
}
