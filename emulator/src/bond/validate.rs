//! Bond's schema rules (providers.md §2.2, §2.3), as field problems in a stable order.
//!
//! - KYC: `program_id` (the configured program), `ssn` (`#########` or `###-##-####`), `phone`
//!   (digits, or digits with dashes), `phone_country_code` (1–3 digits), `email`, and `ip` (IPv4;
//!   required when the `ip_required` setting is on).
//! - Customer: `brand_person_id`, `dob` (a real `YYYY-MM-DD` date), `first_name`, `last_name`
//!   (1–50 characters), `addresses` (at least one primary, each with street, city, state,
//!   zip code and country); phone, country code and email formats when present.
//!
//! A field that is absent, `null` or `""` is missing; one that is not a string is invalid.

use chrono::NaiveDate;
use serde_json::{json, Map, Value};

use super::errors::Problems;

const MISSING: &str = "Missing data for required field.";

/// A field's text: `Ok(None)` when missing, `Err(())` when present but not a string.
fn text<'a>(body: &'a Value, key: &str) -> Result<Option<&'a str>, ()> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(()),
    }
}

/// Check one field: missing (when required) or failing `valid` is a problem.
fn check(
    problems: &mut Problems,
    body: &Value,
    key: &'static str,
    required: bool,
    valid: impl Fn(&str) -> bool,
    invalid: &str,
) {
    let problem = match text(body, key) {
        Ok(None) if required => MISSING,
        Ok(None) => return,
        Ok(Some(s)) if valid(s) => return,
        Ok(Some(_)) | Err(()) => invalid,
    };
    problems.push((key, json!([problem])));
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

pub(super) fn is_ssn(s: &str) -> bool {
    let b = s.as_bytes();
    match b.len() {
        9 => digits(s),
        11 => {
            b[3] == b'-' && b[6] == b'-' && digits(&s[..3]) && digits(&s[4..6]) && digits(&s[7..])
        }
        _ => false,
    }
}

/// Digits, or groups of digits joined by single dashes.
pub(super) fn is_phone(s: &str) -> bool {
    s.split('-').all(digits)
}

pub(super) fn is_country_code(s: &str) -> bool {
    (1..=3).contains(&s.len()) && digits(s)
}

/// `something@something.tld`, no spaces.
pub(super) fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let Some((host, tld)) = domain.rsplit_once('.') else {
        return false;
    };
    !local.is_empty()
        && !host.is_empty()
        && tld.len() >= 2
        && !domain.contains('@')
        && !s.chars().any(char::is_whitespace)
        && !host.starts_with('.')
        && !host.ends_with('.')
}

pub(super) fn is_ipv4(s: &str) -> bool {
    s.parse::<std::net::Ipv4Addr>().is_ok()
}

fn is_date(s: &str) -> bool {
    s.len() == 10 && NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

fn is_name(s: &str) -> bool {
    (1..=50).contains(&s.chars().count())
}

/// The contact fields both bodies share.
fn contact(problems: &mut Problems, body: &Value, required: bool) {
    check(
        problems,
        body,
        "phone",
        required,
        is_phone,
        "Not a valid phone number.",
    );
    let code = "Not a valid phone country code.";
    check(
        problems,
        body,
        "phone_country_code",
        false,
        is_country_code,
        code,
    );
    let email = "Not a valid email address.";
    check(problems, body, "email", required, is_email, email);
}

/// The problems of a `verification-kyc` body, in Bond's field order.
pub(super) fn kyc(body: &Value, program_id: &str, ip_required: bool) -> Problems {
    let mut problems = Problems::new();
    let program = |s: &str| s == program_id;
    check(
        &mut problems,
        body,
        "program_id",
        true,
        program,
        "Unknown program.",
    );
    check(&mut problems, body, "ssn", true, is_ssn, "Not a valid SSN.");
    contact(&mut problems, body, true);
    let ip = "Not a valid IPv4 address.";
    check(&mut problems, body, "ip", ip_required, is_ipv4, ip);
    problems
}

/// The problems of a customer body, in Bond's field order.
pub(super) fn customer(body: &Value) -> Problems {
    let mut problems = Problems::new();
    check(
        &mut problems,
        body,
        "brand_person_id",
        true,
        |_| true,
        "Not a valid string.",
    );
    check(
        &mut problems,
        body,
        "dob",
        true,
        is_date,
        "Not a valid date.",
    );
    let length = "Length must be between 1 and 50.";
    check(&mut problems, body, "first_name", true, is_name, length);
    check(&mut problems, body, "middle_name", false, is_name, length);
    check(&mut problems, body, "last_name", true, is_name, length);
    contact(&mut problems, body, false);
    if let Some(problem) = addresses(body.get("addresses")) {
        problems.push(("addresses", problem));
    }
    problems
}

const ADDRESS_FIELDS: [&str; 5] = ["street", "city", "state", "zip_code", "country"];

/// What is wrong with `addresses`: per item by index (as marshmallow reports nested lists), or
/// about the list as a whole.
fn addresses(value: Option<&Value>) -> Option<Value> {
    let items = match value {
        None | Some(Value::Null) => return Some(json!([MISSING])),
        Some(Value::Array(items)) if items.is_empty() => return Some(json!([MISSING])),
        Some(Value::Array(items)) => items,
        Some(_) => return Some(json!(["Not a valid list."])),
    };
    let mut nested = Map::new();
    for (i, item) in items.iter().enumerate() {
        let mut fields = Problems::new();
        if !item.is_object() {
            fields.push(("_schema", json!(["Invalid input type."])));
        } else {
            for key in ADDRESS_FIELDS {
                check(
                    &mut fields,
                    item,
                    key,
                    true,
                    |_| true,
                    "Not a valid string.",
                );
            }
        }
        if !fields.is_empty() {
            let fields = fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            nested.insert(i.to_string(), Value::Object(fields));
        }
    }
    if !nested.is_empty() {
        return Some(Value::Object(nested));
    }
    let primary = items.iter().any(|a| a["is_primary"] == json!(true));
    (!primary).then(|| json!(["At least one address must be primary."]))
}
