//! What Ondato's IDV API refuses when an IDV is created: a setup the account does not have, and a
//! registration prefill not in Ondato's formats (providers.md §1.2: `dateOfBirth` `YYYY-MM-DD`,
//! `phoneNumber` a JSON number with the country code, `countryCode` ISO 3166-1 alpha-2).
//!
//! Refusals come as ASP.NET Core validation problem details, field paths in .NET's property
//! casing (`Registration.PhoneNumber`). Assumption: Ondato's API is ASP.NET Core and answers
//! with the framework's default `ValidationProblemDetails`; no Ondato document shows a refusal.
//! The limits on names and codes are assumptions too (sane lengths, not Ondato's published ones),
//! and so is refusing unknown `registration` keys (ASP.NET ignores them unless told not to): the
//! emulator is strict so that a misspelt field fails here rather than being silently dropped.

use std::collections::BTreeMap;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde_json::{json, Map, Value};
use shared::domain::request::is_iso_country;

use super::Settings;

/// `registration` keys and their .NET property names.
const REGISTRATION_FIELDS: &[(&str, &str)] = &[
    ("firstName", "FirstName"),
    ("middleName", "MiddleName"),
    ("lastName", "LastName"),
    ("dateOfBirth", "DateOfBirth"),
    ("email", "Email"),
    ("phoneNumber", "PhoneNumber"),
    ("countryCode", "CountryCode"),
    ("personalCode", "PersonalCode"),
];
/// Longest name part and personal code accepted (assumed limits).
const MAX_NAME: usize = 100;
const MAX_PERSONAL_CODE: usize = 64;
/// A phone with its country code: E.164 allows 15 digits; shorter than 8 is no phone.
const PHONE_DIGITS: std::ops::RangeInclusive<usize> = 8..=15;

/// Field path (`Registration.PhoneNumber`) to what is wrong with it, as ASP.NET groups them.
#[derive(Debug, Default)]
pub(super) struct Problems(BTreeMap<String, Vec<String>>);

impl Problems {
    fn add(&mut self, path: &str, message: impl Into<String>) {
        self.0
            .entry(path.to_owned())
            .or_default()
            .push(message.into());
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The 400 answer: ASP.NET Core's `ValidationProblemDetails` (assumed to be Ondato's form).
    pub(super) fn into_response(self) -> Response {
        let trace = ulid::Ulid::new().0;
        let body = json!({
            "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
            "title": "One or more validation errors occurred.",
            "status": 400,
            "errors": self.0,
            "traceId": format!("00-{trace:032x}-{:016x}-00", trace as u64),
        });
        (
            StatusCode::BAD_REQUEST,
            [(
                header::CONTENT_TYPE,
                "application/problem+json; charset=utf-8",
            )],
            body.to_string(),
        )
            .into_response()
    }
}

/// Everything wrong with a create body, every field checked.
pub(super) fn check_create(settings: &Settings, body: &Value) -> Problems {
    let mut p = Problems::default();
    match body.get("setupId") {
        None | Some(Value::Null) => p.add("SetupId", "The SetupId field is required."),
        Some(Value::String(id)) if settings.setups.iter().any(|s| s == id) => {}
        Some(Value::String(id)) => p.add("SetupId", format!("Setup '{id}' was not found.")),
        Some(_) => p.add(
            "SetupId",
            "The JSON value could not be converted to System.Guid.",
        ),
    }
    match body.get("registration") {
        None | Some(Value::Null) => {}
        Some(Value::Object(r)) => check_registration(&mut p, r),
        Some(_) => p.add(
            "Registration",
            "The JSON value could not be converted to Registration.",
        ),
    }
    p
}

fn check_registration(p: &mut Problems, r: &Map<String, Value>) {
    for (key, value) in r {
        let Some((_, prop)) = REGISTRATION_FIELDS.iter().find(|(k, _)| k == key) else {
            p.add(
                &format!("Registration.{key}"),
                format!("The field {key} is not a registration field."),
            );
            continue;
        };
        let path = format!("Registration.{prop}");
        if value.is_null() {
            continue; // every registration field is optional prefill
        }
        if *key == "phoneNumber" {
            check_phone(p, &path, value);
            continue;
        }
        let Some(text) = value.as_str() else {
            p.add(
                &path,
                "The JSON value could not be converted to System.String.",
            );
            continue;
        };
        if let Err(message) = check_text(key, prop, text) {
            p.add(&path, message);
        }
    }
}

/// A JSON number (a string is refused), digits only, country code included.
fn check_phone(p: &mut Problems, path: &str, value: &Value) {
    match value.as_u64() {
        Some(n) if PHONE_DIGITS.contains(&n.to_string().len()) => {}
        Some(_) => p.add(
            path,
            "The PhoneNumber must have 8 to 15 digits, the country code included.",
        ),
        None => p.add(
            path,
            "The JSON value could not be converted to System.Int64.",
        ),
    }
}

