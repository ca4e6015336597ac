//! Collects problems per field path while a body is read, so every problem is reported at once.

use serde_json::{Map, Value};

use super::{Applicant, ApplicantField, FieldErrors};
use crate::domain::ProviderName;

/// Collects problems per field path while a body is read.
pub(super) struct Problems(pub(super) FieldErrors);

impl Problems {
    /// The body as an object, or the one problem that it is not.
    pub(super) fn root(body: &Value) -> Result<(Self, &Map<String, Value>), FieldErrors> {
        match body.as_object() {
            Some(obj) => Ok((Problems(FieldErrors::new()), obj)),
            None => Err(FieldErrors::from([(
                "body".to_owned(),
                vec!["must be a JSON object".to_owned()],
            )])),
        }
    }

    /// Every field the provider needs that the applicant lacks (and that is not already wrong).
    pub(super) fn require(
        &mut self,
        applicant: &Applicant,
        provider: &ProviderName,
        required: &[ApplicantField],
    ) {
        for field in required {
            if !applicant.has(*field) && !self.0.contains_key(field.path()) {
                self.add(field.path(), format!("is required for provider {provider}"));
            }
        }
    }

    pub(super) fn add(&mut self, path: &str, problem: impl Into<String>) {
        self.0
            .entry(path.to_owned())
            .or_default()
            .push(problem.into());
    }

    pub(super) fn unknown_fields(
        &mut self,
        prefix: &str,
        obj: &Map<String, Value>,
        known: &[&str],
    ) {
        for key in obj.keys().filter(|k| !known.contains(&k.as_str())) {
            self.add(&format!("{prefix}{key}"), "is not a known field");
        }
    }

    /// An optional string member; `null` counts as absent. Trims nothing: what is sent is checked.
    pub(super) fn string<'a>(
        &mut self,
        obj: &'a Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Option<&'a str> {
        match obj.get(key) {
            None => None,
            // As the spec says: a field is a string or left out; `null` is neither.
            Some(Value::Null) => {
                self.add(path, "must be a string, not null (leave the field out)");
                None
            }
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => {
                self.add(path, "must be a string");
                None
            }
        }
    }

    pub(super) fn text(
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

    pub(super) fn object<'a>(
        &mut self,
        obj: &'a Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Option<&'a Map<String, Value>> {
        match obj.get(key) {
            None => None,
            Some(Value::Null) => {
                self.add(path, "must be an object, not null (leave the field out)");
                None
            }
            Some(Value::Object(o)) => Some(o),
            Some(_) => {
                self.add(path, "must be an object");
                None
            }
        }
    }
}
