//! The JSON views of the API: snake_case, RFC 3339 UTC times with milliseconds.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use super::CustomerView;
use crate::domain::{Decision, Verification, REDACTED};

pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A decision as `GET` and the outbound events show it.
pub(crate) fn decision_json(d: &Decision) -> Value {
    json!({
        "outcome": d.outcome,
        "reason_code": d.reason_code,
        "provider_reason": d.provider_reason,
        "retryable": d.retryable,
        "decided_at": ts(d.decided_at),
    })
}

/// The stored view of a verification, as `POST` and `GET` return it.
pub fn verification_json(v: &Verification) -> Value {
    let decision = v.decision.as_ref().map(decision_json);
    let history: Vec<Value> = v
        .history
        .iter()
        .map(|h| {
            let mut e = json!({
                "status": h.status,
                "from": h.from,
                "source": h.source,
                "at": ts(h.at),
                "recorded_at": ts(h.recorded_at),
                "provider_status": h.raw_status,
            });
            if h.superseded {
                e["superseded"] = Value::Bool(true);
            }
            if let Some(id) = &h.event_id {
                e["event_id"] = Value::String(id.clone());
            }
            e
        })
        .collect();
    let mut view = json!({
        "id": v.id,
        "customer_id": v.customer_id,
        "provider": v.provider,
        "status": v.status,
        "provider_status": v.raw_status,
        "verification_url": verification_url(v),
        "decision": decision,
        "required_actions": v.required_actions,
        "history": history,
        "metadata": v.metadata,
        "created_at": ts(v.created_at),
        "updated_at": ts(v.updated_at),
    });
    view["redaction"] = match &v.redaction {
        Some(r) => json!({"redacted_at": ts(r.redacted_at), "provider_copy": r.provider_copy}),
        None => Value::Null,
    };
    if v.history_dropped > 0 {
        // The history keeps its first entry and the newest ones; this many were in between.
        view["history_dropped"] = json!(v.history_dropped);
    }
    view
}

/// The hosted page while the applicant can use it; `[redacted]` once redacted (if there was one).
fn verification_url(v: &Verification) -> Option<&str> {
    match &v.redaction {
        Some(_) => v.verification_url.as_ref().map(|_| REDACTED),
        None => v.usable_verification_url(),
    }
}

/// A customer's view, as `GET /v1/customers/{customer_id}/verification` returns it.
pub fn customer_json(view: &CustomerView) -> Value {
    json!({
        "customer_id": view.customer_id,
        "verified": view.verified_at.is_some(),
        "verified_at": view.verified_at.map(ts),
        "verified_verification_id": view.verified_verification_id,
        "verification": view.latest.as_ref().map(verification_json),
    })
}
