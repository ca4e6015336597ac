//! Ondato webhook ingestion: deduplication, ordering, re-fetch, and the create race. Refused
//! credentials and forged verdicts, for every provider, are in the conformance suite.

use integration_tests::*;
use local_stack::LocalStack;
use serde_json::{json, Value};

async fn send_webhook(stack: &LocalStack, auth: Option<&str>, body: &Value) -> Answer {
    let mut req = client()
        .post(format!("{}/v1/webhooks/ondato", stack.api_url))
        .json(body);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    answer_to(reqwest::Method::POST, req.send().await.unwrap()).await
}

fn good_auth(stack: &LocalStack) -> String {
    let c = stack.emulator.config().providers.ondato;
    basic(&c.webhook_username, &c.webhook_password)
}

fn envelope(kind: &str, payload: Value) -> Value {
    json!({
        "id": ulid::Ulid::new().to_string(),
        "applicationId": local_stack_app_id(),
        "createdUtc": chrono::Utc::now().to_rfc3339(),
        "type": kind,
        "payload": payload,
    })
}

fn local_stack_app_id() -> String {
    emulator::ondato::Settings::default().application_id
}

#[tokio::test]
async fn the_same_webhook_delivered_twice_is_applied_once() {
    let stack = stack().await;
    let v = create(&stack, "cus_dup").await;
    click(v["verification_url"].as_str().unwrap(), "approve", None).await;
    let first = fetch(&stack, v["id"].as_str().unwrap()).await;
    // Ondato may deliver again after a success: every delivery again, some concurrently.
    let n = stack.emulator.deliveries().len();
    for seq in 0..n {
        assert_eq!(stack.emulator.deliver(seq).await, Some(200));
    }
    let concurrent = futures::future::join_all((0..8).map(|_| stack.emulator.deliver(n - 1))).await;
    assert!(concurrent.iter().all(|s| *s == Some(200)), "{concurrent:?}");
    let again = fetch(&stack, v["id"].as_str().unwrap()).await;
    assert_eq!(again["history"], first["history"], "no event applied twice");
    // Each processed event is kept for audit, without the payload's personal data.
    let events: Vec<_> = items(&stack)
        .await
        .into_iter()
        .filter(|i| i["sk"].as_s().unwrap().starts_with("EVENT#"))
        .collect();
    assert_eq!(events.len(), n);
    for e in &events {
        let raw: Value = serde_json::from_str(e["raw_event"].as_s().unwrap()).unwrap();
        assert!(
            raw["type"].is_string() && raw["payload"]["id"].is_string(),
            "{raw}"
        );
        assert!(
            raw["payload"].get("document").is_none(),
            "no document data in the audit copy"
        );
        assert!(e.contains_key("expires_at"));
    }
    assert_eq!(
        statuses(&again),
        ["pending", "in_progress", "in_review", "approved"]
    );
}

#[tokio::test]
async fn an_older_event_after_a_newer_one_does_not_move_the_status_back() {
    let stack = stack().await;
    stack.emulator.set_auto_deliver(false);
    let v = create(&stack, "cus_order").await;
    click(v["verification_url"].as_str().unwrap(), "approve", None).await;
    let deliveries = stack.emulator.deliveries();
    assert_eq!(
        deliveries.last().unwrap().event_type,
        "KycIdentification.Approved"
    );
    // Newest first, then the older ones.
    for seq in (0..deliveries.len()).rev() {
        assert_eq!(stack.emulator.deliver(seq).await, Some(200));
    }
    let fetched = fetch(&stack, v["id"].as_str().unwrap()).await;
    assert_eq!(fetched["status"], "approved");
    assert_eq!(
        statuses(&fetched),
        ["pending", "approved"],
        "late events changed nothing"
    );
}

#[tokio::test]
async fn a_forged_approval_is_not_believed_the_provider_state_is_applied() {
    let stack = stack().await;
    let v = create(&stack, "cus_forged").await;
    let idv = idv_of(&v);
    // The person has only started; the body claims an approval.
    stack.emulator.begin(&idv).await;
    let kyc = stack.emulator.idv(&idv).unwrap().kyc_id.unwrap();
    let forged = envelope(
        "KycIdentification.Approved",
        json!({"id": kyc, "identityVerificationId": idv, "status": "Approved"}),
    );
    let a = send_webhook(&stack, Some(&good_auth(&stack)), &forged).await;
    assert_eq!(a.status, 200, "{}", a.raw);
    let fetched = fetch(&stack, v["id"].as_str().unwrap()).await;
    assert_eq!(fetched["status"], "in_progress");
}

#[tokio::test]
async fn unknown_event_types_are_acknowledged_and_change_nothing() {
    let stack = stack().await;
    create(&stack, "cus_unknown").await;
    let before = items(&stack).await.len();
    let a = send_webhook(
        &stack,
        Some(&good_auth(&stack)),
        &envelope("Form.Completed", json!({"id": "x"})),
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["outcome"], "ignored");
    assert_eq!(items(&stack).await.len(), before);
}

