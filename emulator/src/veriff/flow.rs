//! The session's state machine, driven by the hosted page, the test control and the tests: the
//! person starts (event `started`, a new attempt) and submits (event `submitted`); then a
//! decision (decision webhook). A resubmission sends the person back to the same page for a new
//! attempt, up to the limit; the next request to resubmit is a decline with reason code 539.
//! Webhooks are recorded with the body Veriff sends, and signed when they are sent.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use sha2::Sha256;

use super::model::reason_text;
use super::{
    Veriff, VeriffDecision, VeriffSession, VeriffStatus, LIMIT_REASON_CODE, MAX_RESUBMISSIONS,
};
use crate::delivery::Event;
use crate::util::{iso_millis, new_uuid};
use crate::{Emulator, Provider};

/// Lowercase hex HMAC-SHA256 of `message` with `secret`: a webhook's `X-HMAC-SIGNATURE` (over the
/// raw body), and what a decision request signs (the session id).
pub fn sign(secret: &[u8], message: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
    mac.update(message);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Why a step of a session was not taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VeriffRefusal {
    UnknownSession,
    /// The step makes no sense where the session is (for instance a decision on a final one).
    NotNow(VeriffStatus),
    /// `created`, `started` or `submitted` are no decisions.
    NotADecision(VeriffStatus),
}

impl std::fmt::Display for VeriffRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownSession => write!(f, "no such session"),
            Self::NotNow(s) => write!(f, "not possible while the session is {}", s.as_str()),
            Self::NotADecision(s) => write!(f, "{} is not a decision", s.as_str()),
        }
    }
}

/// What a new session is made of (the checked `verification` of a create request).
pub(super) struct NewSession {
    pub vendor_data: Option<String>,
    pub callback: Option<String>,
    pub person: Map<String, Value>,
}

/// A webhook to record, its body built under the lock.
struct Pending {
    kind: &'static str,
    session_id: String,
    event_id: String,
    /// The event's own time, when its body has one (a decision's `decisionTime`).
    time: Option<String>,
    body: String,
}

impl Emulator {
    /// A Veriff session as the emulator keeps it.
    pub fn veriff_session(&self, id: &str) -> Option<VeriffSession> {
        self.inner().providers.veriff.sessions.get(id).cloned()
    }

    /// Every Veriff session, oldest first.
    pub fn veriff_sessions(&self) -> Vec<VeriffSession> {
        let mut all: Vec<VeriffSession> = self
            .inner()
            .providers
            .veriff
            .sessions
            .values()
            .cloned()
            .collect();
        all.sort_by_key(|s| s.created);
        all
    }

    /// The id of the session whose hosted page is at `token`.
    pub(super) fn veriff_session_by_token(&self, token: &str) -> Option<String> {
        let inner = self.inner();
        let mut sessions = inner.providers.veriff.sessions.values();
        sessions.find(|s| s.token == token).map(|s| s.id.clone())
    }

    /// A new session, `created`.
    pub(super) fn veriff_open(&self, new: NewSession) -> VeriffSession {
        let session = VeriffSession {
            id: new_uuid(),
            token: ulid::Ulid::new().to_string().to_lowercase(),
            vendor_data: new.vendor_data,
            callback: new.callback,
            person: new.person,
            status: VeriffStatus::Created,
            attempts: Vec::new(),
            resubmissions: 0,
            submitted: false,
            decision: None,
            created: Utc::now(),
        };
        let mut inner = self.inner();
        inner.count("veriff_sessions");
        let sessions = &mut inner.providers.veriff.sessions;
        sessions.insert(session.id.clone(), session.clone());
        session
    }

    /// The person starts on the page (first, or again after a resubmission request): a new
    /// attempt, event `started`. Already started: nothing happens.
    pub async fn veriff_start(&self, id: &str) -> Result<(), VeriffRefusal> {
        let pending = {
            let mut inner = self.inner();
            let s = session_mut(&mut inner.providers.veriff.sessions, id)?;
            match s.status {
                VeriffStatus::Started => return Ok(()),
                VeriffStatus::Created | VeriffStatus::ResubmissionRequested => {
                    s.attempts.push(new_uuid());
                    s.status = VeriffStatus::Started;
                    progress_event(s)
                }
                other => return Err(VeriffRefusal::NotNow(other)),
            }
        };
        self.emit_veriff(pending).await;
        Ok(())
    }

