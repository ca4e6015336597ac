use chrono::TimeZone;

use super::*;
use crate::domain::{CustomerId, NewVerification, Source, Transition};

fn decision(status: &str, reason: Option<&str>, reason_code: Option<i64>) -> Decision {
    Decision {
        id: "f04bdb47-d3be-4b28-b028-a652feb060b5".into(),
        attempt_id: Some("attempt-1".into()),
        vendor_data: Some("ver_01JD6Z3Q9P8X7W6V5T4S3R2Q1P".into()),
        status: status.into(),
        code: Some(9102),
        reason: reason.map(Into::into),
        reason_code,
        decision_time: Some("2026-01-02T03:04:05.678Z".into()),
    }
}

/// A decision without a time: dated when observed.
fn undated(status: &str) -> Decision {
    Decision {
        decision_time: None,
        ..decision(status, Some("x"), Some(201))
    }
}

fn at(s: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_767_000_000 + s, 0).unwrap()
}

#[test]
fn every_status_word_maps_onto_our_model_and_unknown_words_onto_nothing() {
    let cases = [
        ("started", Status::InProgress),
        ("submitted", Status::InReview),
        ("approved", Status::Approved),
        ("declined", Status::Rejected),
        ("resubmission_requested", Status::ActionRequired),
        ("review", Status::InReview),
        ("expired", Status::Expired),
        ("abandoned", Status::Canceled),
    ];
    for (word, status) in cases {
        assert_eq!(status_of(word), Some(status), "{word}");
        let o = observe_decision(&decision(word, None, None), at(0)).unwrap();
        assert_eq!(o.status, status, "{word}");
    }
    for word in ["created", "Approved", "", "9001"] {
        assert_eq!(status_of(word), None, "{word}");
        assert!(observe_decision(&decision(word, None, None), at(0)).is_none());
    }
    assert_eq!(
        observe_event("started", Some(7001), at(0)).unwrap().status,
        Status::InProgress
    );
    assert_eq!(
        observe_event("submitted", Some(7002), at(0))
            .unwrap()
            .status,
        Status::InReview
    );
    assert!(observe_event("approved", Some(9001), at(0)).is_none());
}

#[test]
fn raw_status_keeps_the_word_the_code_and_the_reason_code() {
    let o = observe_decision(&decision("declined", Some("x"), Some(102)), at(0)).unwrap();
    assert_eq!(o.raw_status, "session declined (9102, reasonCode 102)");
    let o = observe_event("started", Some(7001), at(0)).unwrap();
    assert_eq!(o.raw_status, "session started (7001)");
    assert_eq!(raw_status("approved", None, None), "session approved");
    assert_eq!(
        raw_status("declined", None, Some(201)),
        "session declined (reasonCode 201)"
    );
}

#[test]
fn a_decline_keeps_its_reason_code_and_text_and_fraud_is_final() {
    let o = observe_decision(
        &decision("declined", Some("Suspected document tampering"), Some(102)),
        at(0),
    )
    .unwrap();
    let r = o.reason.unwrap();
    assert_eq!(
        (r.code.as_str(), r.provider_reason.as_str(), r.retryable),
        ("veriff_102", "Suspected document tampering", false)
    );
    let r = observe_decision(
        &decision("declined", Some("Document not recognised"), Some(201)),
        at(0),
    )
    .unwrap()
    .reason
    .unwrap();
    assert_eq!((r.code.as_str(), r.retryable), ("veriff_201", true));
}

#[test]
fn every_fraud_code_is_final_and_the_resubmission_limit_is_not() {
    for code in FINAL_REASON_CODES {
        assert!(!retryable(Some(*code)), "{code}");
    }
    for code in [107, 111, 120, 201, 502, 539] {
        assert!(retryable(Some(code)), "{code}");
    }
    assert!(retryable(None));
    let o = observe_decision(
        &decision("declined", Some("Resubmission limit exceeded"), Some(539)),
        at(0),
    )
    .unwrap();
    assert_eq!(o.status, Status::Rejected);
    let r = o.reason.unwrap();
    assert_eq!((r.code.as_str(), r.retryable), ("veriff_539", true));
}

