//! The provider's identification data, minimised (`GET …?include=kyc_data`): names, date of
//! birth, the document's kind, issuing country, expiry and number masked to its last characters,
//! and the address. Read live from the provider and answered; never stored, never logged: its
//! `Debug` shows no value, and nothing here is `Serialize` except through [`KycData::to_json`].
//!
//! Every value is a validated newtype, built from what a provider answered: a value that does
//! not fit (an empty name, a date that is not one, a country that is not a code) is left out,
//! never passed through.

use std::fmt;

use chrono::NaiveDate;
use serde_json::{json, Value};

use super::Verification;

/// The longest text value kept (a name, a street, a city).
const MAX_TEXT_CHARS: usize = 200;

/// A trimmed, non-empty text of at most [`MAX_TEXT_CHARS`] characters without control
/// characters: a name or an address line as the provider read it.
#[derive(Clone, PartialEq, Eq)]
pub struct KycText(String);

impl KycText {
    pub fn parse(raw: &str) -> Option<Self> {
        let trimmed = raw.trim();
        let fits = !trimmed.is_empty()
            && trimmed.chars().count() <= MAX_TEXT_CHARS
            && !trimmed.chars().any(char::is_control);
        fits.then(|| Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A country as an ISO 3166-1 code: alpha-2 (`LT`) or, where the provider gives only that,
/// alpha-3 (`LTU`); upper case.
#[derive(Clone, PartialEq, Eq)]
pub struct CountryCode(String);

impl CountryCode {
    pub fn parse(raw: &str) -> Option<Self> {
        let code = raw.trim().to_ascii_uppercase();
        (matches!(code.len(), 2 | 3) && code.bytes().all(|b| b.is_ascii_uppercase()))
            .then_some(Self(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What the mask shows in front of the visible characters, whatever the number's length (so
/// the length is not told either).
pub const MASK: &str = "****";

/// A document number reduced to its last characters: `****` followed by the last 4 when the
/// number has at least 8 characters; shorter numbers show at most half of their characters
/// (5-7: the last 2 or 3; 4: the last 2; 1-3: none). Spaces and dashes are not counted.
#[derive(Clone, PartialEq, Eq)]
pub struct MaskedDocumentNumber(String);

impl MaskedDocumentNumber {
    /// The masked form of `raw`; `None` when it holds no character to mask.
    pub fn mask(raw: &str) -> Option<Self> {
        let chars: Vec<char> = raw
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-' && !c.is_control())
            .collect();
        if chars.is_empty() {
            return None;
        }
        let visible = if chars.len() < 4 {
            0
        } else {
            (chars.len() / 2).min(4)
        };
        let tail: String = chars[chars.len() - visible..].iter().collect();
        Some(Self(format!("{MASK}{tail}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The kind of identity document, in our words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocumentKind {
    Passport,
    IdCard,
    DrivingLicence,
    ResidencePermit,
    Other,
}

impl DocumentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passport => "passport",
            Self::IdCard => "id_card",
            Self::DrivingLicence => "driving_licence",
            Self::ResidencePermit => "residence_permit",
            Self::Other => "other",
        }
    }

    /// A provider's word for the kind, in any casing, with or without `_`, `-` or spaces
    /// (`DriverLicense`, `DRIVERS_LICENSE`, `ID_CARD`, `passport`); anything else is `Other`.
    pub fn from_provider_word(word: &str) -> Self {
        let squashed: String = word
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_lowercase();
        match squashed.as_str() {
            "passport" | "passportcard" => Self::Passport,
            "idcard" | "identitycard" | "nationalid" | "stateid" => Self::IdCard,
            "driverlicense" | "driverslicense" | "drivinglicense" | "drivinglicence" => {
                Self::DrivingLicence
            }
            "residencepermit" | "permanentresidentcard" | "permanantresidentcard" => {
                Self::ResidencePermit
            }
            _ => Self::Other,
        }
    }
}

/// The identity document the provider read.
#[derive(Clone, PartialEq, Eq)]
pub struct KycDocument {
    pub kind: Option<DocumentKind>,
    pub country: Option<CountryCode>,
    pub number: Option<MaskedDocumentNumber>,
    pub expires_on: Option<NaiveDate>,
}

impl KycDocument {
    /// A document with whatever of these the provider gave; `None` when it gave none.
    pub fn of(
        kind: Option<DocumentKind>,
        country: Option<CountryCode>,
        number: Option<MaskedDocumentNumber>,
        expires_on: Option<NaiveDate>,
    ) -> Option<Self> {
        let any = kind.is_some() || country.is_some() || number.is_some() || expires_on.is_some();
        any.then_some(Self {
            kind,
            country,
            number,
            expires_on,
        })
    }
}

/// The person's address as the provider holds it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct KycAddress {
    pub street: Option<KycText>,
    pub street2: Option<KycText>,
    pub city: Option<KycText>,
    pub state: Option<KycText>,
    pub postal_code: Option<KycText>,
    pub country: Option<CountryCode>,
    /// The whole address on one line, where the provider gives it so.
    pub formatted: Option<KycText>,
}

impl KycAddress {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// This address, unless the provider gave none of its parts.
    pub fn non_empty(self) -> Option<Self> {
        (!self.is_empty()).then_some(self)
    }
}

/// The minimised projection of a provider's identification data.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct KycData {
    pub first_name: Option<KycText>,
    pub middle_name: Option<KycText>,
    pub last_name: Option<KycText>,
    pub date_of_birth: Option<NaiveDate>,
    pub document: Option<KycDocument>,
    pub address: Option<KycAddress>,
}

/// Never shows a value: the projection is personal data and must not reach a log through `{:?}`.
impl fmt::Debug for KycData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KycData { .. }")
    }
}

/// A date as `YYYY-MM-DD`, also when the provider adds a time (`1990-01-01T00:00:00`).
pub fn parse_date(raw: &str) -> Option<NaiveDate> {
    let day = raw.trim().get(..10)?;
    NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()
}

impl KycData {
    /// Whether the provider gave nothing we keep.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The API's `kyc_data` object: every member present, `null` where the provider had nothing.
    pub fn to_json(&self) -> Value {
        let text = |t: &Option<KycText>| t.as_ref().map(KycText::as_str).map(str::to_owned);
        let country = |c: &Option<CountryCode>| c.as_ref().map(|c| c.as_str().to_owned());
        let day = |d: &Option<NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string());
        let document = self.document.as_ref().map(|d| {
            json!({
                "type": d.kind.map(DocumentKind::as_str),
                "country": country(&d.country),
                "number_masked": d.number.as_ref().map(MaskedDocumentNumber::as_str),
                "expires_on": day(&d.expires_on),
            })
        });
        let address = self.address.as_ref().filter(|a| !a.is_empty()).map(|a| {
            json!({
                "street": text(&a.street),
                "street2": text(&a.street2),
                "city": text(&a.city),
                "state": text(&a.state),
                "postal_code": text(&a.postal_code),
                "country": country(&a.country),
                "formatted": text(&a.formatted),
            })
        });
        json!({
            "first_name": text(&self.first_name),
            "middle_name": text(&self.middle_name),
            "last_name": text(&self.last_name),
            "date_of_birth": day(&self.date_of_birth),
            "document": document,
            "address": address,
        })
    }
}

/// Whether a verification has identification data to read: once the provider decided it
/// (approved or rejected, also when a newer decision superseded an earlier one). Before, the
/// provider has not read the document, or stands by nothing it read.
pub fn readable(v: &Verification) -> bool {
    v.decision.is_some()
}

/// What `include` may ask for, parsed from the query: `include=kyc_data`; any other value
/// (empty, another word, a list) is refused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Includes {
    pub kyc_data: bool,
}

impl Includes {
    pub fn parse(raw: Option<&str>) -> Result<Self, &'static str> {
        match raw {
            None => Ok(Self::default()),
            Some("kyc_data") => Ok(Self { kyc_data: true }),
            Some(_) => Err("must be kyc_data"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::verification::fixtures::{fresh, obs, t};
    use crate::domain::{Source, Status};

    #[test]
    fn a_verification_has_data_to_read_once_decided_and_not_before() {
        let mut v = fresh();
        assert!(!readable(&v));
        v.apply(&obs(Status::InReview, 5), Source::Webhook, None, t(5));
        assert!(!readable(&v));
        v.apply(&obs(Status::Rejected, 10), Source::Webhook, None, t(10));
        assert!(readable(&v));
    }

    fn masked(raw: &str) -> Option<String> {
        MaskedDocumentNumber::mask(raw).map(|m| m.as_str().to_owned())
    }

    #[test]
    fn a_document_number_shows_only_its_last_four_and_short_ones_at_most_half() {
        assert_eq!(masked("AB1234567").as_deref(), Some("****4567"));
        assert_eq!(masked("12345678").as_deref(), Some("****5678"));
        assert_eq!(masked("1234567").as_deref(), Some("****567"));
        assert_eq!(masked("123456").as_deref(), Some("****456"));
        assert_eq!(masked("12345").as_deref(), Some("****45"));
        assert_eq!(masked("1234").as_deref(), Some("****34"));
        assert_eq!(masked("123").as_deref(), Some("****"));
        assert_eq!(masked("1").as_deref(), Some("****"));
        assert_eq!(masked(""), None);
        assert_eq!(masked(" - "), None);
    }

    #[test]
    fn a_document_number_is_masked_without_its_spaces_dashes_and_across_unicode() {
        assert_eq!(masked("LT 12-34 5678").as_deref(), Some("****5678"));
        assert_eq!(masked("ÄÖÜ123456ß").as_deref(), Some("****456ß"));
        assert_eq!(masked("\u{0}\u{1}12345678").as_deref(), Some("****5678"));
    }

    #[test]
    fn the_projection_answers_every_member_and_null_where_nothing_was_given() {
        let data = KycData {
            first_name: KycText::parse(" Ada "),
            last_name: KycText::parse("Lovelace"),
            date_of_birth: parse_date("1815-12-10T00:00:00"),
            document: Some(KycDocument {
                kind: Some(DocumentKind::from_provider_word("DriverLicense")),
                country: CountryCode::parse("gb"),
                number: MaskedDocumentNumber::mask("LOVEL512105AA9"),
                expires_on: parse_date("2031-01-31"),
            }),
            address: Some(KycAddress::default()),
            ..KycData::default()
        };
        let v = data.to_json();
        assert_eq!(v["first_name"], "Ada");
        assert_eq!(v["middle_name"], Value::Null);
        assert_eq!(v["date_of_birth"], "1815-12-10");
        assert_eq!(v["document"]["type"], "driving_licence");
        assert_eq!(v["document"]["country"], "GB");
        assert_eq!(v["document"]["number_masked"], "****5AA9");
        assert_eq!(v["document"]["expires_on"], "2031-01-31");
        assert_eq!(v["address"], Value::Null, "an empty address is no address");
        assert_eq!(format!("{data:?}"), "KycData { .. }");
        assert!(!data.is_empty() && KycData::default().is_empty());
    }

    #[test]
    fn values_that_do_not_fit_are_left_out() {
        assert!(KycText::parse("   ").is_none());
        assert!(KycText::parse("a\nb").is_none());
        assert!(KycText::parse(&"x".repeat(201)).is_none());
        assert!(CountryCode::parse("Lithuania").is_none());
        assert!(CountryCode::parse("L1").is_none());
        assert_eq!(CountryCode::parse("ltu").unwrap().as_str(), "LTU");
        assert!(parse_date("01/02/1990").is_none());
        assert!(parse_date("1990-02-30").is_none());
        assert_eq!(
            DocumentKind::from_provider_word("ID_CARD"),
            DocumentKind::IdCard
        );
        assert_eq!(
            DocumentKind::from_provider_word("visa"),
            DocumentKind::Other
        );
    }

    #[test]
    fn include_accepts_kyc_data_and_refuses_anything_else() {
        assert_eq!(Includes::parse(None), Ok(Includes::default()));
        assert!(Includes::parse(Some("kyc_data")).unwrap().kyc_data);
        for bad in [
            "",
            "kyc",
            "KYC_DATA",
            "kyc_data,images",
            "kyc_data,kyc_data",
            " kyc_data",
        ] {
            assert!(Includes::parse(Some(bad)).is_err(), "{bad:?}");
        }
    }
}
