//! Which schemes verify one captured delivery: every layout × encoding × digest is tried with
//! one secret, so a real sandbox delivery settles what Bond's documentation leaves open.

use super::{digest_matches, parse_header, Digest, Encoding, Label, Layout};
use super::{ACCEPT_SHA1_VAR, ENCODING_VAR, LAYOUT_VAR};
use crate::provider::AuthError;

/// One scheme under which one of the header's digests verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    pub layout: Layout,
    pub encoding: Encoding,
    pub digest: Digest,
    /// The field that matched.
    pub label: Label,
}

impl Match {
    /// The settings that believe it, as environment assignments.
    pub fn settings(&self) -> String {
        let mut out = format!(
            "{LAYOUT_VAR}={} {ENCODING_VAR}={}",
            self.layout.name(),
            self.encoding.name()
        );
        if self.digest == Digest::Sha1 {
            out.push_str(&format!(" {ACCEPT_SHA1_VAR}=true"));
        }
        out
    }
}

impl std::fmt::Display for Match {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (settings, label, digest) = (self.settings(), self.label.name(), self.digest.name());
        write!(f, "{settings} ({label}, {digest})")
    }
}

/// Every scheme the settings can express under which a digest of `header` is the HMAC of `body`
/// with `secret` (SHA-1 only in `v1`, as the settings allow). The header must parse as
/// [`super::verify`] parses it; `t` is not checked against any tolerance here.
pub fn detect(secret: &[u8], header: &str, body: &[u8]) -> Result<Vec<Match>, AuthError> {
    let header = parse_header(header)?;
    let mut found = Vec::new();
    for layout in Layout::ALL {
        let message = layout.message(header.t, body);
        for encoding in Encoding::ALL {
            for (label, value) in &header.signatures {
                for digest in label.digests(true) {
                    if digest_matches(secret, &message, encoding, *digest, value) {
                        found.push(Match {
                            layout,
                            encoding,
                            digest: *digest,
                            label: *label,
                        });
                    }
                }
            }
        }
    }
    Ok(found)
}
