//! Each emulator control, set over its HTTP endpoint, and its effect on what our webhook endpoint
//! receives.

use std::time::Duration;

use integration_tests::*;
use local_stack::LocalStack;
use serde_json::{json, Value};

async fn configure(stack: &LocalStack, settings: Value) {
    let a = post_json(
        &format!("{}/_emulator/config", stack.emulator_url),
        &settings,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.raw);
}

/// The deliveries as the emulator's HTTP listing shows them.
async fn listed(stack: &LocalStack) -> Vec<Value> {
    get(&format!("{}/_emulator/deliveries", stack.emulator_url))
        .await
        .body["deliveries"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn duplicate_sends_every_webhook_twice_and_each_applies_once() {
    let stack = stack().await;
    configure(&stack, json!({"duplicate_webhooks": true})).await;
    let v = create(&stack, "cus_ctl_dup").await;
    click(v["verification_url"].as_str().unwrap(), "approve", None).await;
    let deliveries = listed(&stack).await;
    assert_eq!(deliveries.len(), 5);
    for d in &deliveries {
        let statuses: Vec<_> = d["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["status"].clone())
            .collect();
        assert_eq!(statuses, [json!(200), json!(200)], "{d}");
    }
    let fetched = fetch(&stack, v["id"].as_str().unwrap()).await;
    assert_eq!(
        statuses(&fetched),
        ["pending", "in_progress", "in_review", "approved"]
    );
}

#[tokio::test]
async fn reorder_sends_each_webhook_after_the_next_one_and_the_newest_still_wins() {
    let stack = stack().await;
    configure(&stack, json!({"reorder_webhooks": true})).await;
    let bond = post_json(
        &format!("{}/v1/verifications", stack.api_url),
        &json!({"customer_id": "cus_ctl_reorder", "provider": "bond", "applicant": bond_applicant("000-00-0000")}),
    )
    .await;
    assert_eq!(bond.status, 201);
    // under_review is held; the decision arrives, goes first, then the held one.
    let mut bond_id = None;
    for _ in 0..100 {
        if let Some(d) = listed(&stack).await.first() {
            bond_id = Some(d["resource_id"].as_str().unwrap().to_owned());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    post_json(
        &format!("{}/bond/api/v0.1/simulate/kyc-pass", stack.emulator_url),
        &json!({"customer_id": bond_id.unwrap()}),
    )
    .await;
    let v = status_becomes(&stack, bond.body["id"].as_str().unwrap(), "approved").await;
    let deliveries = listed(&stack).await;
    let first_sent = |d: &Value| d["attempts"][0]["at"].as_str().unwrap().to_owned();
    assert!(
        first_sent(&deliveries[1]) <= first_sent(&deliveries[0]),
        "the newer event went first"
    );
    assert_eq!(
        statuses(&v),
        ["pending", "approved"],
        "the late under_review changed nothing"
    );
}

#[tokio::test]
async fn delay_sends_webhooks_late() {
    let stack = stack().await;
    configure(&stack, json!({"webhook_delay_ms": 400})).await;
    let v = create(&stack, "cus_ctl_delay").await;
    click(v["verification_url"].as_str().unwrap(), "approve", None).await;
    let id = v["id"].as_str().unwrap();
    assert_eq!(
        fetch(&stack, id).await["status"],
        "pending",
        "nothing has arrived yet"
    );
    assert!(listed(&stack)
        .await
        .iter()
        .all(|d| d["attempts"].as_array().unwrap().is_empty()));
    status_becomes(&stack, id, "approved").await;
}

#[tokio::test]
async fn drop_records_webhooks_and_never_sends_them() {
    let stack = stack().await;
    configure(&stack, json!({"drop_webhooks": true})).await;
    let v = create(&stack, "cus_ctl_drop").await;
    click(v["verification_url"].as_str().unwrap(), "approve", None).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let deliveries = listed(&stack).await;
    assert_eq!(deliveries.len(), 5);
    assert!(deliveries
        .iter()
        .all(|d| d["attempts"].as_array().unwrap().is_empty()));
    assert_eq!(
        fetch(&stack, v["id"].as_str().unwrap()).await["status"],
        "pending"
    );
    // Delivering one by hand afterwards is a provider's late retry.
    let a = post_json(
        &format!("{}/_emulator/deliveries/4/deliver", stack.emulator_url),
        &json!({}),
    )
    .await;
    assert_eq!(a.body["status"], 200);
    assert_eq!(
        fetch(&stack, v["id"].as_str().unwrap()).await["status"],
        "approved"
    );
}

#[tokio::test]
async fn a_default_outcome_completes_every_new_verification_without_a_page() {
    let stack = stack().await;
    configure(&stack, json!({"default_outcome": "reject"})).await;
    let v = create(&stack, "cus_ctl_default").await;
    let done = status_becomes(&stack, v["id"].as_str().unwrap(), "rejected").await;
    assert_eq!(done["decision"]["provider_reason"], "PoorPhotoQuality");
    configure(&stack, json!({"default_outcome": null})).await;
    let w = create(&stack, "cus_ctl_default_off").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        fetch(&stack, w["id"].as_str().unwrap()).await["status"],
        "pending"
    );
}

#[tokio::test]
async fn api_faults_and_slow_answers_reach_our_callers_as_provider_errors() {
    let stack = stack_with([("PROVIDER_TIMEOUT_MS".to_owned(), "600".to_owned())].into()).await;
    let url = format!("{}/v1/verifications", stack.api_url);
    post_json(
        &format!("{}/_emulator/faults", stack.emulator_url),
        &json!({"endpoint": "idv_create", "status": 503}),
    )
    .await;
    assert_eq!(
        post_json(&url, &json!({"customer_id": "cus_ctl_fault"}))
            .await
            .refusal(),
        (502, "provider_unavailable")
    );
    post_json(
        &format!("{}/_emulator/delays", stack.emulator_url),
        &json!({"endpoint": "idv_create", "delay_ms": 1000}),
    )
    .await;
    assert_eq!(
        post_json(&url, &json!({"customer_id": "cus_ctl_fault"}))
            .await
            .refusal(),
        (504, "provider_timeout")
    );
    // Slow but within the timeout: it works, just late.
    post_json(
        &format!("{}/_emulator/delays", stack.emulator_url),
        &json!({"endpoint": "idv_create", "delay_ms": 200}),
    )
    .await;
    let started = std::time::Instant::now();
    assert_eq!(
        post_json(&url, &json!({"customer_id": "cus_ctl_fault"}))
            .await
            .status,
        201
    );
    assert!(started.elapsed() >= Duration::from_millis(200));
    let bad = post_json(
        &format!("{}/_emulator/config", stack.emulator_url),
        &json!({"colour": "blue"}),
    )
    .await;
    assert!(bad.status >= 400, "unknown settings are refused");
}
