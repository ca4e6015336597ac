use super::*;

const SECRET: &[u8] = b"whsec_bond_test_secret";
const T: i64 = 1598980451;
const BODY: &str = r#"{"event":"kyc.verification.success","customer_id":"931e2341-c3eb-4681-97d4-f6e09d90da14","occurred_at":"2021-10-20T10:27:20.154286+00:00"}"#;

// Every vector below was computed outside Rust, with Python's standard library:
//   m = {"t.body": t + b"." + body, "tbody": t + body, "body": body, "body.t": body + b"." + t}
//   hmac.new(b"whsec_bond_test_secret", m[layout], hashlib.sha256 or hashlib.sha1).digest()
// written with `.hex()` or `base64.b64encode(...)`, for t = b"1598980451" and body = BODY.

/// HMAC-SHA256, hex, per layout (the first is the default scheme).
const SHA256_HEX: [(Layout, &str); 4] = [
    (
        Layout::TDotBody,
        "f78088e518585bd216fdba8e729d3ccd08b97b963ed2502bbc9e30dde0130aa8",
    ),
    (
        Layout::TBody,
        "bbf182c3002b9cf01b56bcd161bdfc1d58156d0501df122d09ae0553b5a62867",
    ),
    (
        Layout::Body,
        "615c34220f2bc7e20506bae44a94d21e209249d351310c11aec92298e5896f59",
    ),
    (
        Layout::BodyDotT,
        "04f09574d607e6b773d012b6a76fe2e60dbe6d63ef196c80eb9eba0de1b0a2bf",
    ),
];
/// HMAC-SHA256, standard padded base64, per layout.
const SHA256_BASE64: [(Layout, &str); 4] = [
    (
        Layout::TDotBody,
        "94CI5RhYW9IW/bqOcp08zQi5e5Y+0lArvJ4w3eATCqg=",
    ),
    (
        Layout::TBody,
        "u/GCwwArnPAbVrzRYb38HVgVbQUB3xItCa4FU7WmKGc=",
    ),
    (Layout::Body, "YVw0Ig8rx+IFBrrkSpTSHiCSSdNRMQwRrskimOWJb1k="),
    (
        Layout::BodyDotT,
        "BPCVdNYH5rdz0BK2p2/i5g2+bWPvGWyA6566DeGwor8=",
    ),
];
/// HMAC-SHA1, hex, per layout (40 hex digits, like the `v1` of Bond's documentation sample).
const SHA1_HEX: [(Layout, &str); 4] = [
    (Layout::TDotBody, "1e54ff4ffc1a9ec5de512cd1f8da8863296991c6"),
    (Layout::TBody, "b178bf9631c9491d6db1efc3be49056f1824133d"),
    (Layout::Body, "ca075bf4ed3085b5cf2c5a159118894de3a75fa0"),
    (Layout::BodyDotT, "094697baa35e4c18bf629895e08e3b3471771b25"),
];
/// HMAC-SHA1 of `{t}.{body}`, base64.
const SHA1_BASE64_T_DOT_BODY: &str = "HlT/T/wansXeUSzR+NqIYylpkcY=";
/// The default scheme's digest under `old-secret`.
const OLD_SECRET_VECTOR: &str = "bcebcf9a3560e7e2528b022ec8bf670ccc3369a914b366f841026620394aa50b";

const VECTOR: &str = SHA256_HEX[0].1;

fn at(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(t, 0).unwrap()
}

fn secrets(list: &[&str]) -> Vec<SecretString> {
    list.iter()
        .map(|s| SecretString::from(s.to_string()))
        .collect()
}

fn scheme(layout: Layout, encoding: Encoding, accept_sha1: bool) -> SignatureScheme {
    SignatureScheme {
        layout,
        encoding,
        accept_sha1,
        tolerance_secs: 300,
    }
}

/// `verify` with the test secret, `t = T` and `now = T + 10`.
fn check(scheme: &SignatureScheme, header: &str) -> Result<(), AuthError> {
    let s = secrets(&["whsec_bond_test_secret"]);
    verify(scheme, &s, Some(header), BODY.as_bytes(), at(T + 10))
}