#[test]
fn a_decline_without_a_code_is_named_by_its_text_and_without_either_has_no_reason() {
    let r = observe_decision(&decision("declined", Some("  Known fraud!  "), None), at(0))
        .unwrap()
        .reason
        .unwrap();
    assert_eq!(
        (r.code.as_str(), r.provider_reason.as_str(), r.retryable),
        ("known_fraud", "Known fraud!", true)
    );
    let r = observe_decision(&decision("declined", None, Some(105)), at(0))
        .unwrap()
        .reason
        .unwrap();
    assert_eq!(
        (r.code.as_str(), r.provider_reason.as_str()),
        ("veriff_105", "105")
    );
    for text in [None, Some(""), Some("  "), Some("!!")] {
        let o = observe_decision(&decision("declined", text, None), at(0)).unwrap();
        assert_eq!(o.reason, None, "{text:?}");
    }
    assert_eq!(
        snake_case("Velocity/abuse duplicated ID"),
        "velocity_abuse_duplicated_id"
    );
}

#[test]
fn a_resubmission_request_is_one_required_action_on_the_same_page() {
    let o = observe_decision(
        &decision(
            "resubmission_requested",
            Some("Video and/or photos missing"),
            Some(201),
        ),
        at(0),
    )
    .unwrap();
    assert_eq!(o.status, Status::ActionRequired);
    assert_eq!(
        o.required_actions,
        [RequiredAction {
            kind: "resubmit".into(),
            detail: Some("Video and/or photos missing".into()),
            upload_url: None,
        }]
    );
    assert_eq!(o.reason, None, "not an ended attempt");
    let o = observe_decision(&decision("resubmission_requested", None, Some(204)), at(0)).unwrap();
    assert_eq!(o.required_actions[0].detail.as_deref(), Some("204"));
}

#[test]
fn approvals_and_reviews_carry_no_reason_ended_sessions_keep_one_when_given() {
    for word in ["approved", "review"] {
        let o = observe_decision(&decision(word, Some("x"), Some(102)), at(0)).unwrap();
        assert_eq!(o.reason, None, "{word}");
        assert!(o.required_actions.is_empty());
    }
    let o = observe_decision(&decision("expired", None, None), at(0)).unwrap();
    assert_eq!((o.status, o.reason), (Status::Expired, None));
    let o = observe_decision(
        &decision("abandoned", Some("Session abandoned"), None),
        at(0),
    )
    .unwrap();
    assert_eq!(o.reason.unwrap().code, "session_abandoned");
}

#[test]
fn a_decision_is_dated_by_its_decision_time_and_names_its_attempt() {
    let o = observe_decision(&decision("approved", None, None), at(0)).unwrap();
    assert_eq!(o.occurred_at.to_rfc3339(), "2026-01-02T03:04:05.678+00:00");
    assert_eq!(o.decision_ref.as_deref(), Some("attempt-1"));
    let mut undated = decision("approved", None, None);
    undated.decision_time = Some("yesterday".into());
    assert_eq!(
        observe_decision(&undated, at(7)).unwrap().occurred_at,
        at(7)
    );
}

#[test]
fn the_creation_time_is_read_from_our_ulid() {
    let id = VerificationId::parse("ver_01JD6Z3Q9P8X7W6V5T4S3R2Q1P").unwrap();
    let ulid = ulid::Ulid::from_string("01JD6Z3Q9P8X7W6V5T4S3R2Q1P").unwrap();
    let t = created_at(&id).unwrap();
    assert_eq!(t.timestamp_millis() as u64, ulid.timestamp_ms());
    let fresh = VerificationId::generate();
    let age = Utc::now() - created_at(&fresh).unwrap();
    assert!(
        age >= Duration::zero() && age < Duration::seconds(5),
        "{age}"
    );
}

