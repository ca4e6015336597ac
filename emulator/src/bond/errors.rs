//! Bond's error answers, in the forms Bond's documentation shows them (providers.md §2.6):
//! - most errors: JSON with PascalCase keys, `{"Message", "Status", "Code", "Type"}`;
//! - a repeated `Idempotency-Key`: a lowercase body with a trailing comma (not valid JSON);
//! - a KYC schema error: a Python-dict rendering (`'…'` strings, bare field names; not JSON).
//!
//! Both non-JSON bodies still say `content-type: application/json`, so a client must not trust
//! the header. Also Bond's own way of writing a time, `2021-02-02-00:50:58.484840+00:00`.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

/// The exact body of Bond's 409 for a key seen within 24 h.
pub(super) const KEY_EXISTS_BODY: &str = "{\n    \"type\": \"RESOURCE_CONFLICT\",\n    \"code\": \"idempotency_key_exists\",\n    \"message\": \"Idempotency-Key has already been used in the last 24 hours\",\n}";

/// One problem with one field: the field's name and what Bond says about it (a list of
/// messages, or a map for nested items such as `addresses`).
pub(super) type Problems = Vec<(&'static str, Value)>;

/// Bond's PascalCase JSON error.
pub(super) fn error(status: StatusCode, code: &str, message: Value) -> Response {
    let kind = if status.is_client_error() {
        "Request Error"
    } else {
        "Server Error"
    };
    (
        status,
        Json(json!({"Message": message, "Status": status.as_u16(), "Code": code, "Type": kind})),
    )
        .into_response()
}

pub(super) fn unknown_customer() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "customer_not_found",
        json!("Customer not found"),
    )
}

/// A schema error in the PascalCase JSON form (customer endpoints).
pub(super) fn schema_json(code: &str, problems: Problems) -> Response {
    let message: Map<String, Value> = problems
        .into_iter()
        .map(|(field, v)| (field.to_owned(), v))
        .collect();
    error(StatusCode::BAD_REQUEST, code, Value::Object(message))
}

/// 409 for a repeated `Idempotency-Key`, byte for byte as Bond documents it.
pub(super) fn key_exists() -> Response {
    (
        StatusCode::CONFLICT,
        [(header::CONTENT_TYPE, "application/json")],
        KEY_EXISTS_BODY,
    )
        .into_response()
}

/// 400 `kyc_post_schema` as Bond documents it: a Python dict, fields in the order given.
pub(super) fn kyc_schema(problems: &Problems) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "application/json")],
        kyc_schema_body(problems),
    )
        .into_response()
}

/// `{'Message': {ssn: ['Missing data for required field.']}, 'Status': 400, …}`.
pub(super) fn kyc_schema_body(problems: &Problems) -> String {
    let fields: Vec<String> = problems
        .iter()
        .map(|(field, v)| format!("{field}: {}", python(v)))
        .collect();
    format!(
        "{{'Message': {{{}}}, 'Status': 400, 'Code': 'kyc_post_schema', 'Type': 'Request Error'}}",
        fields.join(", ")
    )
}

/// A value as Python's `repr` writes it (strings single-quoted).
fn python(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(python).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(m) => {
            let items: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("'{k}': {}", python(v)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
    }
}

/// A time as Bond's docs write it: date and time joined by `-`, microseconds, `+00:00`.
pub(super) fn bond_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d-%H:%M:%S%.6f+00:00").to_string()
}
