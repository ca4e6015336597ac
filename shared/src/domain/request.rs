//! The create request: parsed from JSON once, every problem reported at once, field by field.
//!
//! The applicant's data is PII. It is passed to the provider and never stored or logged: its
//! `Debug` prints field names only and the SSN is a [`SecretString`].

use std::net::IpAddr;

use chrono::{Datelike, NaiveDate};
use secrecy::SecretString;
use serde_json::{Map, Value};

use super::{CustomerId, Metadata, ProviderName};
use crate::error::FieldErrors;

/// ISO 3166-1 alpha-2 codes in use.
const ISO_3166_ALPHA2: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO \
BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH \
ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL \
IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME \
MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH \
PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC \
TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

pub fn is_iso_country(code: &str) -> bool {
    code.len() == 2 && ISO_3166_ALPHA2.split(' ').any(|c| c == code)
}

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

/// A valid `PATCH /v1/verifications/{id}` body: the corrected applicant.
#[derive(Debug, Clone)]
pub struct PatchRequest {
    pub applicant: Applicant,
    pub return_url: Option<url::Url>,
}

impl PatchRequest {
    pub fn parse(
        body: &Value,
        provider: ProviderName,
        required: &[ApplicantField],
        today: NaiveDate,
    ) -> Result<Self, FieldErrors> {
        let (mut p, obj) = Problems::root(body)?;
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
        if obj.contains_key("applicant") {
            p.require(&applicant, provider, required);
        }
        let return_url = parse_return_url(&mut p, obj);
        if p.0.is_empty() {
            Ok(Self {
                applicant,
                return_url,
            })
        } else {
            Err(p.0)
        }
    }
}

const TOP_FIELDS: &[&str] = &[
    "customer_id",
    "provider",
    "applicant",
    "return_url",
    "metadata",
];
const APPLICANT_FIELDS: &[&str] = &[
    "first_name",
    "middle_name",
    "last_name",
    "date_of_birth",
    "email",
    "phone",
    "phone_country_code",
    "country_code",
    "personal_code",
    "ssn",
    "ip",
    "address",
];
const ADDRESS_FIELDS: &[&str] = &["street", "street2", "city", "state", "zip_code", "country"];

/// Collects problems per field path while a body is read.
struct Problems(FieldErrors);

impl Problems {
    /// The body as an object, or the one problem that it is not.
    fn root(body: &Value) -> Result<(Self, &Map<String, Value>), FieldErrors> {
        match body.as_object() {
            Some(obj) => Ok((Problems(FieldErrors::new()), obj)),
            None => Err(FieldErrors::from([(
                "body".to_owned(),
                vec!["must be a JSON object".to_owned()],
            )])),
        }
    }

    /// Every field the provider needs that the applicant lacks (and that is not already wrong).
    fn require(
        &mut self,
        applicant: &Applicant,
        provider: ProviderName,
        required: &[ApplicantField],
    ) {
        for field in required {
            if !applicant.has(*field) && !self.0.contains_key(field.path()) {
                self.add(field.path(), format!("is required for provider {provider}"));
            }
        }
    }

    fn add(&mut self, path: &str, problem: impl Into<String>) {
        self.0
            .entry(path.to_owned())
            .or_default()
            .push(problem.into());
    }

    fn unknown_fields(&mut self, prefix: &str, obj: &Map<String, Value>, known: &[&str]) {
        for key in obj.keys().filter(|k| !known.contains(&k.as_str())) {
            self.add(&format!("{prefix}{key}"), "is not a known field");
        }
    }

    /// An optional string member; `null` counts as absent. Trims nothing: what is sent is checked.
    fn string<'a>(
        &mut self,
        obj: &'a Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Option<&'a str> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => {
                self.add(path, "must be a string");
                None
            }
        }
    }

    fn text(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        path: &str,
        max: usize,
    ) -> Option<String> {
        let s = self.string(obj, key, path)?;
        let len = s.chars().count();
        if s.trim().is_empty() {
            self.add(path, "must not be blank");
            None
        } else if len > max {
            self.add(path, format!("must be at most {max} characters"));
            None
        } else if s.chars().any(char::is_control) {
            self.add(path, "must not contain control characters");
            None
        } else {
            Some(s.to_owned())
        }
    }

    fn object<'a>(
        &mut self,
        obj: &'a Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Option<&'a Map<String, Value>> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Object(o)) => Some(o),
            Some(_) => {
                self.add(path, "must be an object");
                None
            }
        }
    }
}

