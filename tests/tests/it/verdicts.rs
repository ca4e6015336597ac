//! Security hardening of webhook verdicts, through the emulator: a verdict belongs to its own
//! verification, an unsigned event time from the future is not believed, a decision is never
//! moved back by a late "processed", and a redelivered event costs no provider call.

use integration_tests::*;
use local_stack::LocalStack;
use serde_json::{json, Value};

async fn send_webhook(stack: &LocalStack, body: &Value) -> Answer {
    let c = stack.emulator.config().providers.ondato;
    let req = client()
        .post(format!("{}/v1/webhooks/ondato", stack.api_url))
        .header(
            "authorization",
            basic(&c.webhook_username, &c.webhook_password),
        )
        .json(body);
    answer_to(reqwest::Method::POST, req.send().await.unwrap()).await
}

/// An envelope with valid content for this stack's application, dated `created`.
fn envelope(kind: &str, created: &str, payload: Value) -> Value {
    json!({
        "id": ulid::Ulid::new().to_string(),
        "applicationId": emulator::ondato::Settings::default().application_id,
        "createdUtc": created,
        "type": kind,
        "payload": payload,
    })
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339()
}

fn id_of(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

fn kyc_of(stack: &LocalStack, idv: &str) -> String {
    stack
        .emulator
        .idv(idv)
        .and_then(|i| i.kyc_id)
        .expect("an identification once begun")
}

/// The provider GETs a webhook costs: the IDV and the identification.
fn refetches(stack: &LocalStack) -> (usize, usize) {
    let c = stack.emulator.counters();
    let n = |k: &str| c.get(k).copied().unwrap_or(0);
    (n("idv_get"), n("kyc_get"))
}

#[tokio::test]
async fn a_verdict_naming_another_verifications_identification_is_not_applied() {
    let stack = stack().await;
    let victim = create(&stack, "cus_victim").await;
    let attacker = create(&stack, "cus_attacker").await;
    let victim_idv = idv_of(&victim);
    let attacker_idv = idv_of(&attacker);
    click(
        attacker["verification_url"].as_str().unwrap(),
        "approve",
        None,
    )
    .await;
    status_becomes(&stack, id_of(&attacker), "approved").await;
    let attacker_kyc = kyc_of(&stack, &attacker_idv);

    // The victim has only started; the forged verdict names the victim's IDV and the
    // attacker's approved identification, with the right webhook credentials.
    stack.emulator.begin(&victim_idv).await;
    let before = fetch(&stack, id_of(&victim)).await;
    assert_eq!(before["status"], "in_progress");
    let forged = envelope(
        "KycIdentification.Approved",
        &now(),
        json!({"id": attacker_kyc, "identityVerificationId": victim_idv, "status": "Approved"}),
    );
    let a = send_webhook(&stack, &forged).await;
    assert_eq!(
        (a.status, &a.body["outcome"]),
        (200, &json!("unprocessable")),
        "{}",
        a.raw
    );
    let after = fetch(&stack, id_of(&victim)).await;
    for field in ["status", "decision", "history"] {
        assert_eq!(after[field], before[field], "{field} changed");
    }

    // The same lie before the victim's IDV links any identification: still not applied.
    let fresh = create(&stack, "cus_victim_fresh").await;
    let forged = envelope(
        "KycIdentification.Approved",
        &now(),
        json!({"id": attacker_kyc, "identityVerificationId": idv_of(&fresh), "status": "Approved"}),
    );
    let a = send_webhook(&stack, &forged).await;
    assert_ne!(a.body["outcome"], "changed", "{}", a.raw);
    assert_eq!(fetch(&stack, id_of(&fresh)).await["status"], "pending");

    // The genuine flow still approves the victim.
    click(
        victim["verification_url"].as_str().unwrap(),
        "approve",
        None,
    )
    .await;
    status_becomes(&stack, id_of(&victim), "approved").await;
}

#[tokio::test]
async fn an_event_dated_far_in_the_future_does_not_block_later_events() {
    let stack = stack().await;
    let v = create(&stack, "cus_future").await;
    let idv = idv_of(&v);
    stack.emulator.set_auto_deliver(false);
    stack.emulator.begin(&idv).await;
    // Authentic credentials, a body dated in 2100: the status it reports is applied, its date
    // is not believed.
    let future = envelope(
        "IdentityVerification.StatusChanged",
        "2100-01-01T00:00:00Z",
        json!({"id": idv, "status": "InProgress"}),
    );
    let a = send_webhook(&stack, &future).await;
    assert_eq!(
        (a.status, &a.body["outcome"]),
        (200, &json!("changed")),
        "{}",
        a.raw
    );
    let fetched = fetch(&stack, id_of(&v)).await;
    assert_eq!(fetched["status"], "in_progress");
    let year = fetched["history"][1]["at"].as_str().unwrap().to_owned();
    assert!(
        !year.starts_with("2100"),
        "the future date was kept: {year}"
    );

    // Later genuine events still change the status.
    stack.emulator.set_auto_deliver(true);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    stack
        .emulator
        .finish(&idv, emulator::Outcome::Approve, None)
        .await;
    status_becomes(&stack, id_of(&v), "approved").await;
}

#[tokio::test]
async fn a_late_processed_after_a_decision_does_not_move_it_back() {
    let stack = stack().await;
    for (customer, action, decided) in [
        ("cus_late_ok", "approve", "approved"),
        ("cus_late_no", "reject", "rejected"),
    ] {
        let v = create(&stack, customer).await;
        let idv = idv_of(&v);
        click(v["verification_url"].as_str().unwrap(), action, None).await;
        let before = status_becomes(&stack, id_of(&v), decided).await;
        let kyc = kyc_of(&stack, &idv);
        // Newer than every event applied so far, so only the rules keep the decision.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        for late in [
            envelope(
                "KycIdentification.Processed",
                &now(),
                json!({"id": kyc, "identityVerificationId": idv, "status": "Awaiting"}),
            ),
            envelope(
                "IdentityVerification.StatusChanged",
                &now(),
                json!({"id": idv, "status": "Completed"}),
            ),
        ] {
            let a = send_webhook(&stack, &late).await;
            assert_eq!(a.status, 200, "{}", a.raw);
            assert_ne!(a.body["outcome"], "changed", "{}", a.raw);
        }
        let after = fetch(&stack, id_of(&v)).await;
        for field in ["status", "decision", "history"] {
            assert_eq!(after[field], before[field], "{customer}: {field} changed");
        }
    }
}

#[tokio::test]
async fn a_redelivered_event_costs_no_provider_call() {
    let stack = stack().await;
    let v = create(&stack, "cus_redelivered").await;
    click(v["verification_url"].as_str().unwrap(), "approve", None).await;
    let before = status_becomes(&stack, id_of(&v), "approved").await;
    let n = stack.emulator.deliveries().len();
    assert!(n > 0);
    let calls = refetches(&stack);
    for seq in 0..n {
        assert_eq!(stack.emulator.deliver(seq).await, Some(200));
    }
    assert_eq!(
        refetches(&stack),
        calls,
        "a duplicate costs no provider GET"
    );
    let after = fetch(&stack, id_of(&v)).await;
    assert_eq!(after["history"], before["history"]);
}
