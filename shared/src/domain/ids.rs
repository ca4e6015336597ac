//! Validated identifiers. Parsed once at the boundary; everything behind it is valid.

use std::borrow::Cow;
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

/// A KYC provider's name, as the API, the webhook route and the table carry it: 1 to 32 lowercase
/// ASCII letters, digits or `_`, starting with a letter. Which names exist is the provider
/// registry's business (`crate::provider`); a stored name stays readable even if its provider
/// leaves the build.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProviderName(Cow<'static, str>);

impl ProviderName {
    /// A name fixed at compile time (each provider's own); checked by the registry's tests.
    pub const fn from_static(name: &'static str) -> Self {
        Self(Cow::Borrowed(name))
    }

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let mut bytes = raw.bytes();
        let well_formed = raw.len() <= 32
            && bytes.next().is_some_and(|b| b.is_ascii_lowercase())
            && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if well_formed {
            Ok(Self(Cow::Owned(raw.to_owned())))
        } else {
            Err("is not a provider name")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ProviderName {
    type Error = &'static str;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ProviderName> for String {
    fn from(value: ProviderName) -> Self {
        value.0.into_owned()
    }
}

impl fmt::Display for ProviderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
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
    fn provider_names_are_lowercase_words_and_round_trip() {
        for good in ["acme", "kyc_2", "a"] {
            let name = ProviderName::parse(good).unwrap();
            assert_eq!(name.as_str(), good);
            assert_eq!(name, ProviderName::from_static(good).clone());
            let json = serde_json::to_value(&name).unwrap();
            assert_eq!(serde_json::from_value::<ProviderName>(json).unwrap(), name);
        }
        for bad in ["", "Acme", "1kyc", "ac me", "acme-2", &"a".repeat(33)] {
            assert!(ProviderName::parse(bad).is_err(), "{bad}");
        }
    }
}