    /// The person submits the attempt (starting it first if they had not): event `submitted`.
    /// Already submitted: nothing happens.
    pub async fn veriff_submit(&self, id: &str) -> Result<(), VeriffRefusal> {
        let status = self
            .veriff_session(id)
            .ok_or(VeriffRefusal::UnknownSession)?
            .status;
        if matches!(
            status,
            VeriffStatus::Created | VeriffStatus::ResubmissionRequested
        ) {
            self.veriff_start(id).await?;
        }
        let pending = {
            let mut inner = self.inner();
            let s = session_mut(&mut inner.providers.veriff.sessions, id)?;
            match s.status {
                VeriffStatus::Submitted => return Ok(()),
                VeriffStatus::Started => {
                    s.status = VeriffStatus::Submitted;
                    s.submitted = true;
                    progress_event(s)
                }
                other => return Err(VeriffRefusal::NotNow(other)),
            }
        };
        self.emit_veriff(pending).await;
        Ok(())
    }

    /// A decision, as Veriff's checks, its operator, or time would make it; the decision webhook
    /// carries it and the decision endpoint answers it from now on. Returns the decision made.
    ///
    /// `approved`, `declined`, `resubmission_requested` and `review` need a submitted attempt:
    /// a session not there yet is started and submitted first (with their events). From `review`
    /// an operator approves, declines or asks to resubmit. `expired` and `abandoned` end a
    /// session that is not decided. A decline or resubmission without a reason code gets the
    /// first of [`super::DECLINE_REASONS`] / [`super::RESUBMISSION_REASONS`]; a known code
    /// without a reason gets its text. Past [`MAX_RESUBMISSIONS`], asking to resubmit declines
    /// with [`LIMIT_REASON_CODE`].
    pub async fn veriff_decide(
        &self,
        id: &str,
        status: VeriffStatus,
        reason_code: Option<u16>,
        reason: Option<&str>,
    ) -> Result<VeriffDecision, VeriffRefusal> {
        if !status.is_decision() {
            return Err(VeriffRefusal::NotADecision(status));
        }
        let current = self
            .veriff_session(id)
            .ok_or(VeriffRefusal::UnknownSession)?
            .status;
        let needs_submission = !matches!(status, VeriffStatus::Expired | VeriffStatus::Abandoned);
        if needs_submission
            && matches!(
                current,
                VeriffStatus::Created | VeriffStatus::Started | VeriffStatus::ResubmissionRequested
            )
        {
            self.veriff_submit(id).await?;
        }
        let (decision, pending) = {
            let mut inner = self.inner();
            let s = session_mut(&mut inner.providers.veriff.sessions, id)?;
            record_decision(s, status, reason_code, reason)?
        };
        self.emit_veriff(pending).await;
        Ok(decision)
    }

    /// Record a Veriff webhook and send it the way the settings say.
    async fn emit_veriff(&self, p: Pending) {
        self.emit(Veriff::NAME, chrono::Duration::milliseconds(1), |at| {
            Event {
                event_id: p.event_id,
                event_type: p.kind.to_owned(),
                resource_id: p.session_id,
                created_utc: p.time.unwrap_or_else(|| iso_millis(at)),
                body: p.body,
            }
        })
        .await;
    }
}

fn session_mut<'a>(
    sessions: &'a mut std::collections::HashMap<String, VeriffSession>,
    id: &str,
) -> Result<&'a mut VeriffSession, VeriffRefusal> {
    sessions.get_mut(id).ok_or(VeriffRefusal::UnknownSession)
}

/// The event webhook for where the session now is (`started` or `submitted`).
fn progress_event(s: &VeriffSession) -> Pending {
    let attempt = s.attempt_id().unwrap_or_default().to_owned();
    let action = s.status.as_str();
    let body = json!({
        "id": s.id,
        "attemptId": attempt,
        "feature": "selfid",
        "code": s.status.code(),
        "action": action,
        "vendorData": s.vendor_data,
        "endUserId": null,
    });
    Pending {
        kind: action,
        session_id: s.id.clone(),
        event_id: format!("{}|{attempt}|{action}", s.id),
        time: None,
        body: body.to_string(),
    }
}

