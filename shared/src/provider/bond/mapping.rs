//! Bond's words in our status model (DESIGN §3): event names and KYC status words become an
//! [`Observation`], documents and re-entry requests become required actions, and Bond's times
//! and field names are read back into ours.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

use crate::domain::{Observation, Reason, RequiredAction, Status};

/// Bond's field names → ours, for mapping its schema errors back.
const FIELD_MAP: &[(&str, &str)] = &[
    ("ssn", "applicant.ssn"),
    ("phone", "applicant.phone"),
    ("phone_country_code", "applicant.phone_country_code"),
    ("email", "applicant.email"),
    ("ip", "applicant.ip"),
    ("first_name", "applicant.first_name"),
    ("middle_name", "applicant.middle_name"),
    ("last_name", "applicant.last_name"),
    ("dob", "applicant.date_of_birth"),
    ("addresses", "applicant.address"),
    ("street", "applicant.address.street"),
    ("street2", "applicant.address.street2"),
    ("city", "applicant.address.city"),
    ("state", "applicant.address.state"),
    ("zip_code", "applicant.address.zip_code"),
    ("country", "applicant.address.country"),
];

pub(super) fn our_field(bond: &str) -> String {
    FIELD_MAP.iter().find(|(b, _)| *b == bond).map_or_else(
        || format!("applicant.{bond}"),
        |(_, ours)| (*ours).to_owned(),
    )
}

/// Bond's `occurred_at`, leniently: RFC 3339, a date and time joined by `-` instead of `T`
/// (a documented example), or no offset (UTC).
pub fn parse_occurred_at(raw: &str) -> Option<DateTime<Utc>> {
    let rfc = |s: &str| {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|d| d.with_timezone(&Utc))
    };
    rfc(raw)
        .or_else(|| {
            let mut fixed = raw.to_owned();
            (fixed.len() > 10 && matches!(fixed.as_bytes()[10], b'-' | b' '))
                .then(|| {
                    fixed.replace_range(10..11, "T");
                    fixed
                })
                .and_then(|f| rfc(&f))
        })
        .or_else(|| {
            NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
}

/// What a Bond event means in our model. `None` for events we do not act on.
pub(super) fn observe(event: &str, body: &Value, at: DateTime<Utc>) -> Option<Observation> {
    let base = |status: Status| Observation {
        status,
        raw_status: event.to_owned(),
        reason: None,
        required_actions: Vec::new(),
        occurred_at: at,
        decision_ref: None,
    };
    let name = event.strip_prefix("kyc.verification.")?;
    Some(match name {
        "success" | "passed" => base(Status::Approved),
        "failure" | "failed" => Observation {
            reason: Some(Reason {
                code: "identity_not_verified".into(),
                provider_reason: event.to_owned(),
                retryable: false,
            }),
            ..base(Status::Rejected)
        },
        "error" | "timeout" => Observation {
            reason: Some(Reason {
                code: format!("provider_{name}"),
                provider_reason: event.to_owned(),
                retryable: true,
            }),
            ..base(Status::Failed)
        },
        "under_review" => base(Status::InReview),
        "document_required" | "documents_required" | "reenter_information" => Observation {
            required_actions: required_actions(body),
            ..base(Status::ActionRequired)
        },
        _ => return None,
    })
}

/// `documents` (with upload links) and `incorrect_information` as required actions.
fn required_actions(body: &Value) -> Vec<RequiredAction> {
    let mut actions = Vec::new();
    for doc in body
        .get("documents")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if doc
            .get("status")
            .and_then(Value::as_str)
            .is_some_and(|s| s != "required")
        {
            continue;
        }
        let kind = ["document_type", "type", "name"]
            .iter()
            .find_map(|k| doc.get(*k).and_then(Value::as_str))
            .unwrap_or("document");
        actions.push(RequiredAction {
            kind: "upload_document".into(),
            detail: Some(kind.to_owned()),
            upload_url: doc
                .get("upload_link")
                .and_then(Value::as_str)
                .map(str::to_owned),
        });
    }
    match body.get("incorrect_information") {
        Some(Value::Array(items)) => {
            for item in items {
                let detail = item
                    .as_str()
                    .map(str::to_owned)
                    .or_else(|| item.get("field").and_then(Value::as_str).map(str::to_owned));
                actions.push(RequiredAction {
                    kind: "reenter_information".into(),
                    detail,
                    upload_url: None,
                });
            }
        }
        Some(Value::String(s)) => {
            actions.push(RequiredAction {
                kind: "reenter_information".into(),
                detail: Some(s.clone()),
                upload_url: None,
            });
        }
        _ => {}
    }
    actions
}

