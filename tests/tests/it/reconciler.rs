//! The reconciler under load and failure: a verification whose provider keeps failing is backed
//! off and never starves the healthy ones; a run with little time left defers what it cannot
//! take and the next run finishes it; a run where everything failed is an error (the alarm); and
//! a thousand events into one verification keep its item small.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use integration_tests::*;
use local_stack::LocalStack;
use serde_json::{json, Value};

fn quiet_env(extra: &[(&str, &str)]) -> HashMap<String, String> {
    let mut env: HashMap<String, String> =
        [("RECONCILE_QUIET_SECONDS".to_owned(), "0".to_owned())].into();
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    env
}

/// One reconciler run as Lambda invokes it, with the invocation's deadline `left` from now.
async fn reconcile_within(
    stack: &LocalStack,
    left: Option<Duration>,
) -> Result<Value, shared::ApiError> {
    let payload: Value = serde_json::from_str(SCHEDULE_EVENT).expect("the schedule fixture");
    let mut context = lambda_runtime::Context::default();
    context.request_id = format!("reconcile-{}", ulid::Ulid::new());
    if let Some(left) = left {
        let deadline = Utc::now() + chrono::Duration::from_std(left).unwrap();
        context.deadline = u64::try_from(deadline.timestamp_millis()).unwrap();
    }
    reconciler::handle(
        &stack.wiring.reconciler(),
        lambda_runtime::LambdaEvent::new(payload, context),
    )
    .await
}

fn attr_s<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

fn attr_n(item: &HashMap<String, AttributeValue>, name: &str) -> Option<i64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
}

/// An item's size as DynamoDB counts it: attribute names plus values (strings and numbers by
/// their length, maps and lists by their content plus 3 bytes, 1 byte per element overhead).
fn item_bytes(item: &HashMap<String, AttributeValue>) -> usize {
    fn value(v: &AttributeValue) -> usize {
        match v {
            AttributeValue::S(s) | AttributeValue::N(s) => s.len(),
            AttributeValue::M(m) => {
                3 + m.iter().map(|(k, v)| k.len() + value(v) + 1).sum::<usize>()
            }
            AttributeValue::L(l) => 3 + l.iter().map(|v| value(v) + 1).sum::<usize>(),
            AttributeValue::Ss(l) | AttributeValue::Ns(l) => l.iter().map(String::len).sum(),
            _ => 1,
        }
    }
    item.iter().map(|(k, v)| k.len() + value(v)).sum()
}

/// An Ondato verification decided at the provider while every webhook is dropped.
async fn approved_without_webhook(stack: &LocalStack, customer: &str) -> String {
    let v = create(stack, customer).await;
    click(v["verification_url"].as_str().unwrap(), "approve", None).await;
    v["id"].as_str().unwrap().to_owned()
}

/// A Bond verification (its events dropped), under review.
async fn bond_under_review(stack: &LocalStack, customer: &str) -> String {
    let a = post_json(
        &format!("{}/v1/verifications", stack.api_url),
        &json!({"customer_id": customer, "provider": "bond", "applicant": bond_applicant("000-00-0000")}),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.raw);
    a.body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_verification_whose_provider_keeps_failing_is_backed_off_and_the_healthy_ones_are_repaired(
) {
    let stack = stack_with(quiet_env(&[])).await;
    stack.emulator.set_auto_deliver(false);
    let mut healthy = Vec::new();
    for i in 0..5 {
        healthy.push(approved_without_webhook(&stack, &format!("cus_healthy_{i}")).await);
    }
    let failing = bond_under_review(&stack, "cus_failing").await;
    let before = fetch(&stack, &failing).await["status"].clone();
    let version = attr_n(&verification_item(&stack, &failing).await, "version").unwrap();
    // From now on the failing verification's provider answers every status read with a 500.
    stack.emulator.fail_next("bond_kyc_status", 500, 100);

    let report = reconcile_within(&stack, Some(Duration::from_secs(300)))
        .await
        .expect("some failures among successes are not an error");
    assert_eq!(
        report,
        json!({"checked": 6, "changed": 5, "failed": 1, "deferred": 0})
    );
    for id in &healthy {
        assert_eq!(fetch(&stack, id).await["status"], "approved", "{id}");
    }
    let item = verification_item(&stack, &failing).await;
    assert_eq!(attr_n(&item, "reconcile_failures"), Some(1));
    let after: DateTime<Utc> = attr_s(&item, "reconcile_after")
        .and_then(|t| t.parse().ok())
        .expect("reconcile_after");
    let wait = after - Utc::now();
    assert!(
        wait > chrono::Duration::minutes(14) && wait <= chrono::Duration::minutes(15),
        "backed off for {wait}"
    );
    assert_eq!(
        attr_n(&item, "version"),
        Some(version + 1),
        "the failure write is versioned"
    );
    assert_eq!(
        fetch(&stack, &failing).await["status"],
        before,
        "its state untouched"
    );

    // The next run skips it: the healthy ones left the open index, the failing one waits.
    let calls = stack.emulator.counters().get("bond_kyc_status").copied();
    let next = reconcile_within(&stack, Some(Duration::from_secs(300)))
        .await
        .unwrap();
    assert_eq!(
        next,
        json!({"checked": 0, "changed": 0, "failed": 0, "deferred": 0})
    );
    assert_eq!(
        stack.emulator.counters().get("bond_kyc_status").copied(),
        calls,
        "no provider call for a backed-off verification"
    );
    assert_eq!(stack.wiring.denied(), Vec::<String>::new());
}

#[tokio::test]
async fn a_run_where_every_verification_failed_is_an_error_and_an_answer_clears_the_backoff() {
    let stack = stack_with(quiet_env(&[])).await;
    stack.emulator.set_auto_deliver(false);
    let id = approved_without_webhook(&stack, "cus_all_failed").await;
    // The provider fails once, so the run's one verification fails.
    stack.emulator.fail_next("idv_get", 503, 1);
    let err = reconcile_within(&stack, None)
        .await
        .expect_err("every verification failed: the run fails, so the alarm fires");
    assert!(err.to_string().contains("every one of the 1"), "{err}");
    let item = verification_item(&stack, &id).await;
    assert_eq!(attr_n(&item, "reconcile_failures"), Some(1));

    // The provider is back; a fetch with refresh gets an answer, which ends the backoff.
    let refreshed = get(&format!(
        "{}/v1/verifications/{id}?refresh=true",
        stack.api_url
    ))
    .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.raw);
    assert_eq!(refreshed.body["status"], "approved");
    let item = verification_item(&stack, &id).await;
    assert_eq!(attr_n(&item, "reconcile_failures"), None);
    assert_eq!(attr_s(&item, "reconcile_after"), None);
}

