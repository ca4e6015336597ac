//! Veriff's webhooks: the API key and the HMAC signature of the raw body (and an optional source
//! allowlist) checked in constant time, then the body read as an event (`started`, `submitted`)
//! or a decision, with its identity for deduplication and a copy for audit that keeps ids,
//! codes and status words only.

use http::HeaderMap;
use secrecy::ExposeSecret;
use serde_json::{json, Map, Value};
use subtle::{Choice, ConstantTimeEq};

use super::config::VeriffConfig;
use super::signature::{matches_any, MAX_SIGNATURES};
use crate::provider::{AuthError, InterpretError, RawWebhook};

/// Where Veriff puts its API key: the documented name first, then the newer one.
const KEY_HEADERS: [&str; 2] = ["x-auth-client", "vrf-auth-client"];
/// Where Veriff puts the signature of the body.
const SIGNATURE_HEADERS: [&str; 2] = ["x-hmac-signature", "vrf-hmac-signature"];

/// Fields of an event webhook kept for audit.
const EVENT_AUDIT: &[&str] = &[
    "id",
    "attemptId",
    "feature",
    "code",
    "action",
    "vendorData",
    "endUserId",
];
/// Fields of a decision's `verification` kept for audit: never `person`, `document`, `reason`
/// text or anything else a person could be recognised by.
const DECISION_AUDIT: &[&str] = &[
    "id",
    "attemptId",
    "vendorData",
    "endUserId",
    "status",
    "code",
    "reasonCode",
    "decisionTime",
    "acceptanceTime",
];

/// A progress event, as its signed body says.
#[derive(Debug)]
pub(super) struct Progress {
    pub session_id: String,
    pub attempt_id: Option<String>,
    pub action: String,
    pub code: Option<i64>,
    pub vendor_data: Option<String>,
}

/// What an authenticated body is.
#[derive(Debug)]
pub(super) enum Hint {
    /// `started` or `submitted`: applied from the signed body.
    Event {
        progress: Progress,
        event_id: String,
        audit: Value,
    },
    /// A decision: only names the session whose decision is re-read.
    Decision {
        session_id: String,
        event_id: String,
        audit: Value,
    },
    /// Another action, or a body that is neither.
    Ignored { event_type: String },
}

/// Every value of these headers, comma-joined ones split; more than [`MAX_SIGNATURES`] is
/// refused before anything is compared.
fn values<'a>(headers: &'a HeaderMap, names: &[&str]) -> Result<Vec<&'a str>, AuthError> {
    let mut out = Vec::new();
    for name in names {
        for value in headers.get_all(*name) {
            let value = value.to_str().map_err(|_| AuthError::Invalid)?;
            out.extend(value.split(',').map(str::trim).filter(|v| !v.is_empty()));
            if out.len() > MAX_SIGNATURES {
                return Err(AuthError::Invalid);
            }
        }
    }
    Ok(out)
}

/// The source allowlist, then the API key (every value sent must be ours) and the signature
/// (any value, under any active secret), both computed before either decides.
pub(super) fn authenticate(
    config: &VeriffConfig,
    webhook: &RawWebhook<'_>,
) -> Result<(), AuthError> {
    if !webhook.source_allowed(&config.allowed_ips) {
        return Err(AuthError::Invalid);
    }
    let keys = values(webhook.headers, &KEY_HEADERS)?;
    let signatures = values(webhook.headers, &SIGNATURE_HEADERS)?;
    if keys.is_empty() || signatures.is_empty() {
        return Err(AuthError::Missing);
    }
    let ours = config.api_key.expose_secret().as_bytes();
    let key_ok = keys
        .iter()
        .fold(Choice::from(1), |acc, k| acc & k.as_bytes().ct_eq(ours));
    let signed = matches_any(&config.shared_secrets, &signatures, webhook.body);
    if bool::from(key_ok) && signed {
        Ok(())
    } else {
        Err(AuthError::Invalid)
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn number(v: &Value, key: &str) -> Option<i64> {
    match v.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The scalar values of `keys` in `v`.
fn pick(v: &Value, keys: &[&str]) -> Value {
    let mut kept = Map::new();
    for key in keys {
        if let Some(x @ (Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null)) =
            v.get(*key)
        {
            kept.insert((*key).to_owned(), x.clone());
        }
    }
    Value::Object(kept)
}

/// A word from the body, short enough for a log line.
fn label(prefix: &str, word: &str) -> String {
    format!("{prefix} {}", word.chars().take(40).collect::<String>())
}

/// Read an authenticated body: an event, a decision, or something we do not act on.
pub(super) fn read(body: &[u8]) -> Result<Hint, InterpretError> {
    let body: Value = serde_json::from_slice(body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| InterpretError::Malformed("not a JSON object".into()))?;
    if let Some(verification) = body.get("verification") {
        return read_decision(&body, verification);
    }
    let Some(action) = text(&body, "action") else {
        return Ok(Hint::Ignored {
            event_type: "neither an event nor a decision".into(),
        });
    };
    if !matches!(action.as_str(), "started" | "submitted") {
        return Ok(Hint::Ignored {
            event_type: label("event", &action),
        });
    }
    let session_id = text(&body, "id")
        .ok_or_else(|| InterpretError::Malformed("the event names no session".into()))?;
    let attempt_id = text(&body, "attemptId");
    let event_id = format!(
        "{session_id}|{}|{action}",
        attempt_id.as_deref().unwrap_or_default()
    );
    Ok(Hint::Event {
        event_id,
        audit: pick(&body, EVENT_AUDIT),
        progress: Progress {
            session_id,
            attempt_id,
            code: number(&body, "code"),
            vendor_data: text(&body, "vendorData"),
            action,
        },
    })
}

fn read_decision(body: &Value, verification: &Value) -> Result<Hint, InterpretError> {
    let session_id = text(verification, "id")
        .ok_or_else(|| InterpretError::Malformed("the decision names no session".into()))?;
    let part = |key: &str| text(verification, key).unwrap_or_default();
    let event_id = format!(
        "{session_id}|{}|{}|{}",
        part("attemptId"),
        part("status"),
        part("decisionTime")
    );
    let audit = json!({
        "status": body.get("status").filter(|s| s.is_string()),
        "verification": pick(verification, DECISION_AUDIT),
    });
    Ok(Hint::Decision {
        session_id,
        event_id,
        audit,
    })
}

#[cfg(test)]
mod tests;
