//! The adapter against a stand-in for Veriff's API: what it sends to open a session, and what
//! it makes of webhooks and of the decision endpoint's answers.

use chrono::Duration;
use http::HeaderMap;
use serde_json::json;

use super::fake::{config, http, serve, FakeVeriff};
use super::*;
use crate::domain::{CustomerId, NewVerification};

const SESSION: &str = "f04bdb47-d3be-4b28-b028-a652feb060b5";

fn adapter(fake: &FakeVeriff) -> VeriffAdapter {
    VeriffAdapter::new(config(&fake.base), http())
}

fn decision_answer(status: &str, session: &str, attempt: &str, at: &str) -> (u16, String) {
    let body = json!({"status": "success", "verification": {"id": session, "attemptId": attempt,
        "vendorData": "ver_01JD6Z3Q9P8X7W6V5T4S3R2Q1P", "status": status, "code": 9001,
        "reason": null, "reasonCode": null, "decisionTime": at,
        "person": {"firstName": "Ada"}, "document": {"number": "X1"}}});
    (200, body.to_string())
}

fn no_decision() -> (u16, String) {
    (
        200,
        json!({"status": "success", "verification": null}).to_string(),
    )
}

async fn interpret(a: &VeriffAdapter, body: &Value) -> Result<Interpreted, InterpretError> {
    let headers = HeaderMap::new();
    let bytes = body.to_string().into_bytes();
    a.interpret(&RawWebhook {
        headers: &headers,
        body: &bytes,
        source_ip: None,
    })
    .await
}

fn event(e: Result<Interpreted, InterpretError>) -> ProviderEvent {
    match e {
        Ok(Interpreted::Event(e)) => *e,
        other => panic!("an event, not {other:?}"),
    }
}

fn decision_webhook(status: &str, session: &str) -> Value {
    json!({"status": "success", "verification": {"id": session, "attemptId": "a-1",
        "vendorData": "ver_01JD6Z3Q9P8X7W6V5T4S3R2Q1P", "status": status, "code": 9102,
        "decisionTime": "2026-01-02T03:04:05.678Z"}, "technicalData": {"ip": "203.0.113.9"}})
}

fn progress_webhook(action: &str, attempt: &str) -> Value {
    json!({"id": SESSION, "attemptId": attempt, "feature": "selfid", "code": 7001,
           "action": action, "vendorData": "ver_01JD6Z3Q9P8X7W6V5T4S3R2Q1P", "endUserId": null})
}

#[tokio::test]
async fn a_session_is_opened_with_our_id_the_return_url_and_only_the_given_prefill() {
    let created = json!({"status": "success", "verification": {"id": SESSION,
        "url": "https://alchemy.veriff.com/v/token", "vendorData": "x", "host": "h",
        "status": "created", "sessionToken": "token"}})
    .to_string();
    let fake = serve(vec![(201, created.clone()), (201, created)]);
    let a = adapter(&fake);
    let id = VerificationId::generate();
    let customer = CustomerId::parse("cus_1").unwrap();
    let applicant = Applicant {
        first_name: Some("Ada".into()),
        personal_code: Some("38001010000".into()),
        email: Some("ada@example.com".into()),
        ..Applicant::default()
    };
    let back: url::Url = "https://shop.example/done".parse().unwrap();
    let started = a
        .start(StartRequest {
            verification_id: &id,
            customer_id: &customer,
            applicant: &applicant,
            return_url: Some(&back),
            request_key: None,
        })
        .await
        .unwrap();
    assert_eq!(started.provider_ref, SESSION);
    assert_eq!(
        started.verification_url.as_deref(),
        Some("https://alchemy.veriff.com/v/token")
    );
    assert_eq!(started.initial.status, Status::Pending);
    let bare = Applicant::default();
    a.start(StartRequest {
        verification_id: &id,
        customer_id: &customer,
        applicant: &bare,
        return_url: None,
        request_key: None,
    })
    .await
    .unwrap();
    let seen = fake.seen();
    let sent: Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!(
        sent,
        json!({"verification": {"callback": "https://shop.example/done", "vendorData": id.as_str(),
               "person": {"firstName": "Ada", "idNumber": "38001010000"}}})
    );
    let sent: Value = serde_json::from_slice(&seen[1].body).unwrap();
    assert_eq!(sent, json!({"verification": {"vendorData": id.as_str()}}));
}