#[tokio::test]
async fn a_run_short_of_time_defers_what_it_cannot_take_and_the_next_run_finishes_it() {
    let stack = stack_with(quiet_env(&[("RECONCILE_CONCURRENCY", "2")])).await;
    stack.emulator.set_auto_deliver(false);
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(approved_without_webhook(&stack, &format!("cus_budget_{i}")).await);
    }
    // Each provider read takes 300 ms; the run has 400 ms beyond the default 30 s margin.
    stack
        .emulator
        .delay_next("idv_get", Duration::from_millis(300), 6);
    let first = reconcile_within(&stack, Some(Duration::from_millis(30_400)))
        .await
        .expect("a run short of time is not an error");
    let (checked, deferred) = (
        first["checked"].as_u64().unwrap(),
        first["deferred"].as_u64().unwrap(),
    );
    assert_eq!(checked + deferred, 6, "{first}");
    assert!(checked >= 2 && deferred >= 1, "{first}");
    assert_eq!(first["changed"], checked, "{first}");
    assert_eq!(first["failed"], 0, "{first}");
    let approved = futures::future::join_all(ids.iter().map(|id| fetch(&stack, id))).await;
    assert_eq!(
        approved
            .iter()
            .filter(|v| v["status"] == "approved")
            .count() as u64,
        checked
    );

    // A run with its time finishes the rest.
    let second = reconcile_within(&stack, Some(Duration::from_secs(300)))
        .await
        .unwrap();
    assert_eq!(
        second,
        json!({"checked": deferred, "changed": deferred, "failed": 0, "deferred": 0})
    );
    for id in &ids {
        assert_eq!(fetch(&stack, id).await["status"], "approved", "{id}");
    }

    // Already out of time: nothing is taken, everything found is deferred, and it is no error.
    let open = create(&stack, "cus_budget_open").await;
    let late = reconcile_within(&stack, Some(Duration::from_secs(1)))
        .await
        .unwrap();
    assert_eq!(
        late,
        json!({"checked": 0, "changed": 0, "failed": 0, "deferred": 1}),
        "{}",
        open["id"]
    );
}

#[tokio::test]
async fn a_thousand_webhook_events_into_one_verification_keep_its_item_small() {
    let stack = stack().await;
    stack.emulator.set_auto_deliver(false);
    let id = bond_under_review(&stack, "cus_thousand_events").await;
    wait_for_deliveries(&stack, 1).await;
    let bond_id = delivered_resource_ids(&stack)[0].clone();
    let first = stack.emulator.deliveries().len();
    // 1,000 decisions, alternating, so every event changes the status.
    for i in 0..1000 {
        stack.emulator.decide(&bond_id, i % 2 == 1).await;
    }
    let events = stack.emulator.deliveries().len();
    assert_eq!(events - first, 1000);
    for seq in first..events {
        deliver_until_acked(&stack, seq).await;
    }

    // The item as DynamoDB Local returns it, and what a strongly consistent read of it costs
    // (one read unit per 4 KB).
    let read = stack
        .dynamodb
        .get_item()
        .table_name(&stack.table_name)
        .key("pk", AttributeValue::S(format!("VER#{id}")))
        .key("sk", AttributeValue::S("VERIFICATION".into()))
        .consistent_read(true)
        .return_consumed_capacity(aws_sdk_dynamodb::types::ReturnConsumedCapacity::Total)
        .send()
        .await
        .expect("GetItem");
    let units = read.consumed_capacity().and_then(|c| c.capacity_units());
    let bytes = item_bytes(read.item().expect("the verification's item"));
    println!("verification item after 1,000 events: {bytes} bytes, read units {units:?}");
    assert!(bytes < 100 * 1024, "{bytes} bytes");

    let v = fetch(&stack, &id).await;
    assert_eq!(v["status"], "approved", "the last decision passed");
    let history = v["history"].as_array().unwrap();
    assert_eq!(history.len(), shared::domain::HISTORY_CAP);
    assert_eq!(history[0]["source"], "api", "the first entry is kept");
    assert_eq!(
        v["history_dropped"],
        1001 - 50,
        "one entry per event and the first"
    );
}
