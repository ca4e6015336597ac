//! Veriff beyond the conformance suite: resubmission inside the same session (action required
//! with its reason, up to 9 times, the 10th decline automatic and final), and the verdict read
//! back from Veriff whatever a signed body says.

use emulator::veriff::VeriffStatus;
use integration_tests::*;
use local_stack::LocalStack;
use serde_json::{json, Value};

async fn veriff_create(stack: &LocalStack, customer: &str) -> Value {
    let a = post_json(
        &format!("{}/v1/verifications", stack.api_url),
        &json!({"customer_id": customer, "provider": "veriff", "applicant": {"first_name": "Ada", "last_name": "King"}}),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.raw);
    a.body
}

async fn page(verification: &Value, action: &str, reason: Option<&str>) {
    let a = click(
        verification["verification_url"].as_str().unwrap(),
        action,
        reason,
    )
    .await;
    assert_eq!(a.status, 303, "{action}: {}", a.raw);
}

#[tokio::test]
async fn a_resubmission_is_action_required_with_its_reason_and_the_same_page_carries_on() {
    let stack = stack().await;
    let v = veriff_create(&stack, "cus_veriff_resubmit").await;
    let id = v["id"].as_str().unwrap();
    page(&v, "start", None).await;
    page(&v, "submit", None).await;
    page(&v, "resubmit", Some("204")).await;
    let asked = status_becomes(&stack, id, "action_required").await;
    assert_eq!(asked["required_actions"][0]["kind"], "resubmit");
    assert!(asked["required_actions"][0]["detail"]
        .as_str()
        .is_some_and(|d| !d.is_empty()));
    assert_eq!(
        asked["verification_url"], v["verification_url"],
        "the same session's page"
    );
    page(&v, "start", None).await;
    page(&v, "submit", None).await;
    page(&v, "approve", None).await;
    let done = status_becomes(&stack, id, "approved").await;
    assert_eq!(
        statuses(&done),
        [
            "pending",
            "in_progress",
            "in_review",
            "action_required",
            "in_progress",
            "in_review",
            "approved"
        ]
    );
    assert_eq!(
        stack.emulator.counters()["veriff_sessions"],
        1,
        "one session throughout"
    );
}

#[tokio::test]
async fn the_tenth_resubmission_is_declined_automatically_and_that_decision_is_final() {
    let stack = stack().await;
    let v = veriff_create(&stack, "cus_veriff_limit").await;
    let id = v["id"].as_str().unwrap();
    let session = stack.emulator.veriff_sessions()[0].id.clone();
    for round in 1..=9 {
        let d = stack
            .emulator
            .veriff_decide(
                &session,
                VeriffStatus::ResubmissionRequested,
                Some(204),
                None,
            )
            .await
            .unwrap();
        assert_eq!(
            d.status,
            VeriffStatus::ResubmissionRequested,
            "round {round}"
        );
        status_becomes(&stack, id, "action_required").await;
    }
    let tenth = stack
        .emulator
        .veriff_decide(
            &session,
            VeriffStatus::ResubmissionRequested,
            Some(204),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        (tenth.status, tenth.reason_code),
        (VeriffStatus::Declined, Some(539))
    );
    let done = status_becomes(&stack, id, "rejected").await;
    assert_eq!(done["decision"]["reason_code"], "veriff_539");
    assert_eq!(
        done["verification_url"],
        Value::Null,
        "the page is no use any more"
    );
    // Final: the page offers nothing more, Veriff takes no further decision, ours stays.
    let finished = get(v["verification_url"].as_str().unwrap()).await;
    assert!(
        finished.raw.contains("Verification finished") && !finished.raw.contains("id=\"start\""),
        "{}",
        finished.raw
    );
    let more = stack
        .emulator
        .veriff_decide(&session, VeriffStatus::Approved, None, None)
        .await;
    assert!(more.is_err(), "a declined session takes no other decision");
    assert_eq!(fetch(&stack, id).await["status"], "rejected");
}