#[tokio::test]
async fn a_decision_webhook_applies_what_veriff_answers_not_what_the_body_says() {
    let fake = serve(vec![decision_answer(
        "approved",
        SESSION,
        "a-2",
        "2026-01-02T04:00:00Z",
    )]);
    let e = event(interpret(&adapter(&fake), &decision_webhook("declined", SESSION)).await);
    assert_eq!(e.observation.status, Status::Approved);
    assert_eq!(e.observation.decision_ref.as_deref(), Some("a-2"));
    assert_eq!(e.occurred_at.to_rfc3339(), "2026-01-02T04:00:00+00:00");
    assert_eq!(
        e.event_id,
        format!("{SESSION}|a-1|declined|2026-01-02T03:04:05.678Z")
    );
    assert_eq!(
        e.locator,
        Locator::Ours(VerificationId::parse("ver_01JD6Z3Q9P8X7W6V5T4S3R2Q1P").unwrap())
    );
    assert_eq!(e.provider_ref.as_deref(), Some(SESSION));
    assert!(!e.audit.to_string().contains("203.0.113.9"));
    let seen = fake.seen();
    assert_eq!(
        seen[0].path,
        format!("/veriff/v1/sessions/{SESSION}/decision")
    );
}

#[tokio::test]
async fn a_decision_of_another_session_is_a_borrowed_verdict_and_malformed() {
    let other = "0b7c3c9e-0000-4000-8000-000000000000";
    let fake = serve(vec![decision_answer(
        "approved",
        other,
        "a-9",
        "2026-01-02T04:00:00Z",
    )]);
    let got = interpret(&adapter(&fake), &decision_webhook("approved", SESSION)).await;
    assert!(matches!(got, Err(InterpretError::Malformed(_))), "{got:?}");
    fake.seen();
}

#[tokio::test]
async fn no_decision_yet_is_ignored_and_an_unknown_session_malformed_an_outage_retried() {
    let fake = serve(vec![no_decision(), (404, "{}".into()), (503, "".into())]);
    let a = adapter(&fake);
    let body = decision_webhook("approved", SESSION);
    let got = interpret(&a, &body).await;
    assert!(matches!(got, Ok(Interpreted::Ignored { .. })), "{got:?}");
    let got = interpret(&a, &body).await;
    assert!(matches!(got, Err(InterpretError::Malformed(_))), "{got:?}");
    let got = interpret(&a, &body).await;
    assert!(
        matches!(
            got,
            Err(InterpretError::Provider(ProviderError::Unavailable(_)))
        ),
        "{got:?}"
    );
    fake.seen();
}

#[tokio::test]
async fn progress_events_sort_before_their_decision_and_after_an_earlier_attempts() {
    let created =
        mapping::created_at(&VerificationId::parse("ver_01JD6Z3Q9P8X7W6V5T4S3R2Q1P").unwrap())
            .unwrap();
    let fake = serve(vec![
        no_decision(),
        no_decision(),
        decision_answer(
            "resubmission_requested",
            SESSION,
            "a-1",
            "2026-01-02T04:00:00Z",
        ),
        decision_answer(
            "resubmission_requested",
            SESSION,
            "a-1",
            "2026-01-02T04:00:00Z",
        ),
    ]);
    let a = adapter(&fake);
    let started = event(interpret(&a, &progress_webhook("started", "a-1")).await);
    let submitted = event(interpret(&a, &progress_webhook("submitted", "a-1")).await);
    assert_eq!(started.observation.status, Status::InProgress);
    assert_eq!(submitted.observation.status, Status::InReview);
    assert_eq!(started.occurred_at, created + Duration::milliseconds(1));
    assert_eq!(submitted.occurred_at, created + Duration::milliseconds(2));
    assert_eq!(started.event_id, format!("{SESSION}|a-1|started"));
    let late = event(interpret(&a, &progress_webhook("submitted", "a-1")).await);
    assert_eq!(
        late.occurred_at,
        created + Duration::milliseconds(2),
        "before its decision"
    );
    let retry = event(interpret(&a, &progress_webhook("started", "a-2")).await);
    assert_eq!(
        retry.occurred_at.to_rfc3339(),
        "2026-01-02T04:00:00.001+00:00"
    );
    fake.seen();
}

