//! Validated identifiers. Parsed once at the boundary; everything behind it is valid.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Our verification id: `ver_` followed by a ULID (sortable by creation time, unique).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct VerificationId(String);

impl VerificationId {
    const PREFIX: &'static str = "ver_";

    pub fn generate() -> Self {
        Self(format!("{}{}", Self::PREFIX, ulid::Ulid::new()))
    }

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let ulid_part = raw
            .strip_prefix(Self::PREFIX)
            .ok_or("must start with ver_")?;
        ulid::Ulid::from_string(ulid_part).map_err(|_| "is not a verification id")?;
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for VerificationId {
    type Error = &'static str;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<VerificationId> for String {
    fn from(value: VerificationId) -> Self {
        value.0
    }
}

impl fmt::Display for VerificationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The business's reference for a person: 1-128 characters of `[A-Za-z0-9_.:-]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CustomerId(String);

impl CustomerId {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        if raw.is_empty() || raw.len() > 128 {
            return Err("must be 1 to 128 characters");
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
        {
            return Err("may contain only letters, digits, '_', '.', ':' and '-'");
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CustomerId {
    type Error = &'static str;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CustomerId> for String {
    fn from(value: CustomerId) -> Self {
        value.0
    }
}

impl fmt::Display for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The KYC providers this deployment can speak to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderName {
    Ondato,
    Bond,
}

impl ProviderName {
    pub const ALL: [ProviderName; 2] = [ProviderName::Ondato, ProviderName::Bond];

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == raw)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ondato => "ondato",
            Self::Bond => "bond",
        }
    }
}

impl fmt::Display for ProviderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_verification_ids_parse_and_sort_by_creation() {
        let a = VerificationId::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = VerificationId::generate();
        assert!(a.as_str().starts_with("ver_"));
        assert_eq!(VerificationId::parse(a.as_str()).unwrap(), a);
        assert!(a < b);
    }

    #[test]
    fn verification_id_rejects_foreign_shapes() {
        for bad in [
            "",
            "ver_",
            "ver_123",
            "abc",
            "VER_01ARZ3NDEKTSV4RRFFQ69G5FAV",
            "ver_01ARZ3NDEKTSV4RRFFQ69G5FAV/x",
        ] {
            assert!(VerificationId::parse(bad).is_err(), "{bad}");
        }
        assert!(VerificationId::parse("ver_01ARZ3NDEKTSV4RRFFQ69G5FAV").is_ok());
    }

    #[test]
    fn customer_id_allows_the_documented_charset_and_length() {
        assert!(CustomerId::parse("cus_42:a.b-c").is_ok());
        assert!(CustomerId::parse(&"a".repeat(128)).is_ok());
        assert!(CustomerId::parse(&"a".repeat(129)).is_err());
        assert!(CustomerId::parse("").is_err());
        assert!(CustomerId::parse("has space").is_err());
        assert!(CustomerId::parse("ünicode").is_err());
    }

    #[test]
    fn provider_names_round_trip() {
        for p in ProviderName::ALL {
            assert_eq!(ProviderName::parse(p.as_str()), Some(p));
        }
        assert_eq!(ProviderName::parse("acme"), None);
    }
}
