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