#[test]
fn the_default_signer_matches_the_independent_vectors() {
    assert_eq!(sign(SECRET, "1598980451", BODY.as_bytes()), VECTOR);
    assert_eq!(
        sign(b"second-secret", "1700000000", b"{}"),
        "eedf66313686f1c61c175580a2cbe403d17358d74b276ee2dfb6a5dcb24a6362"
    );
}

#[test]
fn each_layout_in_hex_is_believed_only_when_configured() {
    for (configured, _) in SHA256_HEX {
        let s = scheme(configured, Encoding::Hex, false);
        for (layout, vector) in SHA256_HEX {
            let expected = if layout == configured {
                Ok(())
            } else {
                Err(AuthError::Invalid)
            };
            assert_eq!(
                check(&s, &format!("t={T},v2={vector}")),
                expected,
                "{layout:?}"
            );
            assert_eq!(
                check(&s, &format!("t={T},v1={vector}")),
                expected,
                "{layout:?}"
            );
        }
    }
}

#[test]
fn each_layout_in_base64_is_believed_only_with_the_base64_encoding() {
    for ((layout, b64), (_, hex)) in SHA256_BASE64.into_iter().zip(SHA256_HEX) {
        let base64 = scheme(layout, Encoding::Base64, false);
        assert_eq!(check(&base64, &format!("t={T},v1=00,v2={b64}")), Ok(()));
        assert_eq!(
            check(&base64, &format!("t={T},v2={hex}")),
            Err(AuthError::Invalid)
        );
        let hex_scheme = scheme(layout, Encoding::Hex, false);
        assert_eq!(
            check(&hex_scheme, &format!("t={T},v2={b64}")),
            Err(AuthError::Invalid)
        );
        let unpadded = b64.trim_end_matches('=');
        assert_eq!(
            check(&base64, &format!("t={T},v2={unpadded}")),
            Err(AuthError::Invalid)
        );
    }
}

#[test]
fn a_sha1_v1_counts_only_when_accepted_and_never_in_v2() {
    for (layout, sha1) in SHA1_HEX {
        let off = scheme(layout, Encoding::Hex, false);
        let on = scheme(layout, Encoding::Hex, true);
        let in_v1 = format!("t={T},v1={sha1},v2=00");
        assert_eq!(check(&off, &in_v1), Err(AuthError::Invalid), "{layout:?}");
        assert_eq!(check(&on, &in_v1), Ok(()), "{layout:?}");
        assert_eq!(
            check(&on, &format!("t={T},v2={sha1}")),
            Err(AuthError::Invalid)
        );
    }
    let b64 = scheme(Layout::TDotBody, Encoding::Base64, true);
    let header = format!("t={T},v1={SHA1_BASE64_T_DOT_BODY}");
    assert_eq!(check(&b64, &header), Ok(()));
    // With SHA-1 accepted, a SHA-256 v1 still counts.
    let on = scheme(Layout::TDotBody, Encoding::Hex, true);
    assert_eq!(check(&on, &format!("t={T},v1={VECTOR}")), Ok(()));
}

#[test]
fn the_default_tolerance_covers_bonds_three_days_of_retries() {
    let d = SignatureScheme::default();
    let s = secrets(&["whsec_bond_test_secret"]);
    let header = format!("t={T},v1={VECTOR},v2={VECTOR}");
    let at_age = |age: i64| verify(&d, &s, Some(&header), BODY.as_bytes(), at(T + age));
    assert_eq!(at_age(3 * 24 * 3600 + 3600), Ok(()));
    assert_eq!(at_age(345_600), Ok(()));
    assert_eq!(at_age(345_601), Err(AuthError::Invalid));
    assert_eq!(at_age(-345_601), Err(AuthError::Invalid));
}

