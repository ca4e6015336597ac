//! Bond's error answers, read leniently. Bond documents several forms: the PascalCase JSON body
//! `{Message, Status, Code, Type}`, a lowercase `{type, code, message}` with a trailing comma
//! (the repeated-key 409), and a Python-dict rendering with single quotes and bare keys (a 400).
//! Any casing of the keys is read; a body that is not even JSON5 is a code-less error of its
//! status. Provider text never leaves this module: field problems are re-worded in ours, and the
//! code is kept only as a short machine word for logs and decisions.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::mapping::{our_field, parse_occurred_at};

/// Bond's code for a repeated `Idempotency-Key` (documented with a 409).
const KEY_EXISTS: &str = "idempotency_key_exists";

/// One of Bond's refusals, as far as it could be read.
#[derive(Debug)]
pub(super) struct BondError {
    pub status: u16,
    /// The machine code (`kyc_post_schema`), lowercased; `None` when absent or not a plain word.
    pub code: Option<String>,
    message: Value,
    body: Value,
}

/// JSON first, then JSON5 (single quotes, bare keys, trailing commas); otherwise nothing.
fn lenient(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .ok()
        .or_else(|| {
            std::str::from_utf8(bytes)
                .ok()
                .and_then(|s| json5::from_str(s).ok())
        })
        .unwrap_or(Value::Null)
}

/// A key of an object, in any casing.
fn get_ci<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// A code as a short machine word, or nothing.
fn machine_word(raw: &str) -> Option<String> {
    let ok = !raw.is_empty()
        && raw.len() <= 64
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    ok.then(|| raw.to_ascii_lowercase())
}

/// Our wording for one of Bond's field problems.
fn our_problem(bond_text: &str) -> &'static str {
    if bond_text.to_ascii_lowercase().contains("missing") {
        "is required by the provider"
    } else {
        "was refused by the provider as invalid"
    }
}

impl BondError {
    pub fn read(status: u16, body: &[u8]) -> Self {
        let body = lenient(body);
        let code = get_ci(&body, "code")
            .and_then(Value::as_str)
            .and_then(machine_word);
        let message = get_ci(&body, "message").cloned().unwrap_or(Value::Null);
        Self {
            status,
            code,
            message,
            body,
        }
    }

    /// Bond already received a request with this `Idempotency-Key` (within 24 hours).
    pub fn is_repeated_key(&self) -> bool {
        self.status == 409 && self.code.as_deref() == Some(KEY_EXISTS)
    }

    /// The code for logs: the machine word, or `none`.
    pub fn log_code(&self) -> &str {
        self.code.as_deref().unwrap_or("none")
    }

    /// Field problems, from a `Message` that is a map (or a string holding one), in our field
    /// names and our words.
    pub fn fields(&self) -> BTreeMap<String, Vec<String>> {
        let map = match &self.message {
            Value::Object(m) => Some(m.clone()),
            Value::String(s) => lenient(s.as_bytes()).as_object().cloned(),
            _ => None,
        };
        map.into_iter()
            .flatten()
            .map(|(k, v)| {
                let problems: Vec<String> = match v {
                    Value::Array(items) => items
                        .iter()
                        .map(|i| our_problem(i.as_str().unwrap_or_default()).to_owned())
                        .collect(),
                    Value::String(s) => vec![our_problem(&s).to_owned()],
                    _ => vec![our_problem("").to_owned()],
                };
                let mut problems = problems;
                problems.dedup();
                (our_field(&k), problems)
            })
            .collect()
    }

    /// The first time written anywhere in the answer (Bond says its "already passed" error
    /// "returns the timestamp of the previously successful KYC process", not where).
    pub fn timestamp(&self) -> Option<DateTime<Utc>> {
        first_time(&self.body)
    }
}

