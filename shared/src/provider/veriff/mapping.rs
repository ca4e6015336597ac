//! Veriff's words in our status model (DESIGN §3): a session's status word, its decision code and
//! its reason become one [`Observation`]; the times given to progress events, which Veriff sends
//! without one; and our applicant as Veriff's `person` prefill.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};

use super::client::Decision;
use crate::domain::request::Applicant;
use crate::domain::{Observation, Reason, RequiredAction, Status, Verification, VerificationId};

/// Decline reason codes after which a new attempt cannot succeed: fraud, tampering,
/// impersonation and abuse (the contract's list; Veriff does not publish such a split).
pub const FINAL_REASON_CODES: &[i64] = &[
    101, 102, 103, 104, 105, 106, 108, 109, 110, 112, 113, 115, 121,
];

/// "Resubmission limit exceeded": the 10th attempt of a session, declined automatically. The
/// person may succeed in a new session, so it is retryable.
pub const RESUBMISSION_LIMIT: i64 = 539;

/// A Veriff status word in our model; `None` for a word we do not know.
pub fn status_of(word: &str) -> Option<Status> {
    Some(match word {
        "started" => Status::InProgress,
        "submitted" | "review" => Status::InReview,
        "approved" => Status::Approved,
        "declined" => Status::Rejected,
        "resubmission_requested" => Status::ActionRequired,
        "expired" => Status::Expired,
        "abandoned" => Status::Canceled,
        _ => return None,
    })
}

/// `session declined (9102, reasonCode 102)`.
pub(super) fn raw_status(word: &str, code: Option<i64>, reason_code: Option<i64>) -> String {
    match (code, reason_code) {
        (Some(c), Some(r)) => format!("session {word} ({c}, reasonCode {r})"),
        (Some(c), None) => format!("session {word} ({c})"),
        (None, Some(r)) => format!("session {word} (reasonCode {r})"),
        (None, None) => format!("session {word}"),
    }
}

/// Whether a new attempt can succeed after a decline with this reason code.
pub fn retryable(reason_code: Option<i64>) -> bool {
    match reason_code {
        Some(RESUBMISSION_LIMIT) | None => true,
        Some(code) => !FINAL_REASON_CODES.contains(&code),
    }
}

/// `Suspected document tampering` → `suspected_document_tampering`.
pub(super) fn snake_case(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_owned()
}

fn reason_text(d: &Decision) -> Option<&str> {
    d.reason.as_deref().map(str::trim).filter(|t| !t.is_empty())
}

/// What the person is told, or failing that Veriff's reason code.
fn reason_or_code(d: &Decision) -> Option<String> {
    reason_text(d)
        .map(str::to_owned)
        .or_else(|| d.reason_code.map(|c| c.to_string()))
}

/// Our reason for an ended session: `veriff_<reasonCode>`, else the reason text in snake_case.
fn reason(d: &Decision) -> Option<Reason> {
    let code = match (d.reason_code, reason_text(d).map(snake_case)) {
        (Some(rc), _) => format!("veriff_{rc}"),
        (None, Some(text)) if !text.is_empty() => text,
        _ => return None,
    };
    Some(Reason {
        code,
        provider_reason: reason_or_code(d)?,
        retryable: retryable(d.reason_code),
    })
}

