//! The Bond data-submission flow end to end, through the emulator's sandbox SSNs, simulate
//! endpoints, signed webhooks and uploads.

use std::time::Duration;

use integration_tests::*;
use local_stack::LocalStack;
use serde_json::{json, Value};

fn applicant(ssn: &str) -> Value {
    json!({
        "first_name": "Grace", "last_name": "Hopper", "date_of_birth": "1986-12-09",
        "email": "grace@example.com", "phone": "2025550147", "phone_country_code": "1", "ip": "203.0.113.9",
        "ssn": ssn,
        "address": {"street": "1 Navy Way", "city": "Arlington", "state": "VA", "zip_code": "22202", "country": "US"}
    })
}

async fn bond_create(stack: &LocalStack, customer: &str, ssn: &str) -> Value {
    let a = post_json(
        &format!("{}/v1/verifications", stack.api_url),
        &json!({"customer_id": customer, "provider": "bond", "applicant": applicant(ssn)}),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.raw);
    assert_eq!(a.body["provider"], "bond");
    assert_eq!(
        a.body["verification_url"],
        Value::Null,
        "Bond has no hosted page"
    );
    a.body
}

/// Fetch until the status leaves `from` (Bond answers asynchronously).
async fn settled(stack: &LocalStack, id: &str, from: &[&str]) -> Value {
    for _ in 0..100 {
        let v = fetch(stack, id).await;
        if !from.contains(&v["status"].as_str().unwrap_or_default()) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{id} stayed in {from:?}: {}; items: {:?}",
        fetch(stack, id).await,
        items(stack).await
    );
}

