//! Each function's handler fed the API Gateway HTTP API (v2) events Lambda really receives, as
//! `sam local generate-event apigateway http-api-proxy` writes them (`functions/<fn>/fixtures/`):
//! a base64-encoded body, no `requestContext.authorizer`, a header sent twice (joined with a
//! comma by the gateway), a stage prefix in `rawPath`, an unknown route; and the reconciler fed
//! its schedule's event. The same files work with `cargo lambda invoke --data-file`.

use base64::Engine;
use integration_tests::*;
use lambda_http::{Body, Response};
use serde_json::{json, Value};

macro_rules! fixture {
    ($function:literal, $name:literal) => {
        include_str!(concat!(
            "../../../functions/",
            $function,
            "/fixtures/",
            $name
        ))
    };
}

/// A fixture as JSON, to fill in what only the running stack knows.
fn event(raw: &str) -> Value {
    serde_json::from_str(raw).expect("a fixture is JSON")
}

/// What Lambda hands the handler for this event.
fn request(event: &Value) -> lambda_http::Request {
    lambda_http::request::from_str(&event.to_string()).expect("an API Gateway v2 event")
}

/// Status, headers and JSON body of a handler's response.
fn read(resp: Response<Body>) -> (u16, lambda_http::http::HeaderMap, Value) {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = match resp.body() {
        Body::Text(t) => serde_json::from_str(t).expect("a JSON body"),
        Body::Binary(b) => serde_json::from_slice(b).expect("a JSON body"),
        _ => Value::Null,
    };
    (status, headers, body)
}

fn with_path_id(mut e: Value, id: &str) -> Value {
    e["pathParameters"]["id"] = json!(id);
    e
}

#[tokio::test]
async fn create_takes_a_base64_body_under_a_stage_prefix_without_an_authorizer_and_replays() {
    let stack = stack().await;
    let deps = stack.wiring.create_verification();
    let e = event(fixture!("create-verification", "create.json"));
    assert!(e["requestContext"].get("authorizer").is_none());
    let (status, _, first) = read(create_verification::handle(&deps, request(&e)).await);
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["customer_id"], "cus_fixture_1");
    assert_eq!(first["status"], "pending");
    let (status, headers, again) = read(create_verification::handle(&deps, request(&e)).await);
    assert_eq!((status, &again), (201, &first));
    assert_eq!(headers["idempotent-replayed"], "true");
    assert_eq!(verification_count(&stack).await, 1);
}

#[tokio::test]
async fn an_idempotency_key_sent_twice_arrives_joined_and_is_refused_before_anything_is_written() {
    let stack = stack().await;
    let deps = stack.wiring.create_verification();
    let e = event(fixture!(
        "create-verification",
        "create-key-sent-twice.json"
    ));
    let (status, _, body) = read(create_verification::handle(&deps, request(&e)).await);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("idempotency_key_invalid"))
    );
    assert_eq!(stack.emulator.counters().get("idv_create"), None);
    assert!(items(&stack).await.is_empty());
}

#[tokio::test]
async fn resubmit_corrects_the_verification_named_in_the_path() {
    let stack = stack().await;
    let created = create(&stack, "cus_fixture_patch").await;
    let id = created["id"].as_str().unwrap();
    let e = with_path_id(event(fixture!("create-verification", "resubmit.json")), id);
    let deps = stack.wiring.create_verification();
    let (status, _, body) = read(create_verification::handle(&deps, request(&e)).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], id);
    assert_ne!(body["verification_url"], created["verification_url"]);
}

#[tokio::test]
async fn redact_removes_the_personal_data_of_the_verification_named_in_the_path() {
    let stack = stack().await;
    let created = create(&stack, "cus_fixture_redact").await;
    let id = created["id"].as_str().unwrap();
    let e = with_path_id(event(fixture!("create-verification", "redact.json")), id);
    let deps = stack.wiring.create_verification();
    let (status, _, open) = read(create_verification::handle(&deps, request(&e)).await);
    assert_eq!(
        (status, &open["error"]["code"]),
        (409, &json!("verification_in_progress"))
    );
    click(
        created["verification_url"].as_str().unwrap(),
        "approve",
        None,
    )
    .await;
    status_becomes(&stack, id, "approved").await;
    let (status, _, body) = read(create_verification::handle(&deps, request(&e)).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["verification_url"], "[redacted]");
    assert_eq!(body["status"], "approved");
}