/// Veriff's RFC 3339 times.
pub(super) fn parse_time(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A decision in our model, at its `decisionTime` (else `fallback`, the time of asking);
/// `None` for a status word we do not know.
pub(super) fn observe_decision(d: &Decision, fallback: DateTime<Utc>) -> Option<Observation> {
    let status = status_of(&d.status)?;
    let required_actions = if status == Status::ActionRequired {
        // The person retries on the same hosted page: nothing to upload to us.
        vec![RequiredAction {
            kind: "resubmit".into(),
            detail: reason_or_code(d),
            upload_url: None,
        }]
    } else {
        Vec::new()
    };
    Some(Observation {
        status,
        raw_status: raw_status(&d.status, d.code, d.reason_code),
        reason: if status.is_terminal() && status != Status::Approved {
            reason(d)
        } else {
            None
        },
        required_actions,
        occurred_at: d
            .decision_time
            .as_deref()
            .and_then(parse_time)
            .unwrap_or(fallback),
        decision_ref: d.attempt_id.clone(),
    })
}

/// A progress event (`started`, `submitted`) in our model; `None` for other actions.
pub(super) fn observe_event(
    action: &str,
    code: Option<i64>,
    at: DateTime<Utc>,
) -> Option<Observation> {
    let status = match action {
        "started" => Status::InProgress,
        "submitted" => Status::InReview,
        _ => return None,
    };
    Some(Observation {
        status,
        raw_status: raw_status(action, code, None),
        reason: None,
        required_actions: Vec::new(),
        occurred_at: at,
        decision_ref: None,
    })
}

/// When our verification was created, from the ULID in its id (`ver_<ULID>`, millisecond
/// precision). Earlier than anything Veriff can report about the session we opened for it.
pub(super) fn created_at(id: &VerificationId) -> Option<DateTime<Utc>> {
    let ulid = ulid::Ulid::from_string(id.as_str().strip_prefix("ver_")?).ok()?;
    DateTime::from_timestamp_millis(i64::try_from(ulid.timestamp_ms()).ok()?)
}

/// The time given to a progress event, which Veriff sends without one.
///
/// Our transition rules order observations by time, and webhooks arrive in any order, so the
/// time must put `started` before `submitted` and both before the decision of their attempt,
/// whenever they are delivered. Receipt time would not: a `submitted` delivered after its
/// decision would make that decision stale. So an event is placed just after an anchor, by rank
/// (`started` +1 ms, `submitted` +2 ms):
/// - the decision Veriff has now (`latest`, re-read) when it is of *another* attempt: the person
///   is retrying after it (a resubmission), so the event is newer than that decision;
/// - otherwise (no decision yet, or the decision of this very attempt, or attempts unknown) the
///   creation of our verification: a lower bound of everything in the session, so the event is
///   applied before any decision and never after one (then it is recorded as stale).
///
/// A session opened by a correction (PATCH) after a decision shares the verification's creation
/// time: its progress events are stale, and its decision applies as usual.
pub(super) fn event_time(
    action: &str,
    attempt_id: Option<&str>,
    latest: Option<&Decision>,
    created: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let rank = Duration::milliseconds(if action == "started" { 1 } else { 2 });
    let retry_after = latest.and_then(|d| match (attempt_id, d.attempt_id.as_deref()) {
        (Some(ours), Some(decided)) if ours != decided => {
            d.decision_time.as_deref().and_then(parse_time)
        }
        _ => None,
    });
    retry_after.or(created).unwrap_or(now) + rank
}

/// Where an undecided session stands, from its latest attempt (`GET …/attempts`): `started` and
/// `submitted` as their events would say, dated as [`event_time`] dates those events (so a
/// delivery of the same event later is a duplicate in effect, and the decision still follows);
/// anything else (`created`, or no attempt) is [`no_decision`].
pub(super) fn undecided(
    v: &Verification,
    latest_attempt: Option<&str>,
    now: DateTime<Utc>,
) -> Observation {
    let created = created_at(&v.id);
    match latest_attempt {
        Some(word @ ("started" | "submitted")) if !v.status.is_terminal() => {
            let at = event_time(word, None, None, created, now);
            let mut o = observe_event(word, None, at).unwrap_or_else(|| no_decision(v, now));
            o.raw_status = format!("session {word}, no decision yet");
            o
        }
        _ => no_decision(v, now),
    }
}

/// What `current_state` reports while Veriff has no decision: the verification as it stands,
/// so nothing regresses (its required actions kept, its clock not moved past the anchors of
/// [`event_time`]). A terminal status is answered with `in_review`, which a terminal status
/// never moves to, so "no decision" cannot change one either.
pub(super) fn no_decision(v: &Verification, now: DateTime<Utc>) -> Observation {
    let (status, required_actions) = if v.status.is_terminal() {
        (Status::InReview, Vec::new())
    } else {
        (v.status, v.required_actions.clone())
    };
    Observation {
        status,
        raw_status: "no decision yet".into(),
        reason: None,
        required_actions,
        occurred_at: v.last_event_at.or_else(|| created_at(&v.id)).unwrap_or(now),
        decision_ref: None,
    }
}

/// The prefill Veriff's hosted page starts from: only what was given; `None` when nothing was.
pub(super) fn person(applicant: &Applicant) -> Option<Map<String, Value>> {
    let mut p = Map::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            p.insert(k.to_owned(), Value::String(v));
        }
    };
    put("firstName", applicant.first_name.clone());
    put("lastName", applicant.last_name.clone());
    put(
        "dateOfBirth",
        applicant
            .date_of_birth
            .map(|d| d.format("%Y-%m-%d").to_string()),
    );
    put("idNumber", applicant.personal_code.clone());
    (!p.is_empty()).then_some(p)
}

#[cfg(test)]
mod tests;