impl CreateRequest {
    /// Validate a parsed JSON body. `today` bounds dates of birth.
    pub fn parse(
        body: &Value,
        default_provider: ProviderName,
        enabled: &[ProviderName],
        required: impl Fn(ProviderName) -> &'static [ApplicantField],
        today: NaiveDate,
    ) -> Result<Self, FieldErrors> {
        let (mut p, obj) = Problems::root(body)?;
        p.unknown_fields("", obj, TOP_FIELDS);

        let customer_id = match p.string(obj, "customer_id", "customer_id") {
            None if !obj.contains_key("customer_id") || obj["customer_id"].is_null() => {
                p.add("customer_id", "is required");
                None
            }
            None => None,
            Some(raw) => CustomerId::parse(raw)
                .map_err(|e| p.add("customer_id", e))
                .ok(),
        };

        let provider = match p.string(obj, "provider", "provider") {
            None => Some(default_provider),
            Some(raw) => match ProviderName::parse(raw) {
                Some(name) if enabled.contains(&name) => Some(name),
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
        if let Some(provider) = provider {
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

fn parse_applicant(p: &mut Problems, a: &Map<String, Value>, today: NaiveDate) -> Applicant {
    p.unknown_fields("applicant.", a, APPLICANT_FIELDS);
    let first_name = p.text(a, "first_name", "applicant.first_name", 100);
    let middle_name = p.text(a, "middle_name", "applicant.middle_name", 100);
    let last_name = p.text(a, "last_name", "applicant.last_name", 100);

    let date_of_birth = p
        .string(a, "date_of_birth", "applicant.date_of_birth")
        .and_then(|raw| {
            let path = "applicant.date_of_birth";
            match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
                Ok(d) if raw.len() == 10 && d > today => {
                    p.add(path, "must not be in the future");
                    None
                }
                Ok(d) if raw.len() == 10 && d.year() < 1900 => {
                    p.add(path, "must be after 1900-01-01");
                    None
                }
                Ok(d) if raw.len() == 10 => Some(d),
                _ => {
                    p.add(path, "must be a date that exists, as YYYY-MM-DD");
                    None
                }
            }
        });

    let email = p.text(a, "email", "applicant.email", 254).filter(|e| {
        let ok = valid_email(e);
        if !ok {
            p.add("applicant.email", "must be an e-mail address");
        }
        ok
    });

    let phone = p.string(a, "phone", "applicant.phone").and_then(|raw| {
        let digits: String = raw.chars().filter(|c| c.is_ascii_digit()).collect();
        let shape_ok = raw
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')'));
        if shape_ok && (4..=15).contains(&digits.len()) {
            Some(digits)
        } else {
            p.add(
                "applicant.phone",
                "must be 4 to 15 digits (spaces, dashes and parentheses allowed)",
            );
            None
        }
    });

    let phone_country_code = p
        .string(a, "phone_country_code", "applicant.phone_country_code")
        .and_then(|raw| {
            let digits = raw.strip_prefix('+').unwrap_or(raw);
            if (1..=3).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
                Some(digits.to_owned())
            } else {
                p.add(
                    "applicant.phone_country_code",
                    "must be 1 to 3 digits, optionally after '+'",
                );
                None
            }
        });

    let country_code = country(p, a, "country_code", "applicant.country_code");

    let personal_code = p
        .text(a, "personal_code", "applicant.personal_code", 64)
        .filter(|c| {
            let ok = c
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '/' | '.'));
            if !ok {
                p.add(
                    "applicant.personal_code",
                    "may contain only letters, digits, '-', '/' and '.'",
                );
            }
            ok
        });

    let ssn = p.string(a, "ssn", "applicant.ssn").and_then(|raw| {
        if valid_ssn(raw) {
            Some(SecretString::from(raw.to_owned()))
        } else {
            p.add(
                "applicant.ssn",
                "must be 9 digits, as ######### or ###-##-####",
            );
            None
        }
    });

    let ip = p
        .string(a, "ip", "applicant.ip")
        .and_then(|raw| match raw.parse::<IpAddr>() {
            Ok(ip) => Some(ip),
            Err(_) => {
                p.add("applicant.ip", "must be an IPv4 or IPv6 address");
                None
            }
        });

    let address = p
        .object(a, "address", "applicant.address")
        .and_then(|o| parse_address(p, o));

    Applicant {
        first_name,
        middle_name,
        last_name,
        date_of_birth,
        email,
        phone,
        phone_country_code,
        country_code,
        personal_code,
        ssn,
        ip,
        address,
    }
}

fn country(p: &mut Problems, obj: &Map<String, Value>, key: &str, path: &str) -> Option<String> {
    let raw = p.string(obj, key, path)?;
    if is_iso_country(raw) {
        Some(raw.to_owned())
    } else {
        p.add(
            path,
            "must be an ISO 3166-1 alpha-2 country code in upper case",
        );
        None
    }
}