fn first_time(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::String(s) => s
            .split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ';' | '(' | ')'))
            .find_map(|word| parse_occurred_at(word.trim_end_matches('.'))),
        Value::Array(items) => items.iter().find_map(first_time),
        Value::Object(m) => m.values().find_map(first_time),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bond's documented repeated-key answer, byte for byte (trailing comma included).
    const REPEATED_KEY: &str = "{\n    \"type\": \"RESOURCE_CONFLICT\",\n    \"code\": \"idempotency_key_exists\",\n    \"message\": \"...\",\n}";
    /// Bond's documented schema answer, byte for byte (not JSON).
    const SCHEMA: &str = "{'Message': {ssn: ['Missing data for required field.']}, 'Status': 400, 'Code': 'kyc_post_schema', 'Type': 'Request Error'}";

    #[test]
    fn the_lowercase_409_with_a_trailing_comma_is_a_repeated_key() {
        let err = BondError::read(409, REPEATED_KEY.as_bytes());
        assert!(err.is_repeated_key());
        assert!(!BondError::read(400, REPEATED_KEY.as_bytes()).is_repeated_key());
        let pascal = br#"{"Message": "x", "Status": 409, "Code": "idempotency_key_exists", "Type": "Request Error"}"#;
        assert!(BondError::read(409, pascal).is_repeated_key());
        let upper = br#"{"TYPE": "RESOURCE_CONFLICT", "CODE": "IDEMPOTENCY_KEY_EXISTS"}"#;
        assert!(BondError::read(409, upper).is_repeated_key());
    }

    #[test]
    fn the_python_dict_400_names_ssn_in_our_words() {
        let err = BondError::read(400, SCHEMA.as_bytes());
        assert_eq!(err.code.as_deref(), Some("kyc_post_schema"));
        let fields = err.fields();
        assert_eq!(fields["applicant.ssn"], ["is required by the provider"]);
        assert!(
            !format!("{fields:?}").contains("Missing data"),
            "provider text is not echoed"
        );
    }

    #[test]
    fn schema_errors_map_back_to_our_field_names_in_any_form() {
        let err = BondError::read(
            400,
            br#"{"Message": {"ssn": ["Missing data for required field."], "dob": "Not a valid date."}, "Status": 400, "Code": "kyc_post_schema", "Type": "Request Error"}"#,
        );
        let fields = err.fields();
        assert_eq!(fields["applicant.ssn"], ["is required by the provider"]);
        assert_eq!(
            fields["applicant.date_of_birth"],
            ["was refused by the provider as invalid"]
        );
        let quoted = BondError::read(
            400,
            br#"{"message": "{'email': ['Not a valid email address.']}", "code": "kyc_post_schema"}"#,
        );
        assert_eq!(
            quoted.fields()["applicant.email"],
            ["was refused by the provider as invalid"]
        );
    }

    #[test]
    fn a_body_that_is_not_even_json5_is_a_codeless_error_of_its_status() {
        for body in [
            &b"<html>Bad Gateway</html>"[..],
            b"",
            b"\xff\xfe",
            b"{'Code': ",
        ] {
            let err = BondError::read(400, body);
            assert_eq!((err.status, err.code.as_deref()), (400, None));
            assert!(err.fields().is_empty());
            assert_eq!(err.log_code(), "none");
        }
        let odd = BondError::read(400, br#"{"Code": "drop table; --"}"#);
        assert_eq!(odd.code, None, "only plain machine words are kept");
    }

    #[test]
    fn an_answer_carrying_a_time_yields_it_wherever_it_is() {
        let err = BondError::read(
            400,
            br#"{"Message": "KYC already completed successfully on 2021-02-02-00:50:58.484840+00:00", "Status": 400, "Code": "kyc_post_error", "Type": "Request Error"}"#,
        );
        assert_eq!(
            err.timestamp().map(|t| t.to_rfc3339()),
            Some("2021-02-02T00:50:58.484840+00:00".into())
        );
        let nested = BondError::read(
            400,
            br#"{"detail": {"passed_at": "2026-01-02T03:04:05Z."}}"#,
        );
        assert!(nested.timestamp().is_some());
        assert!(BondError::read(400, br#"{"Message": "bad"}"#)
            .timestamp()
            .is_none());
    }
}