#[tokio::test]
async fn webhook_ingest_applies_a_signed_base64_event_from_the_gateway() {
    let stack = stack().await;
    stack.emulator.set_auto_deliver(false);
    let created = post_json(
        &format!("{}/v1/verifications", stack.api_url),
        &json!({"customer_id": "cus_fixture_hook", "provider": "bond", "applicant": bond_applicant("000-00-0000")}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.raw);
    wait_for_deliveries(&stack, 1).await;
    let bond_customer = delivered_resource_ids(&stack)[0].clone();
    let mut e = event(fixture!("webhook-ingest", "bond-webhook.json"));
    let base64 = base64::engine::general_purpose::STANDARD;
    let body = String::from_utf8(base64.decode(e["body"].as_str().unwrap()).unwrap())
        .unwrap()
        .replace("BOND_CUSTOMER_ID", &bond_customer)
        .replace("OCCURRED_AT", &chrono::Utc::now().to_rfc3339());
    let t = chrono::Utc::now().timestamp().to_string();
    let secret = stack.emulator.config().providers.bond.webhook_secret;
    let sig = shared::provider::bond::signature::sign(secret.as_bytes(), &t, body.as_bytes());
    e["body"] = json!(base64.encode(&body));
    e["headers"]["bond-signature"] = json!(format!("t={t},v1={sig}"));
    let deps = stack.wiring.webhook_ingest();
    let (status, _, ack) = read(webhook_ingest::handle(&deps, request(&e)).await);
    assert_eq!((status, &ack["outcome"]), (200, &json!("changed")), "{ack}");
    let v = fetch(&stack, created.body["id"].as_str().unwrap()).await;
    assert_eq!(v["status"], "approved");
}

#[tokio::test]
async fn fetch_reads_by_id_under_a_stage_prefix_with_refresh_and_the_customer_view() {
    let stack = stack().await;
    let created = create(&stack, "cus_fixture_1").await;
    let id = created["id"].as_str().unwrap();
    let deps = stack.wiring.fetch_result();
    let get = with_path_id(event(fixture!("fetch-result", "get-verification.json")), id);
    let (status, _, body) = read(fetch_result::handle(&deps, request(&get)).await);
    assert_eq!((status, &body["id"]), (200, &json!(id)));
    let refresh = with_path_id(event(fixture!("fetch-result", "refresh.json")), id);
    stack.calls.reset();
    let (status, _, body) = read(fetch_result::handle(&deps, request(&refresh)).await);
    assert_eq!((status, &body["status"]), (200, &json!("pending")));
    assert_eq!(
        stack.emulator.counters()["idv_get"],
        1,
        "refresh asked the provider"
    );
    let customer = event(fixture!("fetch-result", "get-customer.json"));
    let (status, _, body) = read(fetch_result::handle(&deps, request(&customer)).await);
    assert_eq!((status, &body["verification"]["id"]), (200, &json!(id)));
    assert_eq!(body["verified"], false);
}

#[tokio::test]
async fn every_function_answers_an_unknown_route_or_provider_with_the_json_404() {
    let stack = stack().await;
    let answers = [
        create_verification::handle(
            &stack.wiring.create_verification(),
            request(&event(fixture!(
                "create-verification",
                "unknown-route.json"
            ))),
        )
        .await,
        fetch_result::handle(
            &stack.wiring.fetch_result(),
            request(&event(fixture!("fetch-result", "unknown-route.json"))),
        )
        .await,
        webhook_ingest::handle(
            &stack.wiring.webhook_ingest(),
            request(&event(fixture!("webhook-ingest", "unknown-provider.json"))),
        )
        .await,
    ];
    for resp in answers {
        let (status, headers, body) = read(resp);
        assert_eq!(status, 404, "{body}");
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(body["error"]["type"], "not_found");
    }
    assert!(items(&stack).await.is_empty());
}

#[tokio::test]
async fn the_reconciler_runs_on_its_schedules_event() {
    let stack = stack_with([("RECONCILE_QUIET_SECONDS".to_owned(), "0".to_owned())].into()).await;
    create(&stack, "cus_fixture_quiet").await;
    let report = reconcile(&stack).await;
    assert_eq!(
        report,
        json!({"checked": 1, "changed": 0, "failed": 0, "deferred": 0})
    );
}

fn stream_event(raw: &str) -> aws_lambda_events::event::dynamodb::Event {
    serde_json::from_str(raw).expect("a DynamoDB stream event")
}

#[tokio::test]
async fn notify_turns_the_verification_records_of_a_stream_batch_into_feed_events() {
    let stack = stack().await;
    let deps = stack
        .events_wiring(Some(stack.wiring.notify_dynamodb()))
        .await
        .expect("the events wiring")
        .notify()
        .expect("notify's wiring");
    let response =
        notify::handle(&deps, stream_event(fixture!("notify", "stream-batch.json"))).await;
    assert!(response.batch_item_failures.is_empty());
    let feed: Vec<_> = items(&stack)
        .await
        .into_iter()
        .filter(|i| i["pk"].as_s().is_ok_and(|pk| pk.starts_with("FEED#")))
        .collect();
    let bodies: Vec<Value> = feed
        .iter()
        .map(|i| serde_json::from_str(i["body"].as_s().unwrap()).unwrap())
        .collect();
    let mut seen: Vec<(u64, String)> = bodies
        .iter()
        .map(|b| {
            (
                b["data"]["sequence"].as_u64().unwrap(),
                b["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            (1, "verification.pending".to_owned()),
            (2, "verification.in_progress".to_owned())
        ],
        "the customer record is no status change"
    );
    // The same batch again (a retry): the same event ids.
    notify::handle(&deps, stream_event(fixture!("notify", "stream-batch.json"))).await;
    let again: std::collections::HashSet<String> = items(&stack)
        .await
        .iter()
        .filter_map(|i| i.get("body").and_then(|b| b.as_s().ok()))
        .map(|b| {
            serde_json::from_str::<Value>(b).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(again.len(), 2);
}

#[tokio::test]
async fn notify_names_an_unreadable_record_so_the_stream_hands_it_again() {
    let stack = stack().await;
    let deps = stack
        .events_wiring(Some(stack.wiring.notify_dynamodb()))
        .await
        .expect("the events wiring")
        .notify()
        .expect("notify's wiring");
    let mut raw = event(fixture!("notify", "stream-batch.json"));
    raw["Records"][2]["dynamodb"]["NewImage"]["status"] = json!({"S": "no-such-status"});
    let response = notify::handle(&deps, serde_json::from_value(raw).unwrap()).await;
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(failed, [Some("100000000000000000003".to_owned())]);
}

#[tokio::test]
async fn deliver_signs_and_posts_a_queued_event_and_names_the_ones_that_failed() {
    use integration_tests::outbound::{key, stack_with_events, NodeReceiver};
    let k = key(7);
    let receiver = NodeReceiver::start(&[("k", &k)], "k").await;
    let stack = stack_with_events(local_stack::EventsOptions {
        webhook_url: Some(receiver.webhook_url()),
        signing_keys: Some(k.clone()),
        ..local_stack::EventsOptions::default()
    })
    .await;
    let deps = stack
        .events_wiring(None)
        .await
        .expect("the events wiring")
        .deliver()
        .await
        .expect("deliver's wiring");
    let batch: aws_lambda_events::event::sqs::SqsEvent =
        serde_json::from_str(fixture!("deliver", "sqs-batch.json")).expect("an SQS event");
    let response = deliver::handle(&deps, batch.clone()).await;
    assert!(response.batch_item_failures.is_empty());
    let got = receiver.received().await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["verified"]["k"], true);
    assert_eq!(got[0]["webhook_id"], "evt_01M8P7V07NKN4DDN2ZG7SF0D8X");

    receiver
        .fail_for(std::time::Duration::from_secs(60), 502)
        .await;
    let response = deliver::handle(&deps, batch).await;
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(failed, ["059f36b4-87a3-44ab-83d2-661975830a7d"]);
}

#[tokio::test]
async fn list_events_pages_the_feed_under_a_stage_prefix_and_answers_unknown_routes_404() {
    let stack = stack().await;
    let deps = stack
        .events_wiring(Some(stack.wiring.list_events_dynamodb()))
        .await
        .expect("the events wiring")
        .list_events()
        .expect("list-events' wiring");
    let (status, _, body) = read(
        list_events::handle(
            &deps,
            request(&event(fixture!("list-events", "list-events.json"))),
        )
        .await,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"data": [], "has_more": false, "next_cursor": null})
    );
    let mut bad = event(fixture!("list-events", "list-events.json"));
    bad["queryStringParameters"]["limit"] = json!("1000");
    bad["rawQueryString"] = json!("limit=1000");
    let (status, _, body) = read(list_events::handle(&deps, request(&bad)).await);
    assert_eq!(
        (status, &body["error"]["code"]),
        (400, &json!("validation_failed"))
    );
    let (status, _, _) = read(
        list_events::handle(
            &deps,
            request(&event(fixture!("list-events", "unknown-route.json"))),
        )
        .await,
    );
    assert_eq!(status, 404);
    assert!(
        stack.wiring.denied().is_empty(),
        "{:?}",
        stack.wiring.denied()
    );
}
