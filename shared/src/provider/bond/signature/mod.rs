//! `Bond-Signature: t=<unix seconds>,v1=<digest>,v2=<digest>`: an HMAC over the timestamp and
//! the raw body, compared in constant time, within a tolerance, against every active secret.
//!
//! Bond's documentation says HMAC-SHA256 over the secret, `t` and the payload, and is cut off
//! before the exact layout; its sample `v1` has the length of a SHA-1 digest. So the scheme is a
//! setting ([`SignatureScheme`], `BOND_SIGNATURE_*`), `{t}.{body}` in hex by default, and
//! [`detect`] names the scheme(s) that verify one captured real delivery
//! (`kyc-local verify-capture`).

mod detect;
mod scheme;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha1::Sha1;
use sha2::Sha256;

use crate::provider::AuthError;

pub use detect::{detect, Match};
pub use scheme::{
    Digest, Encoding, Layout, SignatureScheme, ACCEPT_SHA1_VAR, DEFAULT_TOLERANCE_SECS,
    ENCODING_VAR, LAYOUT_VAR, TOLERANCE_VAR,
};

/// More `v1`/`v2` values than this in one header is refused without computing any HMAC.
pub const MAX_SIGNATURES: usize = 5;

/// Which header field a digest came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    V1,
    V2,
}

impl Label {
    pub fn name(self) -> &'static str {
        match self {
            Self::V1 => "v1",
            Self::V2 => "v2",
        }
    }
}

/// The string Bond signs by default: `{t}.{raw body}`.
pub fn signed_payload(t: &str, body: &[u8]) -> Vec<u8> {
    Layout::TDotBody.message(t, body)
}

/// Hex HMAC-SHA256 of `{t}.{body}`: what a sender puts in `v1`/`v2` under the default scheme.
pub fn sign(secret: &[u8], t: &str, body: &[u8]) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    m.update(&signed_payload(t, body));
    hex::encode(m.finalize().into_bytes())
}

/// The parts of a `Bond-Signature` header.
#[derive(Debug, PartialEq, Eq)]
pub struct Header<'a> {
    pub t: &'a str,
    pub signatures: Vec<(Label, &'a str)>,
}

impl Header<'_> {
    /// `t` as Unix seconds.
    pub fn timestamp(&self) -> Result<i64, AuthError> {
        if !self.t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AuthError::Invalid);
        }
        self.t.parse().map_err(|_| AuthError::Invalid)
    }
}

/// Exactly one `t`, one to [`MAX_SIGNATURES`] `v1`/`v2` values; other keys are ignored.
pub fn parse_header(raw: &str) -> Result<Header<'_>, AuthError> {
    let mut t = None;
    let mut signatures = Vec::new();
    for part in raw.split(',') {
        let (k, v) = part.trim().split_once('=').ok_or(AuthError::Invalid)?;
        match k {
            "t" if t.is_none() => t = Some(v),
            "t" => return Err(AuthError::Invalid),
            "v1" => signatures.push((Label::V1, v)),
            "v2" => signatures.push((Label::V2, v)),
            _ => {}
        }
        if signatures.len() > MAX_SIGNATURES {
            return Err(AuthError::Invalid);
        }
    }
    let t = t.ok_or(AuthError::Invalid)?;
    if signatures.is_empty() {
        return Err(AuthError::Invalid);
    }
    Ok(Header { t, signatures })
}

/// An HMAC keyed with `secret` that has read `message`.
fn keyed<M: Mac + hmac::digest::KeyInit>(secret: &[u8], message: &[u8]) -> Option<M> {
    let mut m = <M as hmac::digest::KeyInit>::new_from_slice(secret).ok()?;
    m.update(message);
    Some(m)
}

impl Label {
    /// The digests believed in this field: SHA-256, and in `v1` also SHA-1 when `sha1` is set.
    pub fn digests(self, sha1: bool) -> &'static [Digest] {
        match (self, sha1) {
            (Self::V1, true) => &[Digest::Sha256, Digest::Sha1],
            _ => &[Digest::Sha256],
        }
    }
}

/// Whether `value` is `encoding` of the `digest` HMAC of `message` under `secret`, compared with
/// `verify_slice` (constant time). A value of another length or alphabet never matches.
fn digest_matches(
    secret: &[u8],
    message: &[u8],
    encoding: Encoding,
    digest: Digest,
    value: &str,
) -> bool {
    let Some(bytes) = encoding.decode(value, digest.output_len()) else {
        return false;
    };
    match digest {
        Digest::Sha256 => {
            keyed::<Hmac<Sha256>>(secret, message).is_some_and(|m| m.verify_slice(&bytes).is_ok())
        }
        Digest::Sha1 => {
            keyed::<Hmac<Sha1>>(secret, message).is_some_and(|m| m.verify_slice(&bytes).is_ok())
        }
    }
}

/// Accept when `t` is within the scheme's tolerance of `now` and any digest matches any secret.
pub fn verify(
    scheme: &SignatureScheme,
    secrets: &[SecretString],
    header: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), AuthError> {
    let header = parse_header(header.ok_or(AuthError::Missing)?)?;
    if now.timestamp().abs_diff(header.timestamp()?) > scheme.tolerance_secs {
        return Err(AuthError::Invalid);
    }
    let message = scheme.layout.message(header.t, body);
    let mut ok = false;
    for secret in secrets {
        let secret = secret.expose_secret().as_bytes();
        // Every pair is compared and no loop stops at the first match: the time taken says
        // nothing about which pair matched.
        for (label, value) in &header.signatures {
            for digest in label.digests(scheme.accept_sha1) {
                ok |= digest_matches(secret, &message, scheme.encoding, *digest, value);
            }
        }
    }
    if ok {
        Ok(())
    } else {
        Err(AuthError::Invalid)
    }
}

#[cfg(test)]
mod tests;
