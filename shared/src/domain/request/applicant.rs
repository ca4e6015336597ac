//! The applicant, field by field: names, date of birth, contact data, national identifiers and
//! the address, each checked for its format. PII: parsed here, never logged.

use std::net::IpAddr;

use chrono::{Datelike, NaiveDate};
use secrecy::SecretString;
use serde_json::{Map, Value};

use super::problems::Problems;
use super::{Address, Applicant};

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

pub(super) const TOP_FIELDS: &[&str] = &[
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

/// The applicant object: every field checked, every problem recorded.
pub(super) fn parse_applicant(
    p: &mut Problems,
    a: &Map<String, Value>,
    today: NaiveDate,
) -> Applicant {
    p.unknown_fields("applicant.", a, APPLICANT_FIELDS);
    Applicant {
        first_name: p.text(a, "first_name", "applicant.first_name", 100),
        middle_name: p.text(a, "middle_name", "applicant.middle_name", 100),
        last_name: p.text(a, "last_name", "applicant.last_name", 100),
        date_of_birth: date_of_birth(p, a, today),
        email: email(p, a),
        phone: phone(p, a),
        phone_country_code: phone_country_code(p, a),
        country_code: country(p, a, "country_code", "applicant.country_code"),
        personal_code: personal_code(p, a),
        ssn: ssn(p, a),
        ip: ip(p, a),
        address: p
            .object(a, "address", "applicant.address")
            .and_then(|o| parse_address(p, o)),
    }
}

/// A date that exists, as `YYYY-MM-DD`, after 1900 and not in the future.
fn date_of_birth(p: &mut Problems, a: &Map<String, Value>, today: NaiveDate) -> Option<NaiveDate> {
    let path = "applicant.date_of_birth";
    let raw = p.string(a, "date_of_birth", path)?;
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
}

fn email(p: &mut Problems, a: &Map<String, Value>) -> Option<String> {
    let e = p.text(a, "email", "applicant.email", 254)?;
    if valid_email(&e) {
        Some(e)
    } else {
        p.add("applicant.email", "must be an e-mail address");
        None
    }
}

/// 4 to 15 digits, kept as digits only.
fn phone(p: &mut Problems, a: &Map<String, Value>) -> Option<String> {
    let raw = p.string(a, "phone", "applicant.phone")?;
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
}

/// 1 to 3 digits, kept without the `+`.
fn phone_country_code(p: &mut Problems, a: &Map<String, Value>) -> Option<String> {
    let raw = p.string(a, "phone_country_code", "applicant.phone_country_code")?;
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
}

fn personal_code(p: &mut Problems, a: &Map<String, Value>) -> Option<String> {
    let code = p.text(a, "personal_code", "applicant.personal_code", 64)?;
    if code
        .chars()
        .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '/' | '.'))
    {
        Some(code)
    } else {
        p.add(
            "applicant.personal_code",
            "may contain only letters, digits, '-', '/' and '.'",
        );
        None
    }
}

/// Kept as a secret from the moment it is read.
fn ssn(p: &mut Problems, a: &Map<String, Value>) -> Option<SecretString> {
    let raw = p.string(a, "ssn", "applicant.ssn")?;
    if valid_ssn(raw) {
        Some(SecretString::from(raw.to_owned()))
    } else {
        p.add(
            "applicant.ssn",
            "must be 9 digits, as ######### or ###-##-####",
        );
        None
    }
}

fn ip(p: &mut Problems, a: &Map<String, Value>) -> Option<IpAddr> {
    let raw = p.string(a, "ip", "applicant.ip")?;
    match raw.parse::<IpAddr>() {
        Ok(ip) => Some(ip),
        Err(_) => {
            p.add("applicant.ip", "must be an IPv4 or IPv6 address");
            None
        }
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

fn valid_email(e: &str) -> bool {
    let Some((local, domain)) = e.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.chars().count() <= 64
        && !local.contains(char::is_whitespace)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
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
    use super::*;

    #[test]
    fn ssn_accepts_only_the_two_documented_shapes() {
        assert!(valid_ssn("123456789"));
        assert!(valid_ssn("123-45-6789"));
        for bad in ["12345678", "123-456-789", "abc-de-fghi", "1234567890"] {
            assert!(!valid_ssn(bad), "{bad}");
        }
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
}
