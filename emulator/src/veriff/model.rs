//! Veriff's sessions as the emulator keeps them, the reason codes a tester can pick, and the JSON
//! of a session's decision (the decision endpoint's and the decision webhook's `verification`).

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::util::iso_millis;

/// How many times one session may be sent back for resubmission; the next request to resubmit
/// is a decline with [`LIMIT_REASON_CODE`].
pub const MAX_RESUBMISSIONS: u32 = 9;

/// The reason code of the automatic decline once the resubmissions are used up.
pub const LIMIT_REASON_CODE: u16 = 539;
const LIMIT_REASON: &str = "Resubmission limit exceeded";

/// Decline reasons a tester can pick: `(reasonCode, reason)`. The first is the default.
pub const DECLINE_REASONS: &[(u16, &str)] = &[
    (102, "Suspected document tampering"),
    (105, "Suspicious behaviour"),
    (201, "Document not recognised"),
];

/// Reasons to ask for a resubmission: `(reasonCode, reason)`. The first is the default.
pub const RESUBMISSION_REASONS: &[(u16, &str)] = &[
    (204, "Poor image quality"),
    (203, "Full document not visible"),
    (205, "Document damaged"),
];

/// The reason text of a known code.
pub(super) fn reason_text(code: u16) -> Option<&'static str> {
    if code == LIMIT_REASON_CODE {
        return Some(LIMIT_REASON);
    }
    DECLINE_REASONS
        .iter()
        .chain(RESUBMISSION_REASONS)
        .find(|(c, _)| *c == code)
        .map(|(_, text)| *text)
}

/// Where a session is: `created`, the person's progress (`started`, `submitted`), or a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VeriffStatus {
    Created,
    Started,
    Submitted,
    Approved,
    Declined,
    ResubmissionRequested,
    Review,
    Expired,
    Abandoned,
}

impl VeriffStatus {
    /// Veriff's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Started => "started",
            Self::Submitted => "submitted",
            Self::Approved => "approved",
            Self::Declined => "declined",
            Self::ResubmissionRequested => "resubmission_requested",
            Self::Review => "review",
            Self::Expired => "expired",
            Self::Abandoned => "abandoned",
        }
    }

    pub fn parse(word: &str) -> Option<Self> {
        [
            Self::Created,
            Self::Started,
            Self::Submitted,
            Self::Approved,
            Self::Declined,
            Self::ResubmissionRequested,
            Self::Review,
            Self::Expired,
            Self::Abandoned,
        ]
        .into_iter()
        .find(|s| s.as_str() == word)
    }

    /// The code Veriff sends with it (none for `created`, which is never sent). Expired and
    /// abandoned share 9104, review is 9121, as Veriff's status table has them.
    pub fn code(self) -> Option<u16> {
        match self {
            Self::Created => None,
            Self::Started => Some(7001),
            Self::Submitted => Some(7002),
            Self::Approved => Some(9001),
            Self::Declined => Some(9102),
            Self::ResubmissionRequested => Some(9103),
            Self::Expired | Self::Abandoned => Some(9104),
            Self::Review => Some(9121),
        }
    }

    /// Sent by the decision webhook (rather than the event webhook, or not at all).
    pub fn is_decision(self) -> bool {
        !matches!(self, Self::Created | Self::Started | Self::Submitted)
    }

    /// Nothing happens to the session any more.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Approved | Self::Declined | Self::Expired | Self::Abandoned
        )
    }
}

/// A decision on one attempt of a session.
#[derive(Clone, Debug)]
pub struct VeriffDecision {
    pub attempt_id: String,
    pub status: VeriffStatus,
    pub reason_code: Option<u16>,
    pub reason: Option<String>,
    pub time: DateTime<Utc>,
}

/// A verification session as the emulator keeps it.
#[derive(Clone, Debug)]
pub struct VeriffSession {
    pub id: String,
    /// The last segment of the hosted page's URL.
    pub token: String,
    pub vendor_data: Option<String>,
    pub callback: Option<String>,
    /// The prefill as it was sent (`verification.person`).
    pub person: Map<String, Value>,
    pub status: VeriffStatus,
    /// Every attempt's id, oldest first: one per start, the first and each after a resubmission.
    pub attempts: Vec<String>,
    /// How many times a resubmission was asked for.
    pub resubmissions: u32,
    /// Whether some attempt was submitted (then the decision shows a person and a document).
    pub submitted: bool,
    /// The latest decision: what the decision endpoint answers.
    pub decision: Option<VeriffDecision>,
    pub created: DateTime<Utc>,
}

impl VeriffSession {
    /// The current attempt, if the person ever started.
    pub fn attempt_id(&self) -> Option<&str> {
        self.attempts.last().map(String::as_str)
    }

