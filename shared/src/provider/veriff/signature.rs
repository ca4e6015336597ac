//! Veriff's `X-HMAC-SIGNATURE`: the lowercase hex HMAC-SHA256, with the integration's shared
//! secret, of the raw body (webhooks, POST and PATCH requests) or of the session id (GET and
//! DELETE requests). No timestamp is signed.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// More signature values than this in one webhook is refused without computing any of them.
pub const MAX_SIGNATURES: usize = 5;

fn mac(secret: &[u8]) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts keys of any length")
}

/// The signature of `payload` with `secret`, as Veriff writes it: lowercase hex.
///
/// What the adapter sends on its requests; tests and the emulator can sign with it too.
pub fn sign(secret: &[u8], payload: &[u8]) -> String {
    let mut m = mac(secret);
    m.update(payload);
    hex::encode(m.finalize().into_bytes())
}

/// A 32-byte hex value, or nothing: a signature of another length or alphabet never matches,
/// so no prefix of a valid signature is ever compared.
fn decode(signature: &str) -> Option<Vec<u8>> {
    if signature.len() != 64 {
        return None;
    }
    hex::decode(signature).ok()
}

/// Whether any of the given signatures is the HMAC of `payload` under any of the secrets.
///
/// Every pair is checked (`verify_slice` compares in constant time) and no loop stops at the
/// first match, so the time taken says nothing about which pair matched or how close one came.
pub fn matches_any(secrets: &[SecretString], signatures: &[&str], payload: &[u8]) -> bool {
    let decoded: Vec<Option<Vec<u8>>> = signatures.iter().map(|s| decode(s)).collect();
    let mut ok = false;
    for secret in secrets {
        let mut keyed = mac(secret.expose_secret().as_bytes());
        keyed.update(payload);
        for candidate in &decoded {
            let matched = candidate
                .as_deref()
                .is_some_and(|bytes| keyed.clone().verify_slice(bytes).is_ok());
            ok |= matched;
        }
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An event webhook body as the emulator sends it.
    const BODY: &str = r#"{"id":"f04bdb47-d3be-4b28-b028-a652feb060b5","attemptId":"e30122d1-740b-4764-853f-470374a7abf4","feature":"selfid","code":7002,"action":"submitted","vendorData":"ver_01JD6Z3Q9P8X7W6V5T4S3R2Q1P","endUserId":null}"#;
    const SECRET: &str = "local-veriff-shared-secret";
    /// `hmac.new(b"local-veriff-shared-secret", BODY, hashlib.sha256).hexdigest()` in Python.
    const BODY_VECTOR: &str = "9617641ff4dd4b6d8076371bea2066e551c2d1827c2ab49622b1dbae0fa425be";
    /// The same over the session id alone, as a GET request signs it.
    const ID_VECTOR: &str = "83bbd718b42ce1ee2a8bf84e37c8cdec89c5a44dabb058b61b1dc190c341f97a";
    /// `BODY` signed with `old-secret`.
    const OLD_VECTOR: &str = "c63e478cbdd357ca0c43a87cf159035e0f492d6c21b2bbc4669f0b75e288b2b3";

    fn secrets(list: &[&str]) -> Vec<SecretString> {
        list.iter()
            .map(|s| SecretString::from(s.to_string()))
            .collect()
    }

    #[test]
    fn signatures_match_vectors_computed_outside_rust() {
        assert_eq!(sign(SECRET.as_bytes(), BODY.as_bytes()), BODY_VECTOR);
        assert_eq!(
            sign(SECRET.as_bytes(), b"f04bdb47-d3be-4b28-b028-a652feb060b5"),
            ID_VECTOR
        );
        assert_eq!(sign(b"old-secret", BODY.as_bytes()), OLD_VECTOR);
        assert_eq!(
            sign(SECRET.as_bytes(), b""),
            "3a7cec2645c13eb1909c4de28761fe3a631c493cc7cfc9bb997639332789c7e5"
        );
    }

    #[test]
    fn the_right_signature_matches_in_either_case_and_among_others() {
        let s = secrets(&[SECRET]);
        assert!(matches_any(&s, &[BODY_VECTOR], BODY.as_bytes()));
        assert!(matches_any(
            &s,
            &[&BODY_VECTOR.to_uppercase()],
            BODY.as_bytes()
        ));
        assert!(matches_any(&s, &["00", "zz", BODY_VECTOR], BODY.as_bytes()));
    }

    #[test]
    fn a_tampered_body_a_wrong_secret_or_a_mangled_signature_never_matches() {
        let s = secrets(&[SECRET]);
        let tampered = BODY.replace("submitted", "approved");
        assert!(!matches_any(&s, &[BODY_VECTOR], tampered.as_bytes()));
        assert!(!matches_any(
            &secrets(&["wrong"]),
            &[BODY_VECTOR],
            BODY.as_bytes()
        ));
        let longer = format!("{BODY_VECTOR}00");
        let truncated = &BODY_VECTOR[..62];
        let half = &BODY_VECTOR[..32];
        let with_prefix = format!("sha256={}", &BODY_VECTOR[7..]);
        for bad in [longer.as_str(), truncated, half, "", with_prefix.as_str()] {
            assert!(!matches_any(&s, &[bad], BODY.as_bytes()), "{bad}");
        }
        assert!(!matches_any(&s, &[], BODY.as_bytes()));
        assert!(!matches_any(&[], &[BODY_VECTOR], BODY.as_bytes()));
    }

    #[test]
    fn during_rotation_a_signature_with_either_secret_matches() {
        let both = secrets(&[SECRET, "old-secret"]);
        assert!(matches_any(&both, &[BODY_VECTOR], BODY.as_bytes()));
        assert!(matches_any(&both, &[OLD_VECTOR], BODY.as_bytes()));
        assert!(!matches_any(
            &secrets(&[SECRET]),
            &[OLD_VECTOR],
            BODY.as_bytes()
        ));
    }
}
