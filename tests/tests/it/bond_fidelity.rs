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
    verification_item(stack, id).await["provider_ref"]
        .as_s()
        .expect("the verification's Bond customer")
        .clone()
}

/// A Bond verification whose KYC Bond took and will not decide for a while; its id and Bond
/// customer.
async fn created_while_bond_decides(customer: &str) -> (LocalStack, String, String) {
    let stack = bond_stack(
        &[],
        emulator::bond::Settings {
            result_delay: Duration::from_secs(30),
            ..Default::default()
        },
    )
    .await;
    let created = post_json(&url(&stack), &body(customer)).await;
    assert_eq!(created.status, 201, "{}", created.raw);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let bond_customer = bond_customer_of(&stack, &id).await;
    (stack, id, bond_customer)
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
    answer_to(reqwest::Method::POST, resp).await
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
    let (stack, id, customer) = created_while_bond_decides("cus_bond_first_callback").await;
    let id = id.as_str();
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
    // Bond's documented payload with its malformed 2021 time, byte for byte: read, and older
    // than everything applied, so the newest-event rule leaves the status alone.
    let dated = format!(
        r#"{{"event": "kyc.verification.success", "customer_id": "{customer}", "occurred_at": "2021-02-02-00:50:58.484840+00:00"}}"#
    );
    let old = send_signed(&stack, &dated).await;
    assert_eq!(
        (old.status, &old.body["outcome"]),
        (200, &json!("stale")),
        "{}",
        old.raw
    );
    assert_eq!(fetch(&stack, id).await["status"], "in_progress");
}

