//! The create request: parsed from JSON once, every problem reported at once, field by field.
//!
//! The applicant's data is PII. It is passed to the provider and never stored or logged: its
//! `Debug` prints field names only and the SSN is a [`SecretString`].

mod applicant;
mod problems;

use std::net::IpAddr;

use chrono::NaiveDate;
use secrecy::SecretString;
use serde_json::{Map, Value};

pub use self::applicant::is_iso_country;
use self::applicant::{parse_applicant, TOP_FIELDS};
use self::problems::Problems;
use super::{CustomerId, Metadata, ProviderName};

/// Field path (`applicant.ssn`) to the problems found with it.
pub type FieldErrors = std::collections::BTreeMap<String, Vec<String>>;

/// Applicant fields a provider may require, as request paths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplicantField {
    FirstName,
    LastName,
    DateOfBirth,
    Email,
    Phone,
    PhoneCountryCode,
    CountryCode,
    Ssn,
    Ip,
    Address,
}

impl ApplicantField {
    pub fn path(self) -> &'static str {
        match self {
            Self::FirstName => "applicant.first_name",
            Self::LastName => "applicant.last_name",
            Self::DateOfBirth => "applicant.date_of_birth",
            Self::Email => "applicant.email",
            Self::Phone => "applicant.phone",
            Self::PhoneCountryCode => "applicant.phone_country_code",
            Self::CountryCode => "applicant.country_code",
            Self::Ssn => "applicant.ssn",
            Self::Ip => "applicant.ip",
            Self::Address => "applicant.address",
        }
    }
}

#[derive(Clone, Default)]
pub struct Address {
    pub street: String,
    pub street2: Option<String>,
    pub city: String,
    pub state: Option<String>,
    pub zip_code: String,
    pub country: String,
}

/// The person, as the business describes them. PII: never stored, never logged.
#[derive(Clone, Default)]
pub struct Applicant {
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub last_name: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub email: Option<String>,
    /// Digits only.
    pub phone: Option<String>,
    /// Digits only, without `+`.
    pub phone_country_code: Option<String>,
    pub country_code: Option<String>,
    pub personal_code: Option<String>,
    pub ssn: Option<SecretString>,
    pub ip: Option<IpAddr>,
    pub address: Option<Address>,
}

impl Applicant {
    pub fn has(&self, field: ApplicantField) -> bool {
        match field {
            ApplicantField::FirstName => self.first_name.is_some(),
            ApplicantField::LastName => self.last_name.is_some(),
            ApplicantField::DateOfBirth => self.date_of_birth.is_some(),
            ApplicantField::Email => self.email.is_some(),
            ApplicantField::Phone => self.phone.is_some(),
            ApplicantField::PhoneCountryCode => self.phone_country_code.is_some(),
            ApplicantField::CountryCode => self.country_code.is_some(),
            ApplicantField::Ssn => self.ssn.is_some(),
            ApplicantField::Ip => self.ip.is_some(),
            ApplicantField::Address => self.address.is_some(),
        }
    }
}

impl std::fmt::Debug for Applicant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Applicant { .. redacted .. }")
    }
}

/// A valid `POST /v1/verifications` body.
#[derive(Debug, Clone)]
pub struct CreateRequest {
    pub customer_id: CustomerId,
    pub provider: ProviderName,
    pub applicant: Applicant,
    pub return_url: Option<url::Url>,
    pub metadata: Metadata,
}

/// Why a `PATCH` body is refused: it is invalid in itself, or valid but lacking fields the
/// verification's provider needs (which its schema cannot say: it depends on the stored
/// verification).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatchProblems {
    Invalid(FieldErrors),
    Incomplete(FieldErrors),
}

impl PatchProblems {
    pub fn fields(&self) -> &FieldErrors {
        match self {
            Self::Invalid(f) | Self::Incomplete(f) => f,
        }
    }
}

/// A valid `PATCH /v1/verifications/{id}` body: the corrected applicant.
#[derive(Debug, Clone)]
pub struct PatchRequest {
    pub applicant: Applicant,
    pub return_url: Option<url::Url>,
}

impl PatchRequest {
    pub fn parse(
        body: &Value,
        provider: &ProviderName,
        required: &[ApplicantField],
        today: NaiveDate,
    ) -> Result<Self, PatchProblems> {
        let (mut p, obj) = Problems::root(body).map_err(PatchProblems::Invalid)?;
        for fixed in ["customer_id", "provider"] {
            if obj.contains_key(fixed) {
                p.add(fixed, "cannot be changed; start a new verification instead");
            }
        }
        let rest: Map<String, Value> = obj
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "customer_id" | "provider"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        p.unknown_fields("", &rest, &["applicant", "return_url"]);
        let applicant = match p.object(obj, "applicant", "applicant") {
            Some(a) => parse_applicant(&mut p, a, today),
            None => {
                p.add("applicant", "is required");
                Applicant::default()
            }
        };
        let return_url = parse_return_url(&mut p, obj);
        if !p.0.is_empty() {
            return Err(PatchProblems::Invalid(p.0));
        }
        let mut missing = Problems(FieldErrors::new());
        missing.require(&applicant, provider, required);
        if missing.0.is_empty() {
            Ok(Self {
                applicant,
                return_url,
            })
        } else {
            Err(PatchProblems::Incomplete(missing.0))
        }
    }
}

