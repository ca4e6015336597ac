//! The create contract's idempotency keys (IETF draft, Stripe semantics), over HTTP against
//! DynamoDB Local and the emulator.

use std::sync::Arc;

use chrono::{Duration, Utc};
use integration_tests::*;
use local_stack::{LocalStack, StackOptions};
use serde_json::json;
use shared::clock::ManualClock;
use shared::domain::idempotency::fingerprint;
use shared::domain::{CustomerId, VerificationId};
use shared::provider::ondato;
use shared::store::dynamodb::DynamoDbStore;
use shared::store::{Claim, CreateClaims, IdempotencyKeys, IdempotencyLock};

fn create_url(stack: &LocalStack) -> String {
    format!("{}/v1/verifications", stack.api_url)
}

#[tokio::test]
async fn fifty_concurrent_identical_creates_with_one_key_start_one_verification() {
    let stack = stack().await;
    let url = create_url(&stack);
    let body = json!({"customer_id": "cus_fifty", "metadata": {"try": "1"}});
    let answers =
        futures::future::join_all((0..50).map(|_| post_keyed(&url, "key-fifty", &body))).await;
    let first: Vec<_> = answers
        .iter()
        .filter(|a| a.status == 201 && !a.headers.contains_key("idempotent-replayed"))
        .collect();
    assert_eq!(
        first.len(),
        1,
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    for a in &answers {
        match a.status {
            201 => assert_eq!(
                a.raw, first[0].raw,
                "a replay is the first answer, byte for byte"
            ),
            409 => {
                assert_eq!(a.body["error"]["code"], "idempotency_key_in_use");
                assert!(a.headers.contains_key("retry-after"));
            }
            other => panic!("unexpected {other}: {}", a.raw),
        }
    }
    assert_eq!(
        stack.emulator.counters()["idv_create"],
        1,
        "exactly one provider create"
    );
    assert_eq!(verification_count(&stack).await, 1);
}

#[tokio::test]
async fn twenty_concurrent_creates_for_one_customer_with_different_keys_start_one() {
    let stack = stack().await;
    let url = create_url(&stack);
    let body = json!({"customer_id": "cus_twenty"});
    let answers = futures::future::join_all((0..20).map(|i| {
        let url = url.clone();
        let body = body.clone();
        async move { post_keyed(&url, &format!("k-{i}"), &body).await }
    }))
    .await;
    let created: Vec<_> = answers.iter().filter(|a| a.status == 201).collect();
    assert_eq!(
        created.len(),
        1,
        "{:?}",
        answers.iter().map(|a| a.raw.clone()).collect::<Vec<_>>()
    );
    for a in answers.iter().filter(|a| a.status != 201) {
        assert_eq!(
            a.refusal(),
            (409, "verification_already_active"),
            "{}",
            a.raw
        );
        assert_eq!(a.body["error"]["verification_id"], created[0].body["id"]);
    }
    assert_eq!(verification_count(&stack).await, 1);
}

#[tokio::test]
async fn a_replay_is_byte_identical_reordered_keys_replay_and_a_changed_body_is_422() {
    let stack = stack().await;
    let url = create_url(&stack);
    let first = answer_to(
        reqwest::Method::POST,
        client()
            .post(&url)
            .header("idempotency-key", "replay-1")
            .header("content-type", "application/json")
            .body(r#"{"customer_id": "cus_replay", "metadata": {"a": "1", "b": "2"}}"#)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(first.status, 201);
    assert!(!first.headers.contains_key("idempotent-replayed"));

    stack.calls.reset();
    let again = post_keyed(
        &url,
        "replay-1",
        &json!({"customer_id": "cus_replay", "metadata": {"a": "1", "b": "2"}}),
    )
    .await;
    assert_eq!(
        (again.status, again.raw.as_str()),
        (201, first.raw.as_str())
    );
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(
        stack.calls.total(),
        1,
        "a replay is one round trip: {:?}",
        stack.calls.snapshot()
    );

    let reordered = answer_to(reqwest::Method::POST,
        client()
            .post(&url)
            .header("idempotency-key", "replay-1")
            .header("content-type", "application/json")
            .body("{\n  \"metadata\": {\"b\": \"2\", \"a\": \"1\"},\n  \"customer_id\": \"cus_replay\"\n}")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (reordered.status, reordered.raw.as_str()),
        (201, first.raw.as_str())
    );

    let changed = post_keyed(
        &url,
        "replay-1",
        &json!({"customer_id": "cus_replay", "metadata": {"a": "9"}}),
    )
    .await;
    assert_eq!(changed.refusal(), (422, "idempotency_key_reused"));
    assert_eq!(
        stack.emulator.counters()["idv_create"],
        1,
        "no provider call for replays"
    );
    assert_eq!(verification_count(&stack).await, 1);
}

#[tokio::test]
async fn a_key_older_than_24_hours_runs_as_new() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let stack = stack_with_options(StackOptions {
        clock: Some(clock.clone()),
        ..StackOptions::default()
    })
    .await;
    let url = create_url(&stack);
    let body = json!({"customer_id": "cus_day"});
    let first = post_keyed(&url, "day-key", &body).await;
    assert_eq!(first.status, 201);
    // The attempt ends, so the customer may start again.
    click(
        first.body["verification_url"].as_str().unwrap(),
        "reject",
        None,
    )
    .await;
    clock.advance(Duration::hours(23));
    let replay = post_keyed(&url, "day-key", &body).await;
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    clock.advance(Duration::hours(1) + Duration::seconds(1));
    let fresh = post_keyed(&url, "day-key", &body).await;
    assert_eq!(fresh.status, 201, "{}", fresh.raw);
    assert!(!fresh.headers.contains_key("idempotent-replayed"));
    assert_ne!(fresh.body["id"], first.body["id"]);
}

#[tokio::test]
async fn a_provider_500_releases_the_key_and_the_retry_creates_the_verification() {
    let stack = stack().await;
    let url = create_url(&stack);
    let body = json!({"customer_id": "cus_flaky"});
    stack.emulator.fail_next("idv_create", 500, 1);
    let failed = post_keyed(&url, "flaky-key", &body).await;
    assert_eq!(failed.refusal(), (502, "provider_unavailable"));
    assert_eq!(verification_count(&stack).await, 0);
    let retried = post_keyed(&url, "flaky-key", &body).await;
    assert_eq!(retried.status, 201, "{}", retried.raw);
    assert!(!retried.headers.contains_key("idempotent-replayed"));
    assert_eq!(stack.emulator.counters()["idv_create"], 2);
    assert_eq!(verification_count(&stack).await, 1);
}

#[tokio::test]
async fn a_lock_left_by_a_crashed_run_does_not_block_after_its_deadline() {
    let stack = stack().await;
    let store = DynamoDbStore::new(stack.dynamodb.clone(), stack.table_name.clone());
    let body = json!({"customer_id": "cus_crash"});
    // What a run that died after its first write leaves: a claim and a lock, both past their deadline.
    let now = Utc::now();
    let past = now - Duration::seconds(1);
    let crashed = VerificationId::generate();
    let lock = IdempotencyLock {
        scope: "POST /v1/verifications".into(),
        key: "crash-key".into(),
        fingerprint: fingerprint(
            b"local-idempotency-secret-not-for-production",
            "POST /v1/verifications",
            &body,
        ),
        owner: crashed.to_string(),
        locked_until: past,
        expires_at: now + Duration::hours(24),
    };
    let customer = CustomerId::parse("cus_crash").unwrap();
    store
        .claim(&Claim {
            customer: &customer,
            provider: &ondato::NAME,
            verification: &crashed,
            now: past - Duration::seconds(5),
            claim_until: past,
            lock: Some(&lock),
        })
        .await
        .unwrap();
    let a = post_keyed(&create_url(&stack), "crash-key", &body).await;
    assert_eq!(a.status, 201, "{}", a.raw);

    // While a lock is live, the same key with the same body is in use.
    let other = json!({"customer_id": "cus_other"});
    let live = IdempotencyLock {
        key: "live-key".into(),
        locked_until: now + Duration::seconds(20),
        fingerprint: fingerprint(
            b"local-idempotency-secret-not-for-production",
            "POST /v1/verifications",
            &other,
        ),
        ..lock
    };
    store.lock_key(&live, now).await.unwrap();
    let busy = post_keyed(&create_url(&stack), "live-key", &other).await;
    assert_eq!(busy.refusal(), (409, "idempotency_key_in_use"));
    assert_eq!(busy.headers["retry-after"], "20");
}

#[tokio::test]
async fn invalid_keys_are_400_and_nothing_is_written() {
    let stack = stack().await;
    let url = create_url(&stack);
    for key in ["", &"k".repeat(256), "caf\u{e9}"] {
        let a = answer_to(
            reqwest::Method::POST,
            client()
                .post(&url)
                .header(
                    "idempotency-key",
                    reqwest::header::HeaderValue::from_bytes(key.as_bytes()).unwrap(),
                )
                .json(&json!({"customer_id": "cus_badkey"}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(a.refusal(), (400, "idempotency_key_invalid"), "{key:?}");
    }
    let twice = answer_to(
        reqwest::Method::POST,
        client()
            .post(&url)
            .header("idempotency-key", "a")
            .header("idempotency-key", "b")
            .json(&json!({"customer_id": "cus_badkey"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(twice.refusal(), (400, "idempotency_key_invalid"));
    assert!(items(&stack).await.is_empty());
}

#[tokio::test]
async fn a_first_keyed_create_is_two_round_trips() {
    let stack = stack().await;
    stack.calls.reset();
    let a = post_keyed(
        &create_url(&stack),
        "count-key",
        &json!({"customer_id": "cus_count"}),
    )
    .await;
    assert_eq!(a.status, 201);
    assert_eq!(
        stack.calls.snapshot(),
        [("TransactWriteItems".to_owned(), 2)].into(),
        "claim + store, each one transaction"
    );
}