#[test]
fn wrong_secret_tampered_body_and_stale_timestamps_are_refused() {
    let s = scheme(Layout::TDotBody, Encoding::Hex, true);
    let header = format!("t={T},v1={VECTOR},v2={VECTOR}");
    let good = secrets(&["whsec_bond_test_secret"]);
    let run = |secrets: &[SecretString], body: &str, now: i64| {
        verify(&s, secrets, Some(&header), body.as_bytes(), at(now))
    };
    assert_eq!(run(&good, BODY, T), Ok(()));
    assert_eq!(run(&secrets(&["nope"]), BODY, T), Err(AuthError::Invalid));
    let tampered = BODY.replace("success", "failure");
    assert_eq!(run(&good, &tampered, T), Err(AuthError::Invalid));
    assert_eq!(run(&good, BODY, T + 301), Err(AuthError::Invalid));
    assert_eq!(run(&good, BODY, T - 301), Err(AuthError::Invalid));
}

#[test]
fn missing_malformed_or_too_many_signatures_are_refused() {
    let d = scheme(Layout::TDotBody, Encoding::Hex, true);
    let good = secrets(&["whsec_bond_test_secret"]);
    assert_eq!(
        verify(&d, &good, None, BODY.as_bytes(), at(T)),
        Err(AuthError::Missing)
    );
    let five = format!("t={T},v1=00,v1=01,v2=02,v2=03,v2={VECTOR}");
    assert_eq!(check(&d, &five), Ok(()));
    for header in [
        format!("t={T},v1=00,v1=01,v2=02,v2=03,v2=04,v2={VECTOR}"),
        format!("t={T}"),
        format!("v2={VECTOR}"),
        format!("t={T},v2={VECTOR}00"),
        format!("t={T},v2={}", &VECTOR[..63]),
        format!("t={T},v2={}", &VECTOR[..40]),
        format!("t={T},v2="),
        format!("t=soon,v2={VECTOR}"),
        format!("t=+{T},v2={VECTOR}"),
        format!("t=99999999999999999999999,v2={VECTOR}"),
        format!("t={T},t={},v2={VECTOR}", T + 1),
        "garbage".to_owned(),
    ] {
        assert_eq!(check(&d, &header), Err(AuthError::Invalid), "{header}");
    }
}

#[test]
fn during_rotation_either_secret_is_accepted() {
    let d = SignatureScheme::default();
    let both = secrets(&["old-secret", "whsec_bond_test_secret"]);
    for vector in [VECTOR, OLD_SECRET_VECTOR] {
        let header = format!("t={T},v2={vector}");
        assert_eq!(
            verify(&d, &both, Some(&header), BODY.as_bytes(), at(T)),
            Ok(())
        );
    }
}

#[test]
fn detect_names_every_scheme_that_verifies_a_capture() {
    let header = format!("t={T},v1={},v2={VECTOR}", SHA1_HEX[0].1);
    let found = detect(SECRET, &header, BODY.as_bytes()).unwrap();
    let shown: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "BOND_SIGNATURE_LAYOUT=t.body BOND_SIGNATURE_ENCODING=hex \
             BOND_SIGNATURE_ACCEPT_SHA1=true (v1, HMAC-SHA1)",
            "BOND_SIGNATURE_LAYOUT=t.body BOND_SIGNATURE_ENCODING=hex (v2, HMAC-SHA256)",
        ]
    );
}

#[test]
fn detect_finds_each_layout_and_encoding() {
    for (layout, vector) in SHA256_HEX.into_iter().chain(SHA256_BASE64) {
        let found = detect(SECRET, &format!("t={T},v2={vector}"), BODY.as_bytes()).unwrap();
        assert_eq!(found.len(), 1, "{vector}");
        assert_eq!((found[0].layout, found[0].digest), (layout, Digest::Sha256));
        let encoding = if vector.len() == 64 {
            Encoding::Hex
        } else {
            Encoding::Base64
        };
        assert_eq!(found[0].encoding, encoding);
    }
}

#[test]
fn detect_finds_nothing_for_a_tampered_body_or_another_secret() {
    let header = format!("t={T},v1={VECTOR},v2={VECTOR}");
    let tampered = BODY.replacen('k', "K", 1);
    assert_eq!(detect(SECRET, &header, tampered.as_bytes()), Ok(vec![]));
    assert_eq!(detect(b"nope", &header, BODY.as_bytes()), Ok(vec![]));
    assert_eq!(
        detect(SECRET, "t=1", BODY.as_bytes()),
        Err(AuthError::Invalid)
    );
}
