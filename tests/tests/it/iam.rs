//! Least privilege, enforced: each function's DynamoDB client refuses what its policy in
//! `template.yaml` does not grant (as IAM does on AWS), so every test runs each function with
//! its role's permissions and no more.

use chrono::{Duration, Utc};
use integration_tests::*;
use serde_json::json;
use shared::domain::idempotency::Fingerprint;
use shared::store::{IdempotencyKeys, IdempotencyLock, OpenVerifications};

#[tokio::test]
async fn a_whole_flow_through_every_function_stays_within_each_policy() {
    let stack = stack_with([("RECONCILE_QUIET_SECONDS".to_owned(), "0".to_owned())].into()).await;
    let v = create(&stack, "cus_iam_flow").await;
    let id = v["id"].as_str().unwrap();
    click(v["verification_url"].as_str().unwrap(), "approve", None).await;
    assert_eq!(fetch(&stack, id).await["status"], "approved");
    let again = create(&stack, "cus_iam_open").await;
    let refreshed = get(&format!(
        "{}/v1/verifications/{}?refresh=true",
        stack.api_url,
        again["id"].as_str().unwrap()
    ))
    .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.raw);
    let report = reconcile(&stack).await;
    assert_eq!(report["failed"], 0, "{report}");
    let patched = patch(
        &stack,
        again["id"].as_str().unwrap(),
        Some("iam-k"),
        &json!({"applicant": {"first_name": "Ada"}}),
    )
    .await;
    assert_eq!(patched.status, 200, "{}", patched.raw);
    assert_eq!(stack.wiring.denied(), Vec::<String>::new());
}

#[tokio::test]
async fn fetch_results_client_is_refused_a_delete_and_the_open_index() {
    let stack = stack().await;
    // fetch-result's store: its type implements every port, its role allows reads and a
    // refresh's puts and updates, nothing else.
    let store = stack.wiring.store();
    let now = Utc::now();
    let lock = IdempotencyLock {
        scope: "POST /v1/verifications".into(),
        key: "iam-denied".into(),
        fingerprint: Fingerprint("f".into()),
        owner: "o".into(),
        locked_until: now,
        expires_at: now + Duration::hours(24),
    };
    let released = store.finish_key(&lock, None).await;
    let chain = released.map_or_else(|e| shared::telemetry::chain(&e), |()| String::new());
    assert!(chain.contains("AccessDeniedException"), "{chain}");
    let quiet = store.quiet_open_verifications(now, 10).await;
    let chain = quiet.map_or_else(|e| shared::telemetry::chain(&e), |_| String::new());
    assert!(chain.contains("AccessDeniedException"), "{chain}");
    assert_eq!(
        stack.wiring.denied(),
        [
            "dynamodb:DeleteItem on table",
            "dynamodb:Query on index/open"
        ]
    );
}
