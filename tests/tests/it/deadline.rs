//! One deadline per request: every provider call of a request (a token, a create, an update)
//! shares it, and when it runs out the client gets our JSON `504` well before Lambda's timeout,
//! with the customer free to try again.

use std::time::{Duration, Instant};

use integration_tests::*;
use serde_json::json;

async fn budgeted_stack(budget_ms: &str, per_call_ms: &str) -> local_stack::LocalStack {
    stack_with(
        [
            ("PROVIDER_BUDGET_MS".to_owned(), budget_ms.to_owned()),
            ("PROVIDER_TIMEOUT_MS".to_owned(), per_call_ms.to_owned()),
        ]
        .into(),
    )
    .await
}

#[tokio::test]
async fn a_provider_answering_after_30_seconds_is_our_504_within_the_budget_and_the_customer_can_retry(
) {
    let stack = budgeted_stack("1500", "60000").await;
    stack
        .emulator
        .delay_next("idv_create", Duration::from_secs(30), 1);
    let url = format!("{}/v1/verifications", stack.api_url);
    let body = json!({"customer_id": "cus_slow_provider"});
    let started = Instant::now();
    let slow = post_json(&url, &body).await;
    let took = started.elapsed();
    assert_eq!(slow.refusal(), (504, "provider_timeout"), "{}", slow.raw);
    assert!(took < Duration::from_secs(5), "answered in {took:?}");
    assert_eq!(verification_count(&stack).await, 0, "nothing half-written");
    let retried = post_json(&url, &body).await;
    assert_eq!(
        retried.status, 201,
        "the claim was released: {}",
        retried.raw
    );
}

#[tokio::test]
async fn the_calls_of_one_request_share_one_deadline() {
    // Each call alone is within its own timeout; together they exceed the request's budget.
    let stack = budgeted_stack("1500", "1200").await;
    stack
        .emulator
        .delay_next("token", Duration::from_millis(1000), 1);
    stack
        .emulator
        .delay_next("idv_create", Duration::from_millis(1000), 1);
    let started = Instant::now();
    let slow = post_json(
        &format!("{}/v1/verifications", stack.api_url),
        &json!({"customer_id": "cus_two_slow_calls"}),
    )
    .await;
    assert_eq!(slow.refusal(), (504, "provider_timeout"), "{}", slow.raw);
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_webhook_whose_re_fetch_outlasts_the_budget_is_a_quick_504_and_its_retry_applies() {
    let stack = budgeted_stack("1500", "60000").await;
    stack.emulator.set_auto_deliver(false);
    let v = create(&stack, "cus_slow_refetch").await;
    let page = click(v["verification_url"].as_str().unwrap(), "approve", None).await;
    assert!(page.status < 400, "{}", page.raw);
    wait_for_deliveries(&stack, 1).await;
    stack
        .emulator
        .delay_next("idv_get", Duration::from_secs(30), 1);
    let started = Instant::now();
    assert_eq!(stack.emulator.deliver(0).await, Some(504));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    deliver_until_acked(&stack, 0).await;
}