#[tokio::test]
async fn a_patch_while_bond_decides_is_409_naming_the_attempt_and_sends_nothing() {
    let (stack, id, _) = created_while_bond_decides("cus_bond_deciding").await;
    let id = id.as_str();
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

#[tokio::test]
async fn a_lost_customer_answer_then_a_retry_is_one_bond_customer_and_one_kyc() {
    // Bond makes the customer but answers after our timeout; the client retries with its key.
    let stack = bond_stack(&[("PROVIDER_TIMEOUT_MS", "700")], Default::default()).await;
    stack
        .emulator
        .delay_next("bond_customer_create", Duration::from_millis(1500), 1);
    let first = post_keyed(&url(&stack), "lost-customer", &body("cus_bond_lost")).await;
    assert_eq!(first.refusal(), (504, "provider_timeout"), "{}", first.raw);
    let retried = post_keyed(&url(&stack), "lost-customer", &body("cus_bond_lost")).await;
    assert_eq!(retried.status, 201, "{}", retried.raw);
    let counters = stack.emulator.counters();
    assert_eq!(counters["bond_customers_created"], 1, "one Bond customer");
    assert_eq!(counters["bond_kyc_runs"], 1, "one KYC submission");
    let keys = stack.emulator.bond_customer_keys();
    assert_eq!(keys.len(), 2);
    assert!(
        keys[0].is_some() && keys[0] == keys[1],
        "the retry sent the same key: {keys:?}"
    );
    let id = retried.body["id"].as_str().unwrap();
    let done = status_becomes(&stack, id, "approved").await;
    assert_eq!(done["customer_id"], "cus_bond_lost");
    assert_eq!(verification_count(&stack).await, 1);
}

#[tokio::test]
async fn a_lost_kyc_answer_retried_meets_bonds_lowercase_409_and_is_one_submission() {
    let stack = bond_stack(
        &[("PROVIDER_TIMEOUT_MS", "700")],
        emulator::bond::Settings {
            result_delay: Duration::from_millis(2500),
            ..Default::default()
        },
    )
    .await;
    stack
        .emulator
        .delay_next("bond_kyc", Duration::from_millis(1500), 1);
    let first = post_keyed(&url(&stack), "lost-kyc", &body("cus_bond_lost_kyc")).await;
    assert_eq!(first.refusal(), (504, "provider_timeout"), "{}", first.raw);
    let retried = post_keyed(&url(&stack), "lost-kyc", &body("cus_bond_lost_kyc")).await;
    assert_eq!(retried.status, 201, "{}", retried.raw);
    let kyc_keys = stack.emulator.bond_kyc_keys();
    assert_eq!(
        kyc_keys.len(),
        2,
        "the retry reached Bond and was refused as a repeat"
    );
    assert_eq!(kyc_keys[0], kyc_keys[1]);
    assert_eq!(stack.emulator.counters()["bond_kyc_runs"], 1);
    assert_eq!(verification_count(&stack).await, 1);
    let id = retried.body["id"].as_str().unwrap();
    status_becomes(&stack, id, "approved").await;
}

#[tokio::test]
async fn a_patch_after_a_refused_kyc_sends_a_new_bond_key() {
    // The program requires an IP; the create without one is refused by Bond, then corrected.
    let stack = bond_stack(
        &[],
        emulator::bond::Settings {
            ip_required: true,
            ..Default::default()
        },
    )
    .await;
    let mut without_ip = body("cus_bond_no_ip");
    without_ip["applicant"]
        .as_object_mut()
        .unwrap()
        .remove("ip");
    let refused = post_json(&url(&stack), &without_ip).await;
    assert_eq!(
        refused.refusal(),
        (400, "validation_failed"),
        "{}",
        refused.raw
    );
    assert!(
        refused.body["error"]["fields"]["applicant.ip"].is_array(),
        "{}",
        refused.raw
    );
    let id = items(&stack)
        .await
        .into_iter()
        .find_map(|i| {
            (i.get("kind")?.as_s().ok()? == "verification")
                .then(|| i.get("id")?.as_s().ok().cloned())
                .flatten()
        })
        .expect("the verification stays, pending, for a correction");
    let corrected = patch(&stack, &id, None, &json!({"applicant": applicant()})).await;
    assert_eq!(corrected.status, 200, "{}", corrected.raw);
    let keys = stack.emulator.bond_kyc_keys();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(
        keys[0].is_some() && keys[1].is_some() && keys[0] != keys[1],
        "a new key: {keys:?}"
    );
    status_becomes(&stack, &id, "approved").await;
}

#[tokio::test]
async fn bonds_documented_date_format_flows_through_and_the_newest_event_still_wins() {
    let stack = bond_stack(
        &[],
        emulator::bond::Settings {
            seed_date_format: true,
            ..Default::default()
        },
    )
    .await;
    stack.emulator.set_auto_deliver(false);
    let mut b = body("cus_bond_seed_dates");
    b["applicant"]["ssn"] = json!("000-00-0000"); // Bond's sandbox: under review
    let created = post_json(&url(&stack), &b).await;
    assert_eq!(created.status, 201, "{}", created.raw);
    let id = created.body["id"].as_str().unwrap();
    wait_for_deliveries(&stack, 1).await;
    let customer = bond_customer_of(&stack, id).await;
    let pass = post_json(
        &format!("{}/bond/api/v0.1/simulate/kyc-pass", stack.emulator.base_url()),
        &json!({"customer_id": customer, "program_id": stack.emulator.config().providers.bond.program_id}),
    )
    .await;
    assert_eq!(pass.status, 200, "{}", pass.raw);
    wait_for_deliveries(&stack, 2).await;
    for d in stack.emulator.deliveries() {
        let sent: Value = serde_json::from_str(&d.body_for_tests()).unwrap();
        let written = sent["occurred_at"].as_str().unwrap_or_default().to_owned();
        assert_eq!(
            written.get(10..11),
            Some("-"),
            "the documented form: {written}"
        );
    }
    // The decision first, then the older review: parsed, ordered, the decision stays.
    deliver_until_acked(&stack, 1).await;
    deliver_until_acked(&stack, 0).await;
    let v = fetch(&stack, id).await;
    assert_eq!(v["status"], "approved", "{v}");
    assert!(
        !statuses(&v).contains(&"in_review".to_owned()),
        "the older review never applied: {v}"
    );
}

/// A Bond stack whose deliveries keep the `t` Bond first signed them with, 600 s ago.
async fn aged_signature_stack(env: &[(&str, &str)]) -> LocalStack {
    bond_stack(
        env,
        emulator::bond::Settings {
            resign_retries: false,
            signature_age_seconds: 600,
            ..Default::default()
        },
    )
    .await
}

#[tokio::test]
async fn a_retry_ten_minutes_later_with_its_original_t_is_applied_exactly_once() {
    let stack = aged_signature_stack(&[]).await;
    let created = post_json(&url(&stack), &body("cus_bond_aged")).await;
    assert_eq!(created.status, 201, "{}", created.raw);
    let id = created.body["id"].as_str().unwrap();
    status_becomes(&stack, id, "approved").await;
    let before = fetch(&stack, id).await;
    // Bond's retry of the same delivery, still carrying its first `t`.
    assert_eq!(stack.emulator.deliver(0).await, Some(200));
    let after = fetch(&stack, id).await;
    assert_eq!(before["history"], after["history"], "applied once");
    assert!(stack.emulator.deliveries()[0]
        .attempts
        .iter()
        .all(|a| a.status == Some(200)));
}

#[tokio::test]
async fn with_a_300_second_tolerance_the_old_t_is_401_and_the_reconciler_repairs_the_state() {
    let stack = aged_signature_stack(&[
        ("BOND_SIGNATURE_TOLERANCE_SECONDS", "300"),
        ("RECONCILE_QUIET_SECONDS", "0"),
    ])
    .await;
    let created = post_json(&url(&stack), &body("cus_bond_aged_strict")).await;
    assert_eq!(created.status, 201, "{}", created.raw);
    let id = created.body["id"].as_str().unwrap();
    wait_for_deliveries(&stack, 1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let attempts = &stack.emulator.deliveries()[0].attempts;
    assert_eq!(
        attempts.first().and_then(|a| a.status),
        Some(401),
        "{attempts:?}"
    );
    assert_ne!(fetch(&stack, id).await["status"], "approved");
    let report = reconcile(&stack).await;
    let repaired = fetch(&stack, id).await;
    assert_eq!(repaired["status"], "approved", "{repaired} {report}");
    assert_eq!(
        repaired["history"].as_array().unwrap().last().unwrap()["source"],
        "reconcile"
    );
}

#[tokio::test]
async fn bonds_already_passed_answer_is_recognised_by_its_kyc_state_with_bonds_time() {
    // Bond documents only that a further KYC "returns the timestamp of the previously successful
    // KYC process": the emulator answers a generic 400 carrying the time in Bond's own format.
    use shared::provider::KycProvider;
    use shared::store::VerificationReader;
    let stack = stack().await;
    let created = post_json(&url(&stack), &body("cus_bond_passed")).await;
    assert_eq!(created.status, 201, "{}", created.raw);
    let id = created.body["id"].as_str().unwrap();
    let approved = status_becomes(&stack, id, "approved").await;
    let vid = shared::domain::VerificationId::parse(id).unwrap();
    let mut v = stack
        .wiring
        .store()
        .get_verification(&vid)
        .await
        .unwrap()
        .unwrap();
    v.attempt += 1; // a new attempt on a Bond customer who passed
    let env: std::collections::HashMap<String, String> =
        stack.emulator.function_env().into_iter().collect();
    let lookup = |k: &str| env.get(k).cloned();
    let config =
        shared::provider::bond::BondConfig::from_env(&shared::config::env::Env::new(&lookup))
            .unwrap();
    let adapter = shared::provider::bond::BondAdapter::new(config, client());
    let request = shared::domain::request::PatchRequest::parse(
        &json!({"applicant": applicant()}),
        &shared::provider::bond::NAME,
        adapter.required_fields(),
        chrono::Utc::now().date_naive(),
    )
    .unwrap();
    let answer = adapter
        .submit(&v, &request.applicant)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (answer.status, answer.raw_status.as_str()),
        (shared::domain::Status::Approved, "KYC already passed")
    );
    let decided =
        chrono::DateTime::parse_from_rfc3339(approved["decision"]["decided_at"].as_str().unwrap())
            .unwrap();
    let gap = (answer.occurred_at - decided.with_timezone(&chrono::Utc))
        .num_seconds()
        .abs();
    assert!(
        gap < 5,
        "Bond's time of the earlier pass is kept: {} vs {decided}",
        answer.occurred_at
    );
    assert_eq!(
        stack.emulator.counters()["bond_kyc_runs"],
        1,
        "Bond ran no second KYC"
    );
}