fn parse_address(p: &mut Problems, o: &Map<String, Value>) -> Option<Address> {
    p.unknown_fields("applicant.address.", o, ADDRESS_FIELDS);
    let required = |p: &mut Problems, key: &str, max: usize| {
        let path = format!("applicant.address.{key}");
        let v = p.text(o, key, &path, max);
        if v.is_none() && !p.0.contains_key(&path) {
            p.add(&path, "is required in an address");
        }
        v
    };
    let street = required(p, "street", 100);
    let city = required(p, "city", 100);
    let zip_code = required(p, "zip_code", 20).filter(|z| {
        let ok = z
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '-'));
        if !ok {
            p.add(
                "applicant.address.zip_code",
                "may contain only letters, digits, spaces and '-'",
            );
        }
        ok
    });
    let street2 = p.text(o, "street2", "applicant.address.street2", 100);
    let state = p.text(o, "state", "applicant.address.state", 50);
    let country = country(p, o, "country", "applicant.address.country");
    if country.is_none() && !p.0.contains_key("applicant.address.country") {
        p.add("applicant.address.country", "is required in an address");
    }
    Some(Address {
        street: street?,
        street2,
        city: city?,
        state,
        zip_code: zip_code?,
        country: country?,
    })
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

fn valid_email(e: &str) -> bool {
    let Some((local, domain)) = e.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && !local.contains(char::is_whitespace)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

fn valid_ssn(s: &str) -> bool {
    let b = s.as_bytes();
    match b.len() {
        9 => b.iter().all(u8::is_ascii_digit),
        11 => b.iter().enumerate().all(|(i, c)| {
            if i == 3 || i == 6 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
    }

    fn none(_: ProviderName) -> &'static [ApplicantField] {
        &[]
    }

    fn bond(p: ProviderName) -> &'static [ApplicantField] {
        match p {
            ProviderName::Bond => &[ApplicantField::Ssn, ApplicantField::Email],
            ProviderName::Ondato => &[],
        }
    }

    fn parse(body: Value) -> Result<CreateRequest, FieldErrors> {
        CreateRequest::parse(
            &body,
            ProviderName::Ondato,
            &ProviderName::ALL,
            bond,
            today(),
        )
    }

    #[test]
    fn a_minimal_body_takes_the_default_provider() {
        let r = CreateRequest::parse(
            &json!({"customer_id": "cus_1"}),
            ProviderName::Ondato,
            &[ProviderName::Ondato],
            none,
            today(),
        )
        .unwrap();
        assert_eq!(r.provider, ProviderName::Ondato);
        assert_eq!(r.customer_id.as_str(), "cus_1");
        assert!(r.metadata.is_empty());
    }

    #[test]
    fn a_full_applicant_is_accepted_and_normalised() {
        let r = parse(json!({
            "customer_id": "cus_1",
            "provider": "ondato",
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
            parse(json!({"customer_id": "c", "provider": "bond", "applicant": {}})).unwrap_err();
        assert_eq!(errs["applicant.ssn"], ["is required for provider bond"]);
        assert_eq!(errs["applicant.email"], ["is required for provider bond"]);
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
    fn ssn_accepts_only_the_two_documented_shapes() {
        assert!(valid_ssn("123456789"));
        assert!(valid_ssn("123-45-6789"));
        for bad in ["12345678", "123-456-789", "abc-de-fghi", "1234567890"] {
            assert!(!valid_ssn(bad), "{bad}");
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
    fn the_country_list_is_complete_and_exact() {
        assert_eq!(ISO_3166_ALPHA2.split(' ').count(), 249);
        assert!(
            is_iso_country("LT")
                && is_iso_country("US")
                && !is_iso_country("UK")
                && !is_iso_country("lt")
        );
    }

    #[test]
    fn a_patch_takes_a_corrected_applicant_and_refuses_identity_changes() {
        let ok = PatchRequest::parse(
            &json!({"applicant": {"first_name": "Ada"}}),
            ProviderName::Ondato,
            &[],
            today(),
        )
        .unwrap();
        assert_eq!(ok.applicant.first_name.as_deref(), Some("Ada"));
        let errs = PatchRequest::parse(
            &json!({"customer_id": "x", "provider": "bond", "colour": 1}),
            ProviderName::Ondato,
            &[],
            today(),
        )
        .unwrap_err();
        for f in ["customer_id", "provider", "colour", "applicant"] {
            assert!(errs.contains_key(f), "{f}: {errs:?}");
        }
        let errs = PatchRequest::parse(
            &json!({"applicant": {}}),
            ProviderName::Bond,
            &[ApplicantField::Ssn],
            today(),
        )
        .unwrap_err();
        assert_eq!(errs["applicant.ssn"], ["is required for provider bond"]);
    }

    #[test]
    fn a_non_object_body_is_one_clear_problem() {
        assert!(parse(json!([1, 2])).unwrap_err().contains_key("body"));
    }
}