#[tokio::test]
async fn other_actions_are_ignored_without_asking_veriff() {
    let fake = serve(Vec::new());
    let got = interpret(&adapter(&fake), &progress_webhook("feedback", "a-1")).await;
    assert!(matches!(got, Ok(Interpreted::Ignored { .. })), "{got:?}");
    assert!(fake.seen().is_empty());
}

fn verification(status: Status) -> Verification {
    let initial = Observation {
        status,
        raw_status: "x".into(),
        reason: None,
        required_actions: Vec::new(),
        occurred_at: Utc::now(),
        decision_ref: None,
    };
    Verification::start(
        NewVerification {
            id: VerificationId::generate(),
            customer_id: CustomerId::parse("cus_1").unwrap(),
            provider: NAME,
            provider_ref: Some(SESSION.into()),
            verification_url: None,
            metadata: Default::default(),
            initial,
        },
        Utc::now(),
    )
}

fn attempts(statuses: &[&str]) -> (u16, String) {
    let list: Vec<_> = statuses
        .iter()
        .enumerate()
        .map(|(i, s)| json!({"id": format!("a-{i}"), "status": s, "createdTime": "2026-01-02T03:00:00Z"}))
        .collect();
    (
        200,
        json!({"status": "success", "verifications": list}).to_string(),
    )
}

#[tokio::test]
async fn current_state_is_the_decision_or_the_verification_as_it_stands() {
    let fake = serve(vec![
        decision_answer("declined", SESSION, "a-1", "2026-01-02T04:00:00Z"),
        no_decision(),
        attempts(&["created"]),
        no_decision(),
        decision_answer("approved", "someone-else", "a-1", "2026-01-02T04:00:00Z"),
        (404, "{}".into()),
    ]);
    let a = adapter(&fake);
    let now = Utc::now();
    let o = a
        .current_state(&verification(Status::InReview), now)
        .await
        .unwrap();
    assert_eq!(o.status, Status::Rejected);
    let o = a
        .current_state(&verification(Status::InProgress), now)
        .await
        .unwrap();
    assert_eq!(
        (o.status, o.raw_status.as_str()),
        (Status::InProgress, "no decision yet"),
        "an attempt only created keeps the verification as it stands"
    );
    let o = a
        .current_state(&verification(Status::Approved), now)
        .await
        .unwrap();
    assert_eq!(
        o.status,
        Status::InReview,
        "cannot change a terminal status"
    );
    let e = a
        .current_state(&verification(Status::InReview), now)
        .await
        .unwrap_err();
    assert!(matches!(e, ProviderError::Unavailable(_)), "{e:?}");
    let e = a
        .current_state(&verification(Status::InReview), now)
        .await
        .unwrap_err();
    assert!(matches!(e, ProviderError::Rejected { .. }), "{e:?}");
    let seen = fake.seen();
    assert!(seen[2]
        .path
        .ends_with(&format!("/v1/sessions/{SESSION}/attempts")));
    assert_eq!(
        seen[2].header("x-hmac-signature"),
        Some(sign(b"local-veriff-shared-secret", SESSION.as_bytes()).as_str())
    );
    let mut none = verification(Status::Pending);
    none.provider_ref = None;
    let e = a.current_state(&none, now).await.unwrap_err();
    assert!(matches!(e, ProviderError::Unavailable(_)), "{e:?}");
}

#[tokio::test]
async fn an_undecided_session_reports_how_far_the_person_got_from_its_attempts() {
    let fake = serve(vec![
        no_decision(),
        attempts(&["resubmission_requested", "started"]),
        no_decision(),
        attempts(&["submitted"]),
    ]);
    let a = adapter(&fake);
    let now = Utc::now();
    let pending = verification(Status::Pending);
    let o = a.current_state(&pending, now).await.unwrap();
    assert_eq!(o.status, Status::InProgress);
    let o = a.current_state(&pending, now).await.unwrap();
    assert_eq!(o.status, Status::InReview);
    // Dated as the `submitted` event would be, so that event, delivered later, changes nothing
    // and the decision (dated by Veriff) still follows.
    let created = mapping::created_at(&pending.id).unwrap();
    assert_eq!(o.occurred_at, created + Duration::milliseconds(2));
    fake.seen();
}