impl CreateRequest {
    /// Validate a parsed JSON body. `today` bounds dates of birth.
    pub fn parse(
        body: &Value,
        default_provider: &ProviderName,
        enabled: &[ProviderName],
        required: impl Fn(&ProviderName) -> &'static [ApplicantField],
        today: NaiveDate,
    ) -> Result<Self, FieldErrors> {
        let (mut p, obj) = Problems::root(body)?;
        p.unknown_fields("", obj, TOP_FIELDS);

        let customer_id = match p.string(obj, "customer_id", "customer_id") {
            None if !obj.contains_key("customer_id") => {
                p.add("customer_id", "is required");
                None
            }
            None => None,
            Some(raw) => CustomerId::parse(raw)
                .map_err(|e| p.add("customer_id", e))
                .ok(),
        };

        let provider = match p.string(obj, "provider", "provider") {
            None => Some(default_provider.clone()),
            Some(raw) => match ProviderName::parse(raw) {
                Ok(name) if enabled.contains(&name) => Some(name),
                _ => {
                    let names: Vec<_> = enabled.iter().map(|p| p.as_str()).collect();
                    p.add("provider", format!("must be one of: {}", names.join(", ")));
                    None
                }
            },
        };

        let applicant = match p.object(obj, "applicant", "applicant") {
            Some(a) => parse_applicant(&mut p, a, today),
            None => Applicant::default(),
        };
        if let Some(provider) = &provider {
            p.require(&applicant, provider, required(provider));
        }

        let return_url = parse_return_url(&mut p, obj);

        let metadata = parse_metadata(&mut p, obj);

        match (customer_id, provider) {
            (Some(customer_id), Some(provider)) if p.0.is_empty() => Ok(Self {
                customer_id,
                provider,
                applicant,
                return_url,
                metadata,
            }),
            _ => Err(p.0),
        }
    }
}

fn parse_return_url(p: &mut Problems, obj: &Map<String, Value>) -> Option<url::Url> {
    let raw = p.string(obj, "return_url", "return_url")?;
    match url::Url::parse(raw) {
        Ok(u)
            if raw.len() <= 2048
                && matches!(u.scheme(), "https" | "http")
                && u.host().is_some() =>
        {
            Some(u)
        }
        _ => {
            p.add(
                "return_url",
                "must be an absolute http(s) URL of at most 2048 characters",
            );
            None
        }
    }
}

