//! The public API over HTTP, against DynamoDB Local and the Ondato emulator.

use integration_tests::*;
use serde_json::json;

#[tokio::test]
async fn ondato_flow_creates_approves_on_the_hosted_page_and_fetches_approved() {
    let stack = stack().await;
    let created = post_json(
        &format!("{}/v1/verifications", stack.api_url),
        &json!({"customer_id": "cus_happy", "applicant": {"first_name": "Ada", "country_code": "LT"}, "metadata": {"plan": "gold"}}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.raw);
    let v = &created.body;
    let id = v["id"].as_str().unwrap();
    assert!(id.starts_with("ver_"));
    assert_eq!(v["status"], "pending");
    assert_eq!(v["provider"], "ondato");
    assert_eq!(v["metadata"]["plan"], "gold");
    assert!(v["verification_url"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{}/?id=", stack.emulator_url)));
    // The IDV carries our id and the prefill, as Ondato expects.
    let idv = stack.emulator.idv(&idv_of(v)).unwrap();
    assert_eq!(idv.external_reference_id.as_deref(), Some(id));
    assert_eq!(idv.registration["firstName"], "Ada");

    let clicked = click(v["verification_url"].as_str().unwrap(), "approve", None).await;
    assert_eq!(clicked.status, 303);

    let fetched = fetch(&stack, id).await;
    assert_eq!(fetched["status"], "approved");
    assert_eq!(fetched["decision"]["outcome"], "approved");
    assert_eq!(
        fetched["decision"]["provider_reason"],
        "AutomaticallyIdentified"
    );
    assert_eq!(
        fetched["verification_url"],
        serde_json::Value::Null,
        "the hosted page is spent"
    );
    assert_eq!(
        statuses(&fetched),
        ["pending", "in_progress", "in_review", "approved"]
    );
    assert!(fetched["history"].as_array().unwrap()[1..]
        .iter()
        .all(|h| h["source"] == "webhook"));

    let customer = get(&format!(
        "{}/v1/customers/cus_happy/verification",
        stack.api_url
    ))
    .await;
    assert_eq!(customer.status, 200, "{}", customer.raw);
    assert_eq!(customer.body["verified"], true);
    assert_eq!(
        customer.body["verified_at"],
        fetched["decision"]["decided_at"]
    );
    assert_eq!(customer.body["verification"]["id"], id);
}

#[tokio::test]
async fn a_rejection_keeps_the_reason_and_says_whether_a_retry_can_succeed() {
    let stack = stack().await;
    let v = create(&stack, "cus_rejected").await;
    click(
        v["verification_url"].as_str().unwrap(),
        "reject",
        Some("Sanctioned"),
    )
    .await;
    let fetched = fetch(&stack, v["id"].as_str().unwrap()).await;
    assert_eq!(fetched["status"], "rejected");
    assert_eq!(fetched["decision"]["reason_code"], "sanctioned");
    assert_eq!(fetched["decision"]["retryable"], false);
    let customer = get(&format!(
        "{}/v1/customers/cus_rejected/verification",
        stack.api_url
    ))
    .await;
    assert_eq!(customer.body["verified"], false);
    // The attempt ended, so the customer may start another one.
    create(&stack, "cus_rejected").await;
}

#[tokio::test]
async fn malformed_json_is_a_400_in_the_one_error_shape() {
    let stack = stack().await;
    let a = answer_to(
        reqwest::Method::POST,
        client()
            .post(format!("{}/v1/verifications", stack.api_url))
            .header("content-type", "application/json")
            .body("{\"customer_id\": ")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.body["error"]["type"], "invalid_request");
    assert_eq!(a.body["error"]["code"], "malformed_json");
    assert!(a.body["request_id"].as_str().unwrap().starts_with("local-"));
    assert_eq!(a.headers["content-type"], "application/json");
    assert!(items(&stack).await.is_empty(), "nothing is written");
}

#[tokio::test]
async fn wrong_content_type_and_oversized_bodies_are_refused_before_parsing() {
    let stack = stack().await;
    let url = format!("{}/v1/verifications", stack.api_url);
    let a = answer_to(
        reqwest::Method::POST,
        client()
            .post(&url)
            .header("content-type", "text/plain")
            .body("{}")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(a.refusal(), (415, "unsupported_media_type"));
    let big = json!({"customer_id": "c", "metadata": {"k": "x".repeat(40_000)}});
    let a = post_json(&url, &big).await;
    assert_eq!(a.refusal(), (413, "payload_too_large"));
}

#[tokio::test]
async fn validation_names_every_bad_field_and_writes_nothing() {
    let stack = stack().await;
    let a = post_json(
        &format!("{}/v1/verifications", stack.api_url),
        &json!({"customer_id": "has space", "provider": "acme", "applicant": {"email": "x", "date_of_birth": "2999-01-01"}, "extra": 1}),
    )
    .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.body["error"]["code"], "validation_failed");
    let fields = a.body["error"]["fields"].as_object().unwrap();
    for f in [
        "customer_id",
        "provider",
        "applicant.email",
        "applicant.date_of_birth",
        "extra",
    ] {
        assert!(fields.contains_key(f), "{f} not named in {fields:?}");
    }
    assert!(items(&stack).await.is_empty());
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let stack = stack().await;
    let a = get(&format!("{}/v1/nothing-here", stack.api_url)).await;
    assert_eq!(a.refusal(), (404, "not_found"));
    let a = answer_to(
        reqwest::Method::DELETE,
        client()
            .delete(format!("{}/v1/verifications", stack.api_url))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(a.refusal(), (405, "method_not_allowed"));
}

#[tokio::test]
async fn fetching_an_unknown_verification_or_customer_is_a_404() {
    let stack = stack().await;
    for path in [
        "/v1/verifications/ver_01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "/v1/verifications/not-an-id",
        "/v1/customers/nobody/verification",
    ] {
        let a = get(&format!("{}{path}", stack.api_url)).await;
        assert_eq!(a.status, 404, "{path}: {}", a.raw);
        assert_eq!(a.body["error"]["code"], "not_found");
        assert_eq!(a.body["error"]["type"], "not_found");
    }
}

#[tokio::test]
async fn a_verified_customer_cannot_be_verified_again() {
    let stack = stack().await;
    let v = create(&stack, "cus_done").await;
    click(v["verification_url"].as_str().unwrap(), "approve", None).await;
    let a = post_json(
        &format!("{}/v1/verifications", stack.api_url),
        &json!({"customer_id": "cus_done"}),
    )
    .await;
    assert_eq!(a.status, 409, "{}", a.raw);
    assert_eq!(a.body["error"]["code"], "customer_already_verified");
    assert_eq!(a.body["error"]["verification_id"], v["id"]);
    assert!(a.body["error"]["verified_at"].is_string());
    assert_eq!(
        stack.emulator.counters()["idv_create"],
        1,
        "no provider call for a refused create"
    );
}

#[tokio::test]
async fn a_second_create_while_one_is_active_names_the_active_one() {
    let stack = stack().await;
    let v = create(&stack, "cus_busy").await;
    let a = post_json(
        &format!("{}/v1/verifications", stack.api_url),
        &json!({"customer_id": "cus_busy"}),
    )
    .await;
    assert_eq!(a.status, 409);
    assert_eq!(a.body["error"]["code"], "verification_already_active");
    assert_eq!(a.body["error"]["verification_id"], v["id"]);
}

#[tokio::test]
async fn concurrent_creates_for_one_customer_start_one_verification() {
    let stack = stack().await;
    let url = format!("{}/v1/verifications", stack.api_url);
    let body = json!({"customer_id": "cus_race"});
    let answers = futures::future::join_all((0..20).map(|_| post_json(&url, &body))).await;
    let created: Vec<_> = answers.iter().filter(|a| a.status == 201).collect();
    assert_eq!(
        created.len(),
        1,
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    for a in answers.iter().filter(|a| a.status != 201) {
        assert_eq!(a.status, 409);
        assert_eq!(a.body["error"]["code"], "verification_already_active");
    }
    assert_eq!(stack.emulator.counters()["idv_create"], 1);
    let verifications = items(&stack)
        .await
        .into_iter()
        .filter(|i| i["sk"].as_s().unwrap() == "VERIFICATION")
        .count();
    assert_eq!(verifications, 1);
}

#[tokio::test]
async fn the_provider_being_down_is_a_502_and_releases_the_customer() {
    let mut env = std::collections::HashMap::new();
    // Nothing listens on port 9 of loopback: every provider call fails to connect.
    env.insert(
        "ONDATO_IDV_API_URL".to_owned(),
        "http://127.0.0.1:9".to_owned(),
    );
    env.insert(
        "ONDATO_TOKEN_URL".to_owned(),
        "http://127.0.0.1:9/connect/token".to_owned(),
    );
    let stack = stack_with(env).await;
    let url = format!("{}/v1/verifications", stack.api_url);
    let a = post_json(&url, &json!({"customer_id": "cus_down"})).await;
    assert_eq!(a.status, 502, "{}", a.raw);
    assert_eq!(a.body["error"]["code"], "provider_unavailable");
    assert_eq!(a.body["error"]["type"], "provider");
    // The claim was released: the next attempt is not blocked by the failed one.
    let again = post_json(&url, &json!({"customer_id": "cus_down"})).await;
    assert_eq!(again.body["error"]["code"], "provider_unavailable");
    assert!(items(&stack)
        .await
        .iter()
        .all(|i| i["sk"].as_s().unwrap() != "VERIFICATION"));
}

#[tokio::test]
async fn the_ondato_token_is_fetched_once_and_reused() {
    let stack = stack().await;
    for i in 0..3 {
        create(&stack, &format!("cus_token_{i}")).await;
    }
    let counters = stack.emulator.counters();
    assert_eq!(counters["token"], 1);
    assert_eq!(counters["idv_create"], 3);
}

#[tokio::test]
async fn dynamodb_round_trips_per_operation_are_as_designed() {
    let stack = stack().await;
    stack.calls.reset();
    let v = create(&stack, "cus_count").await;
    let create_calls = stack.calls.snapshot();
    assert_eq!(stack.calls.total(), 2, "create: {create_calls:?}");
    assert_eq!(create_calls.get("UpdateItem"), Some(&1));
    assert_eq!(create_calls.get("TransactWriteItems"), Some(&1));

    stack.calls.reset();
    fetch(&stack, v["id"].as_str().unwrap()).await;
    // One Query on the verification's key: its record and its personal item.
    assert_eq!(
        stack.calls.snapshot(),
        [("Query".to_owned(), 1)].into(),
        "fetch = 1"
    );

    stack.calls.reset();
    click(v["verification_url"].as_str().unwrap(), "approve", None).await;
    let deliveries = stack.emulator.deliveries().len();
    let calls = stack.calls.snapshot();
    assert_eq!(
        calls.get("BatchGetItem"),
        Some(&deliveries),
        "one read per webhook: {calls:?}"
    );
    assert_eq!(
        stack.calls.total(),
        2 * deliveries,
        "two round trips per webhook: {calls:?}"
    );
}

#[tokio::test]
async fn an_expired_ondato_token_is_replaced_before_it_is_refused() {
    let stack = stack_with_options(local_stack::StackOptions {
        emulator: emulator::EmulatorConfig {
            providers: emulator::ProviderSettings {
                ondato: emulator::ondato::Settings {
                    token_ttl: std::time::Duration::from_secs(2),
                    ..Default::default()
                },
                ..Default::default()
            },
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    create(&stack, "cus_ttl_1").await;
    create(&stack, "cus_ttl_2").await;
    assert_eq!(stack.emulator.counters()["token"], 1, "cached while fresh");
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    create(&stack, "cus_ttl_3").await;
    assert_eq!(
        stack.emulator.counters()["token"],
        2,
        "renewed before expiry"
    );
}

#[tokio::test]
async fn declining_or_letting_the_hosted_page_expire_ends_the_verification() {
    let stack = stack().await;
    for (customer, action, expected) in [
        ("cus_declines", "abandon", "canceled"),
        ("cus_walks_away", "expire", "expired"),
    ] {
        let v = create(&stack, customer).await;
        let url = v["verification_url"].as_str().unwrap();
        assert_eq!(click(url, "consent", None).await.status, 303);
        assert_eq!(click(url, action, None).await.status, 303);
        let fetched = fetch(&stack, v["id"].as_str().unwrap()).await;
        assert_eq!(fetched["status"], expected);
        assert_eq!(fetched["decision"]["retryable"], true);
        // The attempt is over: the customer may start again.
        create(&stack, customer).await;
    }
}