/// One string field of the registration in Ondato's format.
fn check_text(key: &str, prop: &str, text: &str) -> Result<(), String> {
    let chars = text.chars().count();
    let ok = match key {
        "dateOfBirth" => text.len() == 10 && NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok(),
        "email" => plausible_email(text),
        "countryCode" => is_iso_country(text),
        "personalCode" => (1..=MAX_PERSONAL_CODE).contains(&chars),
        _ => (1..=MAX_NAME).contains(&chars) && !text.trim().is_empty(),
    };
    if ok {
        return Ok(());
    }
    Err(match key {
        "dateOfBirth" => "The DateOfBirth must be a date that exists, as YYYY-MM-DD.".into(),
        "email" => "The Email field is not a valid e-mail address.".into(),
        "countryCode" => "The CountryCode must be an ISO 3166-1 alpha-2 code in upper case.".into(),
        "personalCode" => {
            format!("The field {prop} must be a string with a length of 1 to {MAX_PERSONAL_CODE}.")
        }
        _ => format!("The field {prop} must be a string with a length of 1 to {MAX_NAME}."),
    })
}

/// One `@`, something before it, a dotted domain after it, no spaces.
fn plausible_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    e.len() <= 254
        && !local.is_empty()
        && !domain.contains('@')
        && !e.contains(char::is_whitespace)
        && domain.split('.').count() >= 2
        && domain.split('.').all(|label| !label.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(registration: Value) -> BTreeMap<String, Vec<String>> {
        let body = json!({"setupId": Settings::default().setup_id, "registration": registration});
        check_create(&Settings::default(), &body).0
    }

    #[test]
    fn ondatos_own_example_registration_is_accepted() {
        let example = json!({
            "dateOfBirth": "2021-01-14", "email": "John@email.com", "firstName": "John",
            "lastName": "Johnson", "middleName": "Adam", "personalCode": "1214148111000",
            "phoneNumber": 370624515141u64, "countryCode": "LT"
        });
        assert!(problems(example).is_empty());
    }

    #[test]
    fn every_registration_field_is_optional_prefill() {
        assert!(problems(json!({})).is_empty());
        assert!(problems(json!({"firstName": "Ada", "lastName": "King"})).is_empty());
        assert!(problems(json!({"middleName": null, "phoneNumber": null})).is_empty());
        let bare = json!({"setupId": Settings::default().setup_id});
        assert!(check_create(&Settings::default(), &bare).is_empty());
    }

    #[test]
    fn registration_fields_outside_ondatos_formats_are_refused_at_their_path() {
        let long = "x".repeat(MAX_NAME + 1);
        let cases = [
            (
                json!({"phoneNumber": "370624515141"}),
                "Registration.PhoneNumber",
            ),
            (
                json!({"phoneNumber": "+370 624 515 141"}),
                "Registration.PhoneNumber",
            ),
            (json!({"phoneNumber": 624515}), "Registration.PhoneNumber"),
            (
                json!({"phoneNumber": 1_234_567_890_123_456u64}),
                "Registration.PhoneNumber",
            ),
            (
                json!({"phoneNumber": -370624515141i64}),
                "Registration.PhoneNumber",
            ),
            (
                json!({"phoneNumber": 370624515141.5}),
                "Registration.PhoneNumber",
            ),
            (
                json!({"dateOfBirth": "14/01/2021"}),
                "Registration.DateOfBirth",
            ),
            (
                json!({"dateOfBirth": "2021-02-30"}),
                "Registration.DateOfBirth",
            ),
            (
                json!({"dateOfBirth": "2021-1-4"}),
                "Registration.DateOfBirth",
            ),
            (
                json!({"dateOfBirth": "2021-01-14T00:00:00"}),
                "Registration.DateOfBirth",
            ),
            (json!({"email": "john"}), "Registration.Email"),
            (json!({"email": "john@localhost"}), "Registration.Email"),
            (json!({"email": "jo hn@email.com"}), "Registration.Email"),
            (json!({"countryCode": "lt"}), "Registration.CountryCode"),
            (json!({"countryCode": "LTU"}), "Registration.CountryCode"),
            (json!({"countryCode": "XX"}), "Registration.CountryCode"),
            (json!({"firstName": ""}), "Registration.FirstName"),
            (json!({"lastName": long}), "Registration.LastName"),
            (json!({"middleName": 7}), "Registration.MiddleName"),
            (
                json!({"personalCode": "1".repeat(65)}),
                "Registration.PersonalCode",
            ),
            (json!({"phone": 370624515141u64}), "Registration.phone"),
            (
                json!({"fullAddress": "1 Main St"}),
                "Registration.fullAddress",
            ),
        ];
        for (registration, path) in cases {
            let found = problems(registration.clone());
            assert_eq!(
                found.keys().collect::<Vec<_>>(),
                [path],
                "{registration}: {found:?}"
            );
        }
    }

    #[test]
    fn a_registration_that_is_not_an_object_is_refused() {
        let body = json!({"setupId": Settings::default().setup_id, "registration": "Ada"});
        let found = check_create(&Settings::default(), &body).0;
        assert!(found.contains_key("Registration"), "{found:?}");
    }

    #[test]
    fn a_setup_must_be_one_the_account_has() {
        let settings = Settings {
            setups: vec!["setup-a".into(), "setup-b".into()],
            ..Settings::default()
        };
        assert!(check_create(&settings, &json!({"setupId": "setup-b"})).is_empty());
        for body in [
            json!({"setupId": "setup-c"}),
            json!({"setupId": 5}),
            json!({"setupId": null}),
            json!({"externalReferenceId": "ver_1"}),
        ] {
            let found = check_create(&settings, &body).0;
            assert_eq!(found.keys().collect::<Vec<_>>(), ["SetupId"], "{body}");
        }
    }
}
