//! `GET /v1/verifications/{id}?include=kyc_data` (issue 15 point 4): each provider's
//! identification data read live through the emulator, minimised, the document number masked,
//! `Cache-Control: no-store`, and nothing of it written to the table; refused in the one error
//! shape before a decision and for an unknown `include`.

use std::time::Duration;

use integration_tests::*;
use local_stack::LocalStack;
use serde_json::{json, Value};

/// `GET …?include=kyc_data`, checked against the spec.
pub async fn kyc_data(stack: &LocalStack, id: &str) -> Answer {
    get(&format!(
        "{}/v1/verifications/{id}?include=kyc_data",
        stack.api_url
    ))
    .await
}

/// The answer's `kyc_data` after checking it is a no-store 200.
fn data_of(a: &Answer) -> &Value {
    assert_eq!(a.status, 200, "{}", a.raw);
    assert_eq!(
        a.headers.get("cache-control").and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    &a.body["kyc_data"]
}

/// The masked number is `****` and the last 4 of the document's number.
fn assert_masked(data: &Value, full: &str) {
    let masked = data["document"]["number_masked"]
        .as_str()
        .expect("a number");
    assert_eq!(masked, format!("****{}", &full[full.len() - 4..]));
}

/// No table item holds any of `values`.
async fn assert_not_in_the_table(stack: &LocalStack, values: &[&str]) {
    let table = format!("{:?}", items(stack).await);
    for value in values {
        assert!(!table.contains(value), "a table item contains {value:?}");
    }
}

#[tokio::test]
async fn ondato_kyc_data_is_the_identifications_document_minimised_and_never_stored() {
    let stack = stack().await;
    let created = post_json(
        &format!("{}/v1/verifications", stack.api_url),
        &json!({"customer_id": "cus_kyc_ondato", "applicant": {"first_name": "Wilhelmina",
            "last_name": "Oyelaran", "date_of_birth": "1984-07-21", "country_code": "GB"}}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.raw);
    let id = created.body["id"].as_str().unwrap();
    let idv = idv_of(&created.body);
    click(
        created.body["verification_url"].as_str().unwrap(),
        "approve",
        None,
    )
    .await;
    status_becomes(&stack, id, "approved").await;
    let a = kyc_data(&stack, id).await;
    let data = data_of(&a);
    assert_eq!(data["first_name"], "WILHELMINA");
    assert_eq!(data["last_name"], "OYELARAN");
    assert_eq!(data["date_of_birth"], "1984-07-21");
    assert_eq!(data["document"]["type"], "id_card");
    assert_eq!(data["document"]["country"], "GBR");
    let kyc_id = stack.emulator.idv(&idv).and_then(|i| i.kyc_id).unwrap();
    let full = emulator::document_number("LT", &kyc_id);
    assert_masked(data, &full);
    assert!(!a.raw.contains(&full), "the full number is never answered");
    assert_eq!(
        a.body["status"], "approved",
        "the verification's view beside it"
    );
    assert_not_in_the_table(
        &stack,
        &[
            "Wilhelmina",
            "WILHELMINA",
            "OYELARAN",
            "1984-07-21",
            &full,
            "****",
        ],
    )
    .await;
}

#[tokio::test]
async fn bond_kyc_data_is_the_customer_record_with_its_address_and_no_ssn() {
    let stack = stack().await;
    let mut applicant = bond_applicant("123-45-6780");
    applicant["first_name"] = json!("Temperance");
    applicant["address"]["street"] = json!("77 Larkspur Crescent");
    let created = post_json(
        &format!("{}/v1/verifications", stack.api_url),
        &json!({"customer_id": "cus_kyc_bond", "provider": "bond", "applicant": applicant}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.raw);
    let id = created.body["id"].as_str().unwrap();
    status_becomes(&stack, id, "approved").await;
    let a = kyc_data(&stack, id).await;
    let data = data_of(&a);
    assert_eq!(data["first_name"], "Temperance");
    assert_eq!(data["last_name"], "King");
    assert_eq!(data["date_of_birth"], "1985-12-10");
    assert_eq!(data["document"]["type"], "driving_licence");
    assert_eq!(data["address"]["street"], "77 Larkspur Crescent");
    assert_eq!(data["address"]["postal_code"], "02108");
    assert_eq!(data["address"]["country"], "US");
    let bond_id = verification_item(&stack, id).await["provider_ref"]
        .as_s()
        .unwrap()
        .clone();
    let full = emulator::document_number("D", &bond_id);
    assert_masked(data, &full);
    for hidden in [
        "123-45-6780",
        "123456780",
        "ada@example.org",
        "2025550111",
        full.as_str(),
    ] {
        assert!(!a.raw.contains(hidden), "{hidden} is answered");
    }
    assert_not_in_the_table(&stack, &["Temperance", "Larkspur", &full]).await;
}

#[tokio::test]
async fn veriff_kyc_data_is_the_decisions_person_and_document() {
    let stack = stack().await;
    let created = post_json(
        &format!("{}/v1/verifications", stack.api_url),
        &json!({"customer_id": "cus_kyc_veriff", "provider": "veriff",
            "applicant": {"first_name": "Octavia", "last_name": "Brannigan", "date_of_birth": "1991-03-04"}}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.raw);
    let id = created.body["id"].as_str().unwrap();
    let url = created.body["verification_url"].as_str().unwrap();
    for action in ["start", "submit", "approve"] {
        assert_eq!(click(url, action, None).await.status, 303, "{action}");
    }
    status_becomes(&stack, id, "approved").await;
    let a = kyc_data(&stack, id).await;
    let data = data_of(&a);
    assert_eq!(data["first_name"], "OCTAVIA");
    assert_eq!(data["last_name"], "BRANNIGAN");
    assert_eq!(data["date_of_birth"], "1991-03-04");
    assert_eq!(data["document"]["type"], "id_card");
    assert_eq!(data["document"]["country"], "LT");
    assert_eq!(data["address"]["city"], "Vilnius");
    let session = stack.emulator.veriff_sessions()[0].id.clone();
    let full = emulator::document_number("AB", &session);
    assert_masked(data, &full);
    assert_not_in_the_table(
        &stack,
        &["Octavia", "OCTAVIA", "BRANNIGAN", "Gedimino", &full],
    )
    .await;
}

#[tokio::test]
async fn kyc_data_reads_one_item_writes_nothing_and_a_plain_fetch_stays_one_read() {
    let stack = stack().await;
    let v = create(&stack, "cus_kyc_calls").await;
    let id = v["id"].as_str().unwrap();
    click(v["verification_url"].as_str().unwrap(), "approve", None).await;
    status_becomes(&stack, id, "approved").await;
    stack.calls.reset();
    fetch(&stack, id).await;
    assert_eq!(stack.calls.snapshot(), [("Query".to_owned(), 1)].into());
    stack.calls.reset();
    assert_eq!(kyc_data(&stack, id).await.status, 200);
    assert_eq!(
        stack.calls.snapshot(),
        [("Query".to_owned(), 1)].into(),
        "one read, no write"
    );
}

#[tokio::test]
async fn kyc_data_before_a_decision_is_409_and_an_unknown_include_is_400() {
    let stack = stack().await;
    let v = create(&stack, "cus_kyc_early").await;
    let id = v["id"].as_str().unwrap();
    let early = kyc_data(&stack, id).await;
    assert_eq!(
        early.refusal(),
        (409, "kyc_data_unavailable"),
        "{}",
        early.raw
    );
    for bad in ["images", "", "kyc_data,raw"] {
        let a = get(&format!(
            "{}/v1/verifications/{id}?include={bad}",
            stack.api_url
        ))
        .await;
        assert_eq!(a.refusal(), (400, "validation_failed"), "{bad}: {}", a.raw);
        assert_eq!(a.body["error"]["fields"]["include"][0], "must be kyc_data");
    }
    let missing = kyc_data(&stack, "ver_01M8P3ZQRGDS8ENZHBJ0CS1S5A").await;
    assert_eq!(missing.refusal(), (404, "not_found"));
}

#[tokio::test]
async fn a_slow_provider_read_is_our_504_within_the_requests_provider_budget() {
    let stack = stack_with([("PROVIDER_BUDGET_MS".to_owned(), "1500".to_owned())].into()).await;
    let v = create(&stack, "cus_kyc_slow").await;
    let id = v["id"].as_str().unwrap();
    click(v["verification_url"].as_str().unwrap(), "approve", None).await;
    status_becomes(&stack, id, "approved").await;
    stack
        .emulator
        .delay_next("kyc_get", Duration::from_secs(30), 1);
    let started = std::time::Instant::now();
    let slow = kyc_data(&stack, id).await;
    assert_eq!(slow.refusal(), (504, "provider_timeout"), "{}", slow.raw);
    assert!(started.elapsed() < Duration::from_secs(5));
    stack.emulator.fail_next("kyc_get", 500, 1);
    assert_eq!(
        kyc_data(&stack, id).await.refusal(),
        (502, "provider_unavailable")
    );
    assert_eq!(
        data_of(&kyc_data(&stack, id).await)["document"]["type"],
        "id_card"
    );
}
