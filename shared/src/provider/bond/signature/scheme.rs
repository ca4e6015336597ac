//! Which `Bond-Signature` scheme is believed: the signed string's layout, the digest's encoding,
//! whether a SHA-1 `v1` counts, and how old `t` may be; read once from `BOND_SIGNATURE_*`.

use base64::Engine;

use crate::config::env::{invalid, ConfigError, Env};

pub const LAYOUT_VAR: &str = "BOND_SIGNATURE_LAYOUT";
pub const ENCODING_VAR: &str = "BOND_SIGNATURE_ENCODING";
pub const ACCEPT_SHA1_VAR: &str = "BOND_SIGNATURE_ACCEPT_SHA1";
pub const TOLERANCE_VAR: &str = "BOND_SIGNATURE_TOLERANCE_SECONDS";

/// How far `t` may be from now: 4 days, longer than Bond's retry window (up to 3 days of
/// exponential backoff), because a retry may carry its first attempt's `t`.
///
/// A long window is safe here: the signature still binds `t` and the body, so nothing can be
/// changed, only replayed; and a replayed delivery is harmless, since events are deduplicated
/// on their identity and an event older than the newest one applied never overwrites it. The
/// window only has to cover Bond's own retries, not to stop replays.
pub const DEFAULT_TOLERANCE_SECS: u64 = 345_600;

/// The string that is signed, from the timestamp `t` and the raw body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `{t}.{body}` (the Stripe layout; the default).
    TDotBody,
    /// `{t}{body}`.
    TBody,
    /// The body alone.
    Body,
    /// `{body}.{t}`.
    BodyDotT,
}

impl Layout {
    pub const ALL: [Layout; 4] = [Self::TDotBody, Self::TBody, Self::Body, Self::BodyDotT];

    /// The value of `BOND_SIGNATURE_LAYOUT` that selects it.
    pub fn name(self) -> &'static str {
        match self {
            Self::TDotBody => "t.body",
            Self::TBody => "tbody",
            Self::Body => "body",
            Self::BodyDotT => "body.t",
        }
    }

    /// The bytes the HMAC runs over.
    pub fn message(self, t: &str, body: &[u8]) -> Vec<u8> {
        let (t, dot) = (t.as_bytes(), &b"."[..]);
        let parts: [&[u8]; 3] = match self {
            Self::TDotBody => [t, dot, body],
            Self::TBody => [t, b"", body],
            Self::Body => [b"", b"", body],
            Self::BodyDotT => [body, dot, t],
        };
        parts.concat()
    }
}

/// How a digest is written in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Hex digits (either case); the default.
    Hex,
    /// Standard base64 with padding.
    Base64,
}

impl Encoding {
    pub const ALL: [Encoding; 2] = [Self::Hex, Self::Base64];

    /// The value of `BOND_SIGNATURE_ENCODING` that selects it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Hex => "hex",
            Self::Base64 => "base64",
        }
    }

    /// The digest bytes of a header value that encodes exactly `len` bytes, or nothing: a value
    /// of another length or alphabet never matches, so no prefix of a digest is ever compared.
    pub fn decode(self, value: &str, len: usize) -> Option<Vec<u8>> {
        let bytes = match self {
            Self::Hex if value.len() == 2 * len => hex::decode(value).ok()?,
            Self::Hex => return None,
            Self::Base64 => base64::engine::general_purpose::STANDARD
                .decode(value)
                .ok()?,
        };
        (bytes.len() == len).then_some(bytes)
    }

    pub fn encode(self, bytes: &[u8]) -> String {
        match self {
            Self::Hex => hex::encode(bytes),
            Self::Base64 => base64::engine::general_purpose::STANDARD.encode(bytes),
        }
    }
}

/// The HMAC's hash function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digest {
    Sha256,
    /// Only ever believed in `v1`, and only with `BOND_SIGNATURE_ACCEPT_SHA1=true`.
    Sha1,
}

impl Digest {
    /// Digest length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha1 => 20,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "HMAC-SHA256",
            Self::Sha1 => "HMAC-SHA1",
        }
    }
}

/// The validated `Bond-Signature` settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignatureScheme {
    pub layout: Layout,
    pub encoding: Encoding,
    /// Also believe a `v1` that is an HMAC-SHA1 (in `encoding`); `v2` is always HMAC-SHA256.
    pub accept_sha1: bool,
    pub tolerance_secs: u64,
}

impl Default for SignatureScheme {
    fn default() -> Self {
        Self {
            layout: Layout::TDotBody,
            encoding: Encoding::Hex,
            accept_sha1: false,
            tolerance_secs: DEFAULT_TOLERANCE_SECS,
        }
    }
}

