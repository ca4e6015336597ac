//! Ondato as it behaves when it is stricter or sparser than the happy path: IDVs,
//! identifications and webhooks without `externalReferenceId` (the verification is then found by
//! Ondato's own IDV id, by a webhook and by the reconciler), and the prefill the adapter sends
//! checked against Ondato's registration formats.

use emulator::EmulatorConfig;
use integration_tests::*;
use local_stack::{LocalStack, StackOptions};
use serde_json::{json, Value};

/// A stack whose Ondato leaves `externalReferenceId` out of everything it shows.
async fn stack_without_external_reference(env: &[(&str, &str)]) -> LocalStack {
    let mut emulator = EmulatorConfig::default();
    emulator.providers.ondato.omit_external_reference_id = true;
    stack_with_options(StackOptions {
        emulator,
        env: env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..StackOptions::default()
    })
    .await
}

/// No delivery so far names our verification: each payload only has Ondato's ids.
fn assert_no_external_reference(stack: &LocalStack) {
    let deliveries = stack.emulator.deliveries();
    assert!(!deliveries.is_empty(), "Ondato sent something");
    for d in deliveries {
        let body: Value = serde_json::from_str(&d.body).expect("a JSON webhook");
        assert!(
            body["payload"].get("externalReferenceId").is_none(),
            "{}",
            d.body
        );
    }
}

#[tokio::test]
async fn without_external_reference_id_a_webhook_still_finds_the_verification_by_its_idv() {
    let stack = stack_without_external_reference(&[]).await;
    let v = create(&stack, "cus_no_ref_hook").await;
    let id = v["id"].as_str().expect("an id");
    let page = click(
        v["verification_url"].as_str().expect("a URL"),
        "approve",
        None,
    )
    .await;
    assert_eq!(page.status, 303, "{}", page.raw);
    let approved = status_becomes(&stack, id, "approved").await;
    assert_no_external_reference(&stack);
    assert_eq!(
        statuses(&approved),
        ["pending", "in_progress", "in_review", "approved"]
    );
    assert_eq!(
        approved["decision"]["reason_code"],
        "automatically_identified"
    );
}

#[tokio::test]
async fn without_external_reference_id_and_webhooks_lost_the_reconciler_repairs_it() {
    let stack = stack_without_external_reference(&[("RECONCILE_QUIET_SECONDS", "0")]).await;
    // Ondato's webhooks are recorded but never reach us.
    stack.emulator.set_auto_deliver(false);
    let v = create(&stack, "cus_no_ref_dropped").await;
    let id = v["id"].as_str().expect("an id");
    click(
        v["verification_url"].as_str().expect("a URL"),
        "approve",
        None,
    )
    .await;
    wait_for_deliveries(&stack, 5).await;
    assert_no_external_reference(&stack);
    assert_eq!(
        fetch(&stack, id).await["status"],
        "pending",
        "nothing arrived"
    );

    let report = reconcile(&stack).await;
    assert_eq!(report["changed"], 1, "{report}");
    assert_eq!(fetch(&stack, id).await["status"], "approved");
}

#[tokio::test]
async fn a_full_applicant_reaches_ondato_in_its_registration_formats() {
    let stack = stack().await;
    let applicant = json!({
        "first_name": "Zelda", "middle_name": "Ophelia", "last_name": "Quimby",
        "date_of_birth": "1987-06-05", "email": "zelda.quimby@example.org",
        "phone": "(624) 515-141", "phone_country_code": "+370", "country_code": "LT",
        "personal_code": "38706050000"
    });
    let created = post_json(
        &format!("{}/v1/verifications", stack.api_url),
        &json!({"customer_id": "cus_full_prefill", "applicant": applicant}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.raw);
    let idv = stack
        .emulator
        .idv(&idv_of(&created.body))
        .expect("Ondato opened an IDV");
    assert_eq!(
        idv.registration,
        json!({
            "firstName": "Zelda", "middleName": "Ophelia", "lastName": "Quimby",
            "dateOfBirth": "1987-06-05", "email": "zelda.quimby@example.org",
            "phoneNumber": 370624515141u64, "countryCode": "LT", "personalCode": "38706050000"
        })
    );
    assert_eq!(
        idv.setup_id,
        stack.emulator.config().providers.ondato.setup_id
    );
}

#[tokio::test]
async fn a_setup_ondato_does_not_have_opens_no_verification() {
    let mut emulator = EmulatorConfig::default();
    emulator.providers.ondato.setups = vec!["00000000-0000-4000-8000-00000000beef".into()];
    let stack = stack_with_options(StackOptions {
        emulator,
        ..StackOptions::default()
    })
    .await;
    let a = post_json(
        &format!("{}/v1/verifications", stack.api_url),
        &json!({"customer_id": "cus_wrong_setup"}),
    )
    .await;
    // Ondato's 400 is a refusal of this request: ours to fix, not a provider outage.
    assert_eq!(a.refusal(), (422, "provider_rejected"), "{}", a.raw);
    assert_eq!(stack.emulator.counters()["idv_create"], 1);
    assert!(
        stack.emulator.deliveries().is_empty(),
        "no IDV, so no webhook"
    );
}