    /// The attempts as `GET …/attempts` lists them: the earlier ones ended with a resubmission
    /// request, the latest has the session's status (`created` while none was started).
    pub fn attempts_json(&self) -> Value {
        let created = self.created.to_rfc3339();
        let last = self.attempts.len().saturating_sub(1);
        let list: Vec<Value> = self
            .attempts
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let status = if i == last {
                    self.status.as_str()
                } else {
                    VeriffStatus::ResubmissionRequested.as_str()
                };
                json!({"id": id, "status": status, "createdTime": created})
            })
            .collect();
        Value::Array(list)
    }

    /// The hosted page's path under the emulator's base.
    pub fn page_path(&self) -> String {
        format!("{}/v/{}", super::BASE, self.token)
    }

    /// The decision endpoint's and the decision webhook's `verification`; `null` before any.
    pub fn verification_json(&self) -> Value {
        let Some(d) = &self.decision else {
            return Value::Null;
        };
        json!({
            "id": self.id,
            "attemptId": d.attempt_id,
            "vendorData": self.vendor_data,
            "endUserId": null,
            "status": d.status.as_str(),
            "code": d.status.code(),
            "reason": d.reason,
            "reasonCode": d.reason_code,
            "decisionTime": iso_millis(d.time),
            "acceptanceTime": iso_millis(self.created),
            "person": self.person_json(),
            "document": self.document_json(),
        })
    }

    /// The person as read from the document: the prefill, or a placeholder; nothing before a
    /// submission.
    fn person_json(&self) -> Value {
        let field = |key: &str, default: &str| {
            let value = self.person.get(key).and_then(Value::as_str);
            self.submitted
                .then(|| value.unwrap_or(default).to_owned())
                .map_or(Value::Null, Value::String)
        };
        json!({
            "firstName": field("firstName", "John").as_str().map(str::to_uppercase),
            "lastName": field("lastName", "Doe").as_str().map(str::to_uppercase),
            "dateOfBirth": field("dateOfBirth", "1990-01-01"),
            "idNumber": field("idNumber", "38001010000"),
            "gender": null,
            "nationality": null,
            "addresses": if self.submitted { super::kyc_data::addresses() } else { json!([]) },
        })
    }

    fn document_json(&self) -> Value {
        if !self.submitted {
            return json!({"number": null, "type": null, "country": null, "validUntil": null});
        }
        super::kyc_data::document(&self.id)
    }

    /// What the test control shows of the session.
    pub(super) fn summary_json(&self, base_url: &str) -> Value {
        json!({
            "id": self.id,
            "sessionToken": self.token,
            "url": format!("{base_url}{}", self.page_path()),
            "vendorData": self.vendor_data,
            "status": self.status.as_str(),
            "attempts": self.attempts,
            "resubmissions": self.resubmissions,
            "decision": self.verification_json(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> VeriffSession {
        let t = DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        VeriffSession {
            id: "s-1".into(),
            token: "tok".into(),
            vendor_data: Some("ver_1".into()),
            callback: None,
            person: json!({"firstName": "Ada"}).as_object().cloned().unwrap(),
            status: VeriffStatus::Declined,
            attempts: vec!["a-1".into()],
            resubmissions: 0,
            submitted: true,
            decision: Some(VeriffDecision {
                attempt_id: "a-1".into(),
                status: VeriffStatus::Declined,
                reason_code: Some(102),
                reason: reason_text(102).map(str::to_owned),
                time: t,
            }),
            created: t,
        }
    }

    #[test]
    fn when_words_are_parsed_should_round_trip_and_carry_veriffs_codes() {
        for word in ["created", "started", "submitted", "approved", "declined"] {
            assert_eq!(VeriffStatus::parse(word).unwrap().as_str(), word);
        }
        let resubmit = VeriffStatus::parse("resubmission_requested").unwrap();
        assert_eq!(resubmit.code(), Some(9103));
        assert_eq!(VeriffStatus::Review.code(), Some(9121));
        assert_eq!(VeriffStatus::Abandoned.code(), Some(9104));
        assert!(VeriffStatus::parse("finished").is_none());
        assert!(!VeriffStatus::Submitted.is_decision() && VeriffStatus::Review.is_decision());
        assert!(!VeriffStatus::Review.is_final() && VeriffStatus::Expired.is_final());
    }

    #[test]
    fn when_a_decision_is_shown_should_use_veriffs_field_names() {
        let v = session().verification_json();
        assert_eq!(v["id"], "s-1");
        assert_eq!(v["attemptId"], "a-1");
        assert_eq!(v["vendorData"], "ver_1");
        assert_eq!(
            (v["status"].clone(), v["code"].clone()),
            (json!("declined"), json!(9102))
        );
        assert_eq!(v["reasonCode"], 102);
        assert_eq!(v["reason"], "Suspected document tampering");
        assert_eq!(v["decisionTime"], "2024-05-01T10:00:00.000Z");
        assert_eq!(v["person"]["firstName"], "ADA");
        assert_eq!(v["person"]["lastName"], "DOE");
        assert_eq!(v["document"]["type"], "ID_CARD");
    }

    #[test]
    fn when_nothing_was_submitted_or_decided_should_show_no_person_and_no_decision() {
        let mut s = session();
        s.submitted = false;
        let v = s.verification_json();
        assert_eq!(v["person"]["firstName"], Value::Null);
        assert_eq!(v["document"]["number"], Value::Null);
        s.decision = None;
        assert_eq!(s.verification_json(), Value::Null);
        assert_eq!(reason_text(539), Some("Resubmission limit exceeded"));
        assert_eq!(reason_text(999), None);
    }
}