#[test]
fn progress_events_sort_before_the_decision_of_their_attempt_and_after_an_earlier_one() {
    let created = Some(at(0));
    let mut d = decision("resubmission_requested", None, Some(201));
    d.decision_time = Some(at(100).to_rfc3339());
    let decided = at(100);
    // No decision yet, or the decision of the same attempt: just after the creation.
    for latest in [None, Some(&d)] {
        let started = event_time("started", Some("attempt-1"), latest, created, at(500));
        let submitted = event_time("submitted", Some("attempt-1"), latest, created, at(500));
        assert!(at(0) < started && started < submitted && submitted < decided);
    }
    // The retry after a resubmission request: after that decision, in order.
    let started = event_time("started", Some("attempt-2"), Some(&d), created, at(500));
    let submitted = event_time("submitted", Some("attempt-2"), Some(&d), created, at(500));
    assert!(decided < started && started < submitted && submitted < at(500));
    // Attempts unknown: the safe lower bound; no anchor at all: the time of receipt.
    assert!(event_time("started", None, Some(&d), created, at(500)) < decided);
    assert_eq!(
        event_time("started", None, None, None, at(500)),
        at(500) + Duration::milliseconds(1)
    );
}

fn verification() -> Verification {
    let id = VerificationId::generate();
    let initial = Observation {
        status: Status::Pending,
        raw_status: "session created".into(),
        reason: None,
        required_actions: Vec::new(),
        occurred_at: Utc::now(),
        decision_ref: None,
    };
    Verification::start(
        NewVerification {
            id,
            customer_id: CustomerId::parse("cus_1").unwrap(),
            provider: crate::provider::veriff::NAME,
            provider_ref: Some("session-1".into()),
            verification_url: None,
            metadata: Default::default(),
            initial,
        },
        Utc::now(),
    )
}

#[test]
fn no_decision_changes_no_status_and_leaves_room_for_the_events() {
    let steps = |created: DateTime<Utc>| {
        [
            observe_event("started", Some(7001), created + Duration::milliseconds(1)),
            observe_event("submitted", Some(7002), created + Duration::milliseconds(2)),
            observe_decision(&undated("resubmission_requested"), Utc::now()),
            observe_decision(&undated("approved"), Utc::now()),
        ]
    };
    for n in 0..=4 {
        let mut v = verification();
        let created = created_at(&v.id).unwrap();
        for step in steps(created).iter().take(n).flatten() {
            v.apply(step, Source::Webhook, None, Utc::now());
        }
        let before = (v.status, v.required_actions.clone(), v.decision.clone());
        let last = v.last_event_at;
        let t = v.apply(
            &no_decision(&v, Utc::now()),
            Source::Reconcile,
            None,
            Utc::now(),
        );
        assert!(
            matches!(t, Transition::Refreshed | Transition::Sticky),
            "{n}: {t:?}"
        );
        assert_eq!(
            before,
            (v.status, v.required_actions.clone(), v.decision.clone()),
            "{n}"
        );
        assert_eq!(
            v.last_event_at,
            last.or(Some(created)),
            "{n}: the clock stays put"
        );
    }
    // A reconciler run before the person opened the page leaves their events applicable.
    let mut v = verification();
    let created = created_at(&v.id).unwrap();
    v.apply(
        &no_decision(&v, Utc::now()),
        Source::Reconcile,
        None,
        Utc::now(),
    );
    let started =
        observe_event("started", Some(7001), created + Duration::milliseconds(1)).unwrap();
    assert!(matches!(
        v.apply(&started, Source::Webhook, None, Utc::now()),
        Transition::Changed { .. }
    ));
}

#[test]
fn the_prefill_holds_only_what_was_given() {
    assert!(person(&Applicant::default()).is_none());
    let applicant = Applicant {
        first_name: Some("Ada".into()),
        date_of_birth: chrono::NaiveDate::from_ymd_opt(1990, 12, 10),
        personal_code: Some("38001010000".into()),
        email: Some("ada@example.com".into()),
        ..Applicant::default()
    };
    let p = person(&applicant).unwrap();
    assert_eq!(
        Value::Object(p),
        serde_json::json!({"firstName": "Ada", "dateOfBirth": "1990-12-10", "idNumber": "38001010000"})
    );
}
