//! Standard Webhooks v1 signatures: `webhook-signature: v1,<base64 HMAC-SHA256 of
//! "{id}.{timestamp}.{body}">`, one entry per key (two while a key is being rotated), keys in the
//! `whsec_<base64>` form of the specification.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const PREFIX: &str = "whsec_";
/// The specification's bounds of a symmetric key: 24 to 64 bytes.
const MIN_KEY_BYTES: usize = 24;
const MAX_KEY_BYTES: usize = 64;
/// At most this many keys at once (the current one and the ones being rotated out).
const MAX_KEYS: usize = 3;

/// Why signing keys were refused. Never holds a key.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("no signing key given")]
    Empty,
    #[error("a signing key must start with whsec_")]
    Prefix,
    #[error("a signing key must be base64 after whsec_")]
    Encoding,
    #[error("a signing key must decode to 24 to 64 bytes, not {0}")]
    Length(usize),
    #[error("at most 3 signing keys at once (got {0})")]
    TooMany(usize),
}

/// The keys deliveries are signed with, in the order given (the current one first).
pub struct SigningKeys(Vec<SecretSlice<u8>>);

impl SigningKeys {
    /// Keys separated by spaces or commas: `whsec_new whsec_old` while rotating.
    pub fn parse(raw: &SecretString) -> Result<Self, KeyError> {
        let keys = raw
            .expose_secret()
            .split([' ', ','])
            .filter(|k| !k.is_empty())
            .map(|k| {
                let encoded = k.strip_prefix(PREFIX).ok_or(KeyError::Prefix)?;
                let bytes = STANDARD.decode(encoded).map_err(|_| KeyError::Encoding)?;
                if !(MIN_KEY_BYTES..=MAX_KEY_BYTES).contains(&bytes.len()) {
                    return Err(KeyError::Length(bytes.len()));
                }
                Ok(SecretSlice::from(bytes))
            })
            .collect::<Result<Vec<_>, _>>()?;
        match keys.len() {
            0 => Err(KeyError::Empty),
            n if n > MAX_KEYS => Err(KeyError::TooMany(n)),
            _ => Ok(Self(keys)),
        }
    }

    /// The `webhook-signature` header of one attempt: `v1,<sig>` per key, space-separated.
    pub fn sign(&self, id: &str, timestamp: i64, body: &str) -> String {
        self.0
            .iter()
            .map(|key| {
                let mut mac = HmacSha256::new_from_slice(key.expose_secret())
                    .expect("HMAC takes a key of any length");
                mac.update(format!("{id}.{timestamp}.").as_bytes());
                mac.update(body.as_bytes());
                format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The keys in use, swapped whole when their secret is read again (a rotation reaches a warm
/// function without a restart).
pub struct KeyRing(std::sync::RwLock<std::sync::Arc<SigningKeys>>);

impl KeyRing {
    pub fn new(keys: SigningKeys) -> Self {
        Self(std::sync::RwLock::new(std::sync::Arc::new(keys)))
    }

    pub fn replace(&self, keys: SigningKeys) {
        if let Ok(mut current) = self.0.write() {
            *current = std::sync::Arc::new(keys);
        }
    }

    /// [`SigningKeys::sign`] with the keys in use.
    pub fn sign(&self, id: &str, timestamp: i64, body: &str) -> String {
        let keys = match self.0.read() {
            Ok(k) => k.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        keys.sign(id, timestamp, body)
    }
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKeys({} key(s), redacted)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(raw: &str) -> Result<SigningKeys, KeyError> {
        SigningKeys::parse(&SecretString::from(raw.to_owned()))
    }

    /// The example of the Standard Webhooks reference libraries' tests.
    #[test]
    fn signs_the_reference_example() {
        let k = keys("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            k.sign(
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                r#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn two_keys_sign_twice_the_current_one_first() {
        let new = format!("whsec_{}", STANDARD.encode([1u8; 32]));
        let old = format!("whsec_{}", STANDARD.encode([2u8; 32]));
        let both = keys(&format!("{new} {old}"))
            .unwrap()
            .sign("evt_1", 1, "{}");
        let (first, second) = both.split_once(' ').unwrap();
        assert_eq!(first, keys(&new).unwrap().sign("evt_1", 1, "{}"));
        assert_eq!(second, keys(&old).unwrap().sign("evt_1", 1, "{}"));
        assert_eq!(
            keys(&format!("{new},{old}"))
                .unwrap()
                .sign("evt_1", 1, "{}"),
            both
        );
    }

    #[test]
    fn malformed_keys_are_refused_by_reason() {
        assert_eq!(keys("").unwrap_err(), KeyError::Empty);
        assert_eq!(keys("secret").unwrap_err(), KeyError::Prefix);
        assert_eq!(keys("whsec_***").unwrap_err(), KeyError::Encoding);
        let short = format!("whsec_{}", STANDARD.encode([0u8; 16]));
        assert_eq!(keys(&short).unwrap_err(), KeyError::Length(16));
        let one = format!("whsec_{}", STANDARD.encode([0u8; 24]));
        let four = [one.as_str(); 4].join(" ");
        assert_eq!(keys(&four).unwrap_err(), KeyError::TooMany(4));
    }

    #[test]
    fn the_debug_form_shows_no_key() {
        let k = keys("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert!(!format!("{k:?}").contains("MfKQ"));
    }
}