fn upload_kinds(v: &Value) -> Vec<String> {
    v["required_actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "upload_document")
        .map(|a| a["detail"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_clean_ssn_is_approved_and_the_customer_verified() {
    let stack = stack().await;
    let v = bond_create(&stack, "cus_bond_ok", "123-45-6789").await;
    assert_eq!(v["status"], "pending");
    assert_eq!(v["provider_status"], "KYC submitted");
    let done = settled(&stack, v["id"].as_str().unwrap(), &["pending"]).await;
    assert_eq!(done["status"], "approved");
    assert_eq!(done["decision"]["outcome"], "approved");
    let customer = get(&format!(
        "{}/v1/customers/cus_bond_ok/verification",
        stack.api_url
    ))
    .await;
    assert_eq!(customer.body["verified"], true);
    assert_eq!(stack.emulator.counters()["bond_kyc_runs"], 1);
}

#[tokio::test]
async fn each_document_required_ssn_lists_its_documents_and_uploads_lead_to_a_decision() {
    let stack = stack().await;
    let cases = [
        ("111-11-1111", vec!["social_security_card", "government_id"]),
        ("222-22-2222", vec!["government_id", "proof_of_address"]),
        ("333-33-3333", vec!["government_id"]),
        (
            "444-44-4444",
            vec!["social_security_card", "government_id", "proof_of_address"],
        ),
    ];
    for (i, (ssn, documents)) in cases.into_iter().enumerate() {
        let v = bond_create(&stack, &format!("cus_docs_{i}"), ssn).await;
        let id = v["id"].as_str().unwrap();
        let mut waiting = settled(&stack, id, &["pending"]).await;
        // `reenter_information` may come first; the document list follows it.
        for _ in 0..100 {
            if !upload_kinds(&waiting).is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            waiting = fetch(&stack, id).await;
        }
        assert_eq!(waiting["status"], "action_required", "{ssn}");
        assert_eq!(upload_kinds(&waiting), documents, "{ssn}");
        // The person follows each upload link and uploads.
        for action in waiting["required_actions"].as_array().unwrap() {
            let link = action["upload_url"].as_str().unwrap();
            assert!(link.starts_with(&stack.emulator_url), "{link}");
            let page = client()
                .get(link)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(page.contains("Upload"));
            let empty = client()
                .post(link)
                .multipart(reqwest::multipart::Form::new())
                .send()
                .await
                .unwrap();
            assert_eq!(empty.status(), 400, "a file is needed");
            assert_eq!(upload_id_document(link).await, 200);
        }
        let decided = settled(&stack, id, &["action_required", "in_review"]).await;
        assert_eq!(decided["status"], "approved", "{ssn}");
        assert!(statuses(&decided).contains(&"in_review".to_owned()));
        assert_eq!(decided["required_actions"], json!([]));
    }
}

#[tokio::test]
async fn the_timeout_ssn_fails_retryably_and_frees_the_customer() {
    let stack = stack().await;
    let v = bond_create(&stack, "cus_bond_timeout", "888-88-8888").await;
    let done = settled(&stack, v["id"].as_str().unwrap(), &["pending"]).await;
    assert_eq!(done["status"], "failed");
    assert_eq!(done["decision"]["retryable"], true);
    assert_eq!(
        done["decision"]["provider_reason"],
        "kyc.verification.timeout"
    );
    bond_create(&stack, "cus_bond_timeout", "123-45-6789").await;
}

#[tokio::test]
async fn bond_requires_its_fields_before_any_call() {
    let stack = stack().await;
    let a = post_json(
        &format!("{}/v1/verifications", stack.api_url),
        &json!({"customer_id": "cus_bond_missing", "provider": "bond", "applicant": {"first_name": "Grace"}}),
    )
    .await;
    assert_eq!(a.refusal(), (400, "validation_failed"));
    for field in [
        "applicant.ssn",
        "applicant.email",
        "applicant.phone",
        "applicant.last_name",
        "applicant.date_of_birth",
        "applicant.address",
    ] {
        assert_eq!(
            a.body["error"]["fields"][field][0], "is required for provider bond",
            "{field}"
        );
    }
    assert_eq!(stack.emulator.counters().get("bond_customer_create"), None);
}

#[tokio::test]
async fn a_correction_in_action_required_reruns_kyc_as_a_new_attempt_and_approval_locks_it() {
    let stack = stack().await;
    let v = bond_create(&stack, "cus_bond_fix", "333-33-3333").await;
    let id = v["id"].as_str().unwrap();
    assert_eq!(
        settled(&stack, id, &["pending"]).await["status"],
        "action_required"
    );
    let a = patch(
        &stack,
        id,
        Some("fix-bond"),
        &json!({"applicant": applicant("123-45-6789")}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.raw);
    assert_eq!(a.body["status"], "pending");
    let done = settled(&stack, id, &["pending"]).await;
    assert_eq!(done["status"], "approved");
    assert_eq!(
        stack.emulator.counters()["bond_kyc_runs"],
        2,
        "a correction is a second KYC run"
    );
    let locked = patch(
        &stack,
        id,
        None,
        &json!({"applicant": applicant("123-45-6789")}),
    )
    .await;
    assert_eq!(locked.refusal(), (409, "verification_locked"));
}

#[tokio::test]
async fn a_submit_that_timed_out_after_bond_took_it_is_never_a_second_kyc() {
    // Bond takes the submission, answers after our timeout, and decides a while later.
    let stack = stack_with_options(local_stack::StackOptions {
        env: [("PROVIDER_TIMEOUT_MS".to_owned(), "700".to_owned())].into(),
        emulator: emulator::EmulatorConfig {
            providers: emulator::ProviderSettings {
                bond: emulator::bond::Settings {
                    result_delay: Duration::from_millis(2500),
                    ..Default::default()
                },
                ..Default::default()
            },
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    stack
        .emulator
        .delay_next("bond_kyc", Duration::from_millis(1500), 1);
    let url = format!("{}/v1/verifications", stack.api_url);
    let body = json!({"customer_id": "cus_bond_retry", "provider": "bond", "applicant": applicant("123-45-6789")});
    let first = post_keyed(&url, "retry-key", &body).await;
    assert_eq!(first.refusal(), (504, "provider_timeout"), "{}", first.raw);
    let retried = post_keyed(&url, "retry-key", &body).await;
    assert_eq!(retried.status, 201, "{}", retried.raw);
    assert_eq!(
        retried.body["provider_status"],
        "KYC submitted (already received)"
    );
    let done = settled(&stack, retried.body["id"].as_str().unwrap(), &["pending"]).await;
    assert_eq!(done["status"], "approved");
    assert_eq!(
        stack.emulator.counters()["bond_kyc_runs"],
        1,
        "exactly one Bond KYC"
    );
    assert_eq!(
        stack.emulator.counters()["bond_customer_create"],
        1,
        "the same verification was resumed"
    );
    assert_eq!(verification_count(&stack).await, 1);
    // And the retry's answer is now what the key replays.
    let replay = post_keyed(&url, "retry-key", &body).await;
    assert_eq!(
        (
            replay.raw.as_str(),
            replay.headers["idempotent-replayed"].to_str().unwrap()
        ),
        (retried.raw.as_str(), "true")
    );
}

/// A PATCH body valid in itself that lacks what Bond needs is a 422 naming the fields (the
/// schema of a PATCH cannot know the stored verification's provider), and nothing is sent.
#[tokio::test]
async fn a_valid_correction_lacking_bonds_fields_is_422_applicant_incomplete() {
    let stack = stack().await;
    let v = bond_create(&stack, "cus_bond_incomplete", "333-33-3333").await;
    let id = v["id"].as_str().unwrap();
    assert_eq!(
        settled(&stack, id, &["pending"]).await["status"],
        "action_required"
    );
    let runs = stack.emulator.counters()["bond_kyc_runs"];
    let a = patch(
        &stack,
        id,
        None,
        &json!({"applicant": {"first_name": "Grace"}}),
    )
    .await;
    assert_eq!(a.refusal(), (422, "applicant_incomplete"), "{}", a.raw);
    assert_eq!(a.body["error"]["type"], "invalid_request");
    assert_eq!(
        a.body["error"]["fields"]["applicant.ssn"][0],
        "is required for provider bond"
    );
    let invalid = patch(
        &stack,
        id,
        None,
        &json!({"applicant": {"email": "not-an-email"}}),
    )
    .await;
    assert_eq!(
        invalid.refusal(),
        (400, "validation_failed"),
        "an invalid body stays a 400"
    );
    assert_eq!(
        stack.emulator.counters()["bond_kyc_runs"],
        runs,
        "nothing was sent"
    );
}