fn parse_metadata(p: &mut Problems, obj: &Map<String, Value>) -> Metadata {
    let mut metadata = Metadata::new();
    let Some(m) = p.object(obj, "metadata", "metadata") else {
        return metadata;
    };
    if m.len() > 20 {
        p.add("metadata", "must have at most 20 keys");
    }
    for (key, value) in m {
        let path = format!("metadata.{key}");
        if key.is_empty() || key.chars().count() > 40 {
            p.add("metadata", "keys must be 1 to 40 characters");
            continue;
        }
        match value {
            Value::String(s) if s.chars().count() <= 500 => {
                metadata.insert(key.clone(), s.clone());
            }
            Value::String(_) => p.add(&path, "must be at most 500 characters"),
            _ => p.add(&path, "must be a string"),
        }
    }
    metadata
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
    }

    /// A provider that needs nothing (everything is prefill), the default.
    const HOSTED: ProviderName = ProviderName::from_static("hosted");
    /// A provider that needs an SSN and an e-mail.
    const STRICT: ProviderName = ProviderName::from_static("strict");

    fn none(_: &ProviderName) -> &'static [ApplicantField] {
        &[]
    }

    fn strict(p: &ProviderName) -> &'static [ApplicantField] {
        if *p == STRICT {
            &[ApplicantField::Ssn, ApplicantField::Email]
        } else {
            &[]
        }
    }

    fn parse(body: Value) -> Result<CreateRequest, FieldErrors> {
        CreateRequest::parse(&body, &HOSTED, &[HOSTED, STRICT], strict, today())
    }

    #[test]
    fn a_minimal_body_takes_the_default_provider() {
        let r = CreateRequest::parse(
            &json!({"customer_id": "cus_1"}),
            &HOSTED,
            &[HOSTED],
            none,
            today(),
        )
        .unwrap();
        assert_eq!(r.provider, HOSTED);
        assert_eq!(r.customer_id.as_str(), "cus_1");
        assert!(r.metadata.is_empty());
    }

    #[test]
    fn a_full_applicant_is_accepted_and_normalised() {
        let r = parse(json!({
            "customer_id": "cus_1",
            "provider": "hosted",
            "applicant": {
                "first_name": "Ada", "middle_name": "K", "last_name": "Lovelace", "date_of_birth": "1990-02-28",
                "email": "ada@example.com", "phone": "(555) 010-0000", "phone_country_code": "+1",
                "country_code": "LT", "personal_code": "39002280000", "ssn": "123-45-6789", "ip": "192.0.2.1",
                "address": {"street": "1 Main St", "city": "Vilnius", "zip_code": "01100", "country": "LT"}
            },
            "return_url": "https://app.example.com/kyc/done",
            "metadata": {"plan": "gold"}
        }))
        .unwrap();
        assert_eq!(r.applicant.phone.as_deref(), Some("5550100000"));
        assert_eq!(r.applicant.phone_country_code.as_deref(), Some("1"));
        assert_eq!(r.metadata["plan"], "gold");
        assert_eq!(format!("{:?}", r.applicant), "Applicant { .. redacted .. }");
    }

    #[test]
    fn every_problem_is_reported_at_once_by_field() {
        let errs = parse(json!({
            "customer_id": "bad id",
            "provider": "acme",
            "colour": "blue",
            "applicant": {"date_of_birth": "2023-02-30", "email": "nope", "ip": "999.1.1.1", "country_code": "XX", "ssn": "12-345"},
            "metadata": {"k": 5}
        }))
        .unwrap_err();
        for field in [
            "customer_id",
            "provider",
            "colour",
            "applicant.date_of_birth",
            "applicant.email",
            "applicant.ip",
            "applicant.country_code",
            "applicant.ssn",
            "metadata.k",
        ] {
            assert!(errs.contains_key(field), "{field} missing from {errs:?}");
        }
    }

    #[test]
    fn provider_requirements_name_each_missing_field() {
        let errs =
            parse(json!({"customer_id": "c", "provider": "strict", "applicant": {}})).unwrap_err();
        assert_eq!(errs["applicant.ssn"], ["is required for provider strict"]);
        assert_eq!(errs["applicant.email"], ["is required for provider strict"]);
    }

    #[test]
    fn dates_of_birth_must_exist_and_not_be_in_the_future() {
        for (dob, ok) in [
            ("2000-01-01", true),
            ("2026-11-25", false),
            ("2000-13-01", false),
            ("2000-1-1", false),
            ("1899-12-31", false),
        ] {
            let r = parse(json!({"customer_id": "c", "applicant": {"date_of_birth": dob}}));
            assert_eq!(r.is_ok(), ok, "{dob}");
        }
    }

    #[test]
    fn metadata_limits_are_enforced() {
        let many: Map<String, Value> = (0..21).map(|i| (format!("k{i}"), json!("v"))).collect();
        assert!(parse(json!({"customer_id": "c", "metadata": many}))
            .unwrap_err()
            .contains_key("metadata"));
        let long_key = "k".repeat(41);
        assert!(parse(json!({"customer_id": "c", "metadata": {long_key: "v"}})).is_err());
        assert!(parse(json!({"customer_id": "c", "metadata": {"k": "v".repeat(501)}})).is_err());
    }

    #[test]
    fn a_patch_takes_a_corrected_applicant_and_refuses_identity_changes() {
        let ok = PatchRequest::parse(
            &json!({"applicant": {"first_name": "Ada"}}),
            &HOSTED,
            &[],
            today(),
        )
        .unwrap();
        assert_eq!(ok.applicant.first_name.as_deref(), Some("Ada"));
        let PatchProblems::Invalid(errs) = PatchRequest::parse(
            &json!({"customer_id": "x", "provider": "strict", "colour": 1}),
            &HOSTED,
            &[],
            today(),
        )
        .unwrap_err() else {
            panic!("invalid")
        };
        for f in ["customer_id", "provider", "colour", "applicant"] {
            assert!(errs.contains_key(f), "{f}: {errs:?}");
        }
        let errs = PatchRequest::parse(
            &json!({"applicant": {}}),
            &STRICT,
            &[ApplicantField::Ssn],
            today(),
        )
        .unwrap_err();
        assert_eq!(
            errs,
            PatchProblems::Incomplete(
                [(
                    "applicant.ssn".to_owned(),
                    vec!["is required for provider strict".to_owned()]
                )]
                .into()
            ),
            "valid, but short of what the provider needs"
        );
        let both = PatchRequest::parse(
            &json!({"applicant": {"email": "x"}}),
            &STRICT,
            &[ApplicantField::Ssn],
            today(),
        )
        .unwrap_err();
        assert!(matches!(both, PatchProblems::Invalid(_)), "invalid first");
    }

    #[test]
    fn a_non_object_body_is_one_clear_problem() {
        assert!(parse(json!([1, 2])).unwrap_err().contains_key("body"));
    }
}