/// Bond's KYC state (`GET …/verification-kyc`, or its `kyc_status` callback) in our model, as
/// of `at`: `submitted` is in progress (Bond is checking), no word yet is pending, every other
/// word stands for its event.
pub(super) fn observe_state(body: &Value, at: DateTime<Utc>) -> Observation {
    let word = body.get("kyc_status").and_then(Value::as_str);
    let plain = |status: Status| Observation {
        status,
        raw_status: String::new(),
        reason: None,
        required_actions: Vec::new(),
        occurred_at: at,
        decision_ref: None,
    };
    let mut o = match word {
        Some("submitted") => plain(Status::InProgress),
        Some(w) => event_of_status(w)
            .and_then(|e| observe(e, body, at))
            .unwrap_or_else(|| plain(Status::Pending)),
        None => plain(Status::Pending),
    };
    o.raw_status = format!("KYC {}", word.unwrap_or("not started"));
    o
}

/// The event a KYC status word (`GET …/verification-kyc`) stands for; `None` while undecided.
pub(super) fn event_of_status(word: &str) -> Option<&'static str> {
    Some(match word {
        "passed" | "success" => "kyc.verification.success",
        "failed" | "failure" => "kyc.verification.failure",
        "under_review" => "kyc.verification.under_review",
        "document_required" | "reenter_information" => "kyc.verification.document_required",
        "timeout" => "kyc.verification.timeout",
        "error" => "kyc.verification.error",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn at() -> DateTime<Utc> {
        Utc::now()
    }

    #[test]
    fn occurred_at_is_parsed_leniently_including_the_malformed_doc_example() {
        let good = parse_occurred_at("2021-10-20T10:27:20.154286+00:00").unwrap();
        assert_eq!(good.to_rfc3339(), "2021-10-20T10:27:20.154286+00:00");
        let odd = parse_occurred_at("2021-02-02-00:50:58.484840+00:00").unwrap();
        assert_eq!(odd.to_rfc3339(), "2021-02-02T00:50:58.484840+00:00");
        assert!(parse_occurred_at("2021-02-02T00:50:58").is_some());
        assert!(parse_occurred_at("yesterday").is_none());
    }

    #[test]
    fn all_seven_events_and_the_doc_typos_map_onto_our_model() {
        let cases = [
            ("kyc.verification.success", Status::Approved),
            ("kyc.verification.passed", Status::Approved),
            ("kyc.verification.failure", Status::Rejected),
            ("kyc.verification.failed", Status::Rejected),
            ("kyc.verification.error", Status::Failed),
            ("kyc.verification.timeout", Status::Failed),
            ("kyc.verification.document_required", Status::ActionRequired),
            (
                "kyc.verification.documents_required",
                Status::ActionRequired,
            ),
            ("kyc.verification.under_review", Status::InReview),
            (
                "kyc.verification.reenter_information",
                Status::ActionRequired,
            ),
        ];
        for (event, status) in cases {
            assert_eq!(
                observe(event, &json!({}), at()).unwrap().status,
                status,
                "{event}"
            );
        }
        assert!(observe("kyc.verification.kba", &json!({}), at()).is_none());
        assert!(observe("customer.updated", &json!({}), at()).is_none());
        let timeout = observe("kyc.verification.timeout", &json!({}), at()).unwrap();
        assert!(timeout.reason.unwrap().retryable);
    }

    #[test]
    fn documents_and_incorrect_information_become_required_actions() {
        let body = json!({
            "documents": [
                {"document_type": "government_id", "upload_link": "https://bond.example/upload/1", "status": "required"},
                {"document_type": "proof_of_address", "upload_link": "https://bond.example/upload/2", "status": "submitted"}
            ],
            "incorrect_information": ["dob"]
        });
        let o = observe("kyc.verification.document_required", &body, at()).unwrap();
        assert_eq!(o.required_actions.len(), 2);
        assert_eq!(
            o.required_actions[0].detail.as_deref(),
            Some("government_id")
        );
        assert_eq!(
            o.required_actions[0].upload_url.as_deref(),
            Some("https://bond.example/upload/1")
        );
        assert_eq!(o.required_actions[1].kind, "reenter_information");
    }

    #[test]
    fn a_kyc_state_of_submitted_is_in_progress_and_no_word_is_pending() {
        let at = at();
        let s = observe_state(&json!({"kyc_status": "submitted"}), at);
        assert_eq!(
            (s.status, s.raw_status.as_str()),
            (Status::InProgress, "KYC submitted")
        );
        assert_eq!(
            observe_state(&json!({"kyc_status": null}), at).status,
            Status::Pending
        );
        assert_eq!(observe_state(&json!({}), at).raw_status, "KYC not started");
        assert_eq!(
            observe_state(&json!({"kyc_status": "passed"}), at).status,
            Status::Approved
        );
        assert_eq!(
            observe_state(&json!({"kyc_status": "kba"}), at).status,
            Status::Pending
        );
    }

    #[test]
    fn status_words_stand_for_their_events_and_unknown_words_for_none() {
        assert_eq!(event_of_status("passed"), Some("kyc.verification.success"));
        assert_eq!(
            event_of_status("reenter_information"),
            Some("kyc.verification.document_required")
        );
        assert_eq!(event_of_status("submitted"), None);
    }
}
