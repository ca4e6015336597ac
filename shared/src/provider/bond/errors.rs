//! Bond's error answers, read leniently: the `{Message, Status, Code, Type}` body, field problems
//! mapped back to our field names, and the "KYC already passed" answer with its time.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::mapping::{our_field, parse_occurred_at};

/// Bond's error body `{Message, Status, Code, Type}`, read leniently.
pub(super) struct BondError {
    pub code: String,
    message: Value,
}

impl BondError {
    pub fn read(body: &[u8]) -> Self {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        Self {
            code: v
                .get("Code")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            message: v.get("Message").cloned().unwrap_or(Value::Null),
        }
    }

    fn message_text(&self) -> String {
        match &self.message {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }

    /// Field problems, from a `Message` that is a map (or a string holding one).
    pub fn fields(&self) -> BTreeMap<String, Vec<String>> {
        let map = match &self.message {
            Value::Object(m) => Some(m.clone()),
            Value::String(s) => {
                serde_json::from_str::<Map<String, Value>>(&s.replace('\'', "\"")).ok()
            }
            _ => None,
        };
        map.into_iter()
            .flatten()
            .map(|(k, v)| {
                let problems = match v {
                    Value::Array(items) => items
                        .iter()
                        .map(|i| i.as_str().unwrap_or("is invalid").to_owned())
                        .collect(),
                    Value::String(s) => vec![s],
                    _ => vec!["is invalid".to_owned()],
                };
                (our_field(&k), problems)
            })
            .collect()
    }

    /// "KYC already passed" answers carry the time of the earlier success.
    pub fn already_passed(&self) -> Option<DateTime<Utc>> {
        let text = self.message_text();
        let passed =
            self.code.contains("passed") || text.to_ascii_lowercase().contains("already passed");
        if !passed {
            return None;
        }
        text.split(|c: char| c.is_whitespace() || c == '"' || c == '\'')
            .find_map(parse_occurred_at)
            .or(Some(Utc::now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_errors_map_back_to_our_field_names() {
        let err = BondError::read(br#"{"Message": {"ssn": ["Missing data for required field."], "dob": "Not a valid date."}, "Status": 400, "Code": "kyc_post_schema", "Type": "Request Error"}"#);
        let fields = err.fields();
        assert_eq!(
            fields["applicant.ssn"],
            ["Missing data for required field."]
        );
        assert_eq!(fields["applicant.date_of_birth"], ["Not a valid date."]);
        let quoted = BondError::read(br#"{"Message": "{'email': ['Not a valid email address.']}", "Code": "kyc_post_schema"}"#);
        assert_eq!(
            quoted.fields()["applicant.email"],
            ["Not a valid email address."]
        );
    }

    #[test]
    fn an_already_passed_answer_carries_its_time() {
        let err = BondError::read(br#"{"Message": "KYC already passed at 2026-01-02T03:04:05+00:00", "Status": 400, "Code": "kyc_already_passed", "Type": "Request Error"}"#);
        assert_eq!(
            err.already_passed().unwrap().to_rfc3339(),
            "2026-01-02T03:04:05+00:00"
        );
        assert!(
            BondError::read(br#"{"Message": "bad", "Code": "kyc_post_schema"}"#)
                .already_passed()
                .is_none()
        );
    }
}
