//! Bond as its documentation shows it, not as our adapter assumed: the request and callback
//! bodies quoted in Bond's texts sent byte for byte, a lost answer on every call, corrections, and
//! signatures that keep their original `t`.

use std::time::Duration;

use integration_tests::*;
use local_stack::{LocalStack, StackOptions};
use serde_json::{json, Value};

/// Bond's documented schema refusal, byte for byte (not JSON).
const SCHEMA_400: &str = "{'Message': {ssn: ['Missing data for required field.']}, 'Status': 400, 'Code': 'kyc_post_schema', 'Type': 'Request Error'}";

fn applicant() -> Value {
    json!({
        "first_name": "Grace", "last_name": "Hopper", "date_of_birth": "1986-12-09",
        "email": "grace@example.com", "phone": "2025550147", "phone_country_code": "1",
        "ip": "203.0.113.9", "ssn": "123-45-6789",
        "address": {"street": "1 Navy Way", "city": "Arlington", "state": "VA", "zip_code": "22202", "country": "US"}
    })
}

fn body(customer: &str) -> Value {
    json!({"customer_id": customer, "provider": "bond", "applicant": applicant()})
}

fn url(stack: &LocalStack) -> String {
    format!("{}/v1/verifications", stack.api_url)
}

/// A stack whose Bond takes `result_delay` to decide, with these emulator Bond settings.
async fn bond_stack(env: &[(&str, &str)], bond: emulator::bond::Settings) -> LocalStack {
    stack_with_options(StackOptions {
        env: env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        emulator: emulator::EmulatorConfig {
            providers: emulator::ProviderSettings {
                bond,
                ..Default::default()
            },
            ..Default::default()
        },
        ..Default::default()
    })
    .await
}

/// The Bond customer id our table holds for a verification.
async fn bond_customer_of(stack: &LocalStack, id: &str) -> String {
    items(stack)
        .await
        .into_iter()
        .find(|item| {
            item.get("kind")
                .and_then(|k| k.as_s().ok())
                .map(String::as_str)
                == Some("provider_ref")
                && item
                    .get("verification_id")
                    .and_then(|v| v.as_s().ok())
                    .map(String::as_str)
                    == Some(id)
        })
        .and_then(|item| item.get("pk").and_then(|pk| pk.as_s().ok()).cloned())
        .and_then(|pk| pk.strip_prefix("REF#bond#").map(str::to_owned))
        .expect("the verification's Bond customer")
}

/// POST a Bond webhook body as Bond would: the raw bytes, signed now with the emulator's secret.
async fn send_signed(stack: &LocalStack, raw: &str) -> Answer {
    let secret = stack.emulator.config().providers.bond.webhook_secret;
    let t = chrono::Utc::now().timestamp().to_string();
    let sig = shared::provider::bond::signature::sign(secret.as_bytes(), &t, raw.as_bytes());
    let resp = client()
        .post(format!("{}/v1/webhooks/bond", stack.api_url))
        .header("content-type", "application/json")
        .header("bond-signature", format!("t={t},v1={sig},v2={sig}"))
        .body(raw.to_owned())
        .send()
        .await
        .unwrap();
    answer(resp).await
}

fn table_text(
    items: &[std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>],
) -> String {
    format!("{items:?}")
}

#[tokio::test]
async fn bonds_non_json_400_is_our_validation_error_naming_ssn_and_none_of_its_text_is_kept() {
    let stack = stack().await;
    stack
        .emulator
        .fail_next_with("bond_kyc", 400, Some(SCHEMA_400), 1);
    let refused = post_keyed(&url(&stack), "schema-key", &body("cus_bond_schema")).await;
    assert_eq!(
        refused.refusal(),
        (400, "validation_failed"),
        "{}",
        refused.raw
    );
    assert_eq!(
        refused.body["error"]["fields"]["applicant.ssn"],
        json!(["is required by the provider"])
    );
    for bond_text in ["Missing data", "kyc_post_schema", "Request Error"] {
        assert!(
            !refused.raw.contains(bond_text),
            "{bond_text} echoed: {}",
            refused.raw
        );
        let table = table_text(&items(&stack).await);
        assert!(!table.contains(bond_text), "{bond_text} stored");
    }
    // The refusal is final for this key, and replayed as it was first answered.
    let replay = post_keyed(&url(&stack), "schema-key", &body("cus_bond_schema")).await;
    assert_eq!(
        (replay.status, replay.raw.as_str()),
        (400, refused.raw.as_str())
    );
}

#[tokio::test]
async fn bonds_undated_first_callback_is_acknowledged_and_the_verification_is_in_progress() {
    let stack = bond_stack(
        &[],
        emulator::bond::Settings {
            result_delay: Duration::from_secs(30),
            ..Default::default()
        },
    )
    .await;
    let created = post_json(&url(&stack), &body("cus_bond_first_callback")).await;
    assert_eq!(created.status, 201, "{}", created.raw);
    let id = created.body["id"].as_str().unwrap();
    let customer = bond_customer_of(&stack, id).await;
    // Bond's first callback as its documentation quotes it: no event name, no time.
    let seed = format!(r#"{{"customer_id": "{customer}", "kyc_status": "submitted"}}"#);
    let first = send_signed(&stack, &seed).await;
    assert_eq!(
        (first.status, &first.body["outcome"]),
        (200, &json!("changed")),
        "{}",
        first.raw
    );
    let v = fetch(&stack, id).await;
    assert_eq!(
        (v["status"].as_str(), v["provider_status"].as_str()),
        (Some("in_progress"), Some("KYC submitted"))
    );
    let again = send_signed(&stack, &seed).await;
    assert_eq!(
        (again.status, &again.body["outcome"]),
        (200, &json!("duplicate"))
    );
}

#[tokio::test]
async fn a_patch_while_bond_decides_is_409_naming_the_attempt_and_sends_nothing() {
    let stack = bond_stack(
        &[],
        emulator::bond::Settings {
            result_delay: Duration::from_secs(30),
            ..Default::default()
        },
    )
    .await;
    let created = post_json(&url(&stack), &body("cus_bond_deciding")).await;
    assert_eq!(created.status, 201, "{}", created.raw);
    let id = created.body["id"].as_str().unwrap();
    let before = stack.emulator.counters();
    let refused = patch(&stack, id, None, &json!({"applicant": applicant()})).await;
    assert_eq!(
        refused.refusal(),
        (409, "verification_in_progress"),
        "{}",
        refused.raw
    );
    assert_eq!(refused.body["error"]["attempt"], 1);
    assert_eq!(refused.body["error"]["verification_id"], id);
    assert_eq!(stack.emulator.counters(), before, "nothing went to Bond");
}