#[tokio::test]
async fn an_authenticated_body_that_can_never_be_processed_is_acknowledged_and_changes_nothing() {
    // Retrying cannot fix an authentic body we cannot read: 200 so the provider stops (Ondato
    // retries for 24 hours, Bond for three days), logged and counted, nothing written.
    let stack = stack().await;
    create(&stack, "cus_unreadable").await;
    let before = items(&stack).await.len();
    for body in [
        json!({"hello": "world"}),
        json!({"id": "e", "createdUtc": "nope", "type": "IdentityVerification.StatusChanged", "payload": {"id": "x"}}),
        json!("just a string"),
    ] {
        let a = send_webhook(&stack, Some(&good_auth(&stack)), &body).await;
        assert_eq!(
            (a.status, &a.body["outcome"]),
            (200, &json!("unprocessable")),
            "{}",
            a.raw
        );
    }
    let text = client()
        .post(format!("{}/v1/webhooks/ondato", stack.api_url))
        .header("authorization", good_auth(&stack))
        .body("not json at all")
        .send()
        .await
        .unwrap();
    let a = answer_to(reqwest::Method::POST, text).await;
    assert_eq!(
        (a.status, &a.body["outcome"]),
        (200, &json!("unprocessable")),
        "{}",
        a.raw
    );
    assert_eq!(items(&stack).await.len(), before);
}

#[tokio::test]
async fn a_webhook_before_the_verification_is_stored_gets_503_then_applies_on_retry() {
    let stack = stack().await;
    let v = create(&stack, "cus_race").await;
    let idv = idv_of(&v);
    // Simulate the create/webhook race: the event names a verification we do not have yet.
    let id = v["id"].as_str().unwrap();
    let key = aws_sdk_dynamodb::types::AttributeValue::S(format!("VER#{id}"));
    let stored = stack
        .dynamodb
        .get_item()
        .table_name(&stack.table_name)
        .key("pk", key.clone())
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("VERIFICATION".into()),
        )
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    stack
        .dynamodb
        .delete_item()
        .table_name(&stack.table_name)
        .key("pk", key)
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("VERIFICATION".into()),
        )
        .send()
        .await
        .unwrap();
    stack.emulator.begin(&idv).await;
    let first = stack.emulator.deliveries();
    assert!(
        first.iter().all(|d| d.attempts[0].status == Some(503)),
        "{first:?}"
    );
    // The create lands; the provider's retry then applies.
    stack
        .dynamodb
        .put_item()
        .table_name(&stack.table_name)
        .set_item(Some(stored))
        .send()
        .await
        .unwrap();
    for seq in 0..first.len() {
        assert_eq!(stack.emulator.deliver(seq).await, Some(200));
    }
    assert_eq!(fetch(&stack, id).await["status"], "in_progress");
}

#[tokio::test]
async fn a_webhook_for_another_provider_route_is_a_404() {
    let stack = stack().await;
    let a = post_json(&format!("{}/v1/webhooks/acme", stack.api_url), &json!({})).await;
    assert_eq!(a.status, 404);
    assert_eq!(a.body["error"]["code"], "not_found");
}

#[tokio::test]
async fn an_operator_edit_after_approval_supersedes_it_and_the_customer_is_no_longer_verified() {
    let stack = stack().await;
    let v = create(&stack, "cus_edit").await;
    click(v["verification_url"].as_str().unwrap(), "approve", None).await;
    let customer_url = format!("{}/v1/customers/cus_edit/verification", stack.api_url);
    assert_eq!(get(&customer_url).await.body["verified"], true);
    let kyc = stack.emulator.idv(&idv_of(&v)).unwrap().kyc_id.unwrap();
    let a = post_json(
        &format!(
            "{}/_emulator/identifications/{kyc}/update",
            stack.emulator_url
        ),
        &json!({"status": "Rejected", "reason": "DocumentIsExpired"}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.raw);
    let fetched = fetch(&stack, v["id"].as_str().unwrap()).await;
    assert_eq!(fetched["status"], "rejected");
    assert_eq!(fetched["decision"]["provider_reason"], "DocumentIsExpired");
    let last = fetched["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (last["from"].as_str(), last["superseded"].as_bool()),
        (Some("approved"), Some(true))
    );
    let customer = get(&customer_url).await;
    assert_eq!(
        customer.body["verified"], false,
        "verified_at follows the superseding decision"
    );
    assert_eq!(customer.body["verified_at"], Value::Null);
}

#[tokio::test]
async fn the_older_idv_event_name_is_accepted_too() {
    let stack = stack().await;
    stack.emulator.set_auto_deliver(false);
    let v = create(&stack, "cus_old_name").await;
    let idv = idv_of(&v);
    stack.emulator.begin(&idv).await;
    let old_name = envelope(
        "Idv.StatusChanged",
        json!({"id": idv, "status": "InProgress"}),
    );
    let a = send_webhook(&stack, Some(&good_auth(&stack)), &old_name).await;
    assert_eq!(
        (a.status, a.body["outcome"].as_str()),
        (200, Some("changed")),
        "{}",
        a.raw
    );
    assert_eq!(
        fetch(&stack, v["id"].as_str().unwrap()).await["status"],
        "in_progress"
    );
}

#[tokio::test]
async fn a_body_over_the_webhook_limit_is_413_before_authentication() {
    let stack = stack().await;
    let before = items(&stack).await.len();
    let huge =
        json!({"id": "e", "type": "Form.Completed", "payload": {"pad": "x".repeat(300 * 1024)}});
    for auth in [Some(good_auth(&stack)), None] {
        let a = send_webhook(&stack, auth.as_deref(), &huge).await;
        assert_eq!(a.refusal(), (413, "payload_too_large"), "{}", a.raw);
    }
    assert_eq!(items(&stack).await.len(), before);
}