impl SignatureScheme {
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        let d = Self::default();
        Ok(Self {
            layout: choice(env, LAYOUT_VAR, &Layout::ALL, Layout::name, d.layout)?,
            encoding: choice(
                env,
                ENCODING_VAR,
                &Encoding::ALL,
                Encoding::name,
                d.encoding,
            )?,
            accept_sha1: env.flag(ACCEPT_SHA1_VAR)?,
            tolerance_secs: env.number(
                TOLERANCE_VAR,
                d.tolerance_secs,
                "must be a whole number of seconds (0 or more)",
            )?,
        })
    }
}

/// One of `all`, by its name, or `default` when unset; any other value is named in the error.
fn choice<T: Copy>(
    env: &Env<'_>,
    var: &str,
    all: &[T],
    name: fn(T) -> &'static str,
    default: T,
) -> Result<T, ConfigError> {
    let Some(raw) = env.optional(var) else {
        return Ok(default);
    };
    all.iter()
        .copied()
        .find(|v| name(*v) == raw)
        .ok_or_else(|| {
            let names: Vec<&str> = all.iter().map(|v| name(*v)).collect();
            invalid(var, &format!("must be one of {}", names.join(", ")))
        })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<SignatureScheme, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup = |k: &str| vars.get(k).cloned();
        SignatureScheme::from_env(&Env::new(&lookup))
    }

    #[test]
    fn unset_means_t_dot_body_hex_sha256_and_four_days() {
        let s = load(&[]).unwrap();
        assert_eq!(s, SignatureScheme::default());
        assert_eq!(
            (s.layout, s.encoding, s.accept_sha1, s.tolerance_secs),
            (Layout::TDotBody, Encoding::Hex, false, 345_600)
        );
        assert!(
            s.tolerance_secs > 3 * 24 * 3600,
            "longer than Bond's retries"
        );
    }

    #[test]
    fn every_named_value_is_read() {
        for layout in Layout::ALL {
            for encoding in Encoding::ALL {
                let s = load(&[
                    (LAYOUT_VAR, layout.name()),
                    (ENCODING_VAR, encoding.name()),
                    (ACCEPT_SHA1_VAR, "true"),
                    (TOLERANCE_VAR, "300"),
                ])
                .unwrap();
                assert_eq!((s.layout, s.encoding), (layout, encoding));
                assert!(s.accept_sha1);
                assert_eq!(s.tolerance_secs, 300);
            }
        }
    }

    #[test]
    fn each_bad_value_is_named() {
        for (var, value) in [
            (LAYOUT_VAR, "t:body"),
            (LAYOUT_VAR, "T.BODY"),
            (ENCODING_VAR, "base64url"),
            (ACCEPT_SHA1_VAR, "yes"),
            (TOLERANCE_VAR, "-1"),
            (TOLERANCE_VAR, "4 days"),
        ] {
            let err = load(&[(var, value)]).err().map(|e| e.to_string());
            let err = err.unwrap_or_default();
            assert!(err.contains(var), "{var}={value}: {err}");
        }
        let err = load(&[(LAYOUT_VAR, "x")]).err().map(|e| e.to_string());
        assert!(err
            .unwrap_or_default()
            .contains("t.body, tbody, body, body.t"));
    }

    #[test]
    fn layouts_build_the_documented_strings() {
        let m = |l: Layout| String::from_utf8(l.message("17", b"{}")).unwrap();
        assert_eq!(m(Layout::TDotBody), "17.{}");
        assert_eq!(m(Layout::TBody), "17{}");
        assert_eq!(m(Layout::Body), "{}");
        assert_eq!(m(Layout::BodyDotT), "{}.17");
    }

    #[test]
    fn decoding_refuses_other_lengths_and_alphabets() {
        let hex64 = "ab".repeat(32);
        assert_eq!(Encoding::Hex.decode(&hex64, 32).map(|b| b.len()), Some(32));
        assert_eq!(
            Encoding::Hex
                .decode(&hex64.to_uppercase(), 32)
                .map(|b| b.len()),
            Some(32)
        );
        assert_eq!(Encoding::Hex.decode(&hex64, 20), None);
        assert_eq!(Encoding::Hex.decode(&hex64[..62], 32), None);
        assert_eq!(Encoding::Hex.decode(&"zz".repeat(32), 32), None);
        let b64 = Encoding::Base64.encode(&[7; 32]);
        assert_eq!(Encoding::Base64.decode(&b64, 32), Some(vec![7; 32]));
        assert_eq!(Encoding::Base64.decode(&b64, 20), None);
        assert_eq!(Encoding::Base64.decode(b64.trim_end_matches('='), 32), None);
        assert_eq!(Encoding::Base64.decode(&b64.replace('H', "-"), 32), None);
    }
}