/// Whether a session where it is can take `decision`.
fn allowed(from: VeriffStatus, decision: VeriffStatus) -> bool {
    use VeriffStatus as S;
    match decision {
        S::Approved | S::Declined | S::ResubmissionRequested => {
            matches!(from, S::Submitted | S::Review)
        }
        S::Review => from == S::Submitted,
        S::Expired | S::Abandoned => matches!(
            from,
            S::Created | S::Started | S::Submitted | S::ResubmissionRequested
        ),
        S::Created | S::Started | S::Submitted => false,
    }
}

/// The decision's status, reason code and reason, defaults and the resubmission limit applied.
fn settle(
    s: &VeriffSession,
    status: VeriffStatus,
    reason_code: Option<u16>,
    reason: Option<&str>,
) -> (VeriffStatus, Option<u16>, Option<String>) {
    let default_code = match status {
        VeriffStatus::ResubmissionRequested if s.resubmissions >= MAX_RESUBMISSIONS => {
            return (
                VeriffStatus::Declined,
                Some(LIMIT_REASON_CODE),
                reason_text(LIMIT_REASON_CODE).map(str::to_owned),
            );
        }
        VeriffStatus::Declined => super::DECLINE_REASONS[0].0,
        VeriffStatus::ResubmissionRequested => super::RESUBMISSION_REASONS[0].0,
        _ => return (status, None, None),
    };
    let code = match (reason_code, reason) {
        (Some(c), _) => Some(c),
        (None, Some(_)) => None,
        (None, None) => Some(default_code),
    };
    let text = reason
        .map(str::to_owned)
        .or_else(|| code.and_then(reason_text).map(str::to_owned));
    (status, code, text)
}

/// Apply a decision to the session and build its webhook.
fn record_decision(
    s: &mut VeriffSession,
    status: VeriffStatus,
    reason_code: Option<u16>,
    reason: Option<&str>,
) -> Result<(VeriffDecision, Pending), VeriffRefusal> {
    if !allowed(s.status, status) {
        return Err(VeriffRefusal::NotNow(s.status));
    }
    let (status, reason_code, reason) = settle(s, status, reason_code, reason);
    if status == VeriffStatus::ResubmissionRequested {
        s.resubmissions += 1;
    }
    if s.attempts.is_empty() {
        // Ended before the person ever started: the decision still names an attempt.
        s.attempts.push(new_uuid());
    }
    let decision = VeriffDecision {
        attempt_id: s.attempt_id().unwrap_or_default().to_owned(),
        status,
        reason_code,
        reason,
        time: decision_time(s.decision.as_ref().map(|d| d.time)),
    };
    s.status = status;
    s.decision = Some(decision.clone());
    let verification = s.verification_json();
    let time = iso_millis(decision.time);
    let body = json!({
        "status": "success",
        "verification": verification,
        "technicalData": {"ip": "192.0.2.10"},
    });
    let pending = Pending {
        kind: status.as_str(),
        session_id: s.id.clone(),
        event_id: format!(
            "{}|{}|{}|{time}",
            s.id,
            decision.attempt_id,
            status.as_str()
        ),
        time: Some(time),
        body: body.to_string(),
    };
    Ok((decision, pending))
}

/// Now, to the millisecond, strictly after the session's previous decision.
fn decision_time(previous: Option<DateTime<Utc>>) -> DateTime<Utc> {
    let now = Utc::now();
    let now = DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now);
    match previous {
        Some(p) if now <= p => p + chrono::Duration::milliseconds(1),
        _ => now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_message_is_signed_should_match_the_known_vector() {
        // The textbook example of HMAC-SHA256.
        assert_eq!(
            sign(b"key", b"The quick brown fox jumps over the lazy dog"),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }

    #[test]
    fn when_decisions_come_in_the_same_millisecond_should_still_increase() {
        let first = decision_time(None);
        let second = decision_time(Some(first));
        assert!(second > first);
        assert_eq!(second.timestamp_subsec_nanos() % 1_000_000, 0);
    }

    #[test]
    fn when_a_decision_is_asked_should_allow_it_only_from_where_veriff_would() {
        use VeriffStatus as S;
        assert!(allowed(S::Submitted, S::Approved) && allowed(S::Review, S::Declined));
        assert!(!allowed(S::Review, S::Review) && !allowed(S::Started, S::Approved));
        assert!(allowed(S::Created, S::Expired) && !allowed(S::Review, S::Abandoned));
        assert!(!allowed(S::Approved, S::Declined) && !allowed(S::Submitted, S::Started));
    }
}
