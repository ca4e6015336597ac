//! The rest of the create contract: field-level validation (a table of invalid bodies), PATCH
//! resubmission and its refusals, and the rule that a verified customer cannot change.

use integration_tests::*;
use serde_json::{json, Value};

fn with_applicant(applicant: Value) -> Value {
    json!({"customer_id": "cus_v", "applicant": applicant})
}

fn address(overrides: Value) -> Value {
    let mut a =
        json!({"street": "1 Main St", "city": "Vilnius", "zip_code": "01100", "country": "LT"});
    for (k, v) in overrides.as_object().unwrap() {
        if v.is_null() {
            a.as_object_mut().unwrap().remove(k);
        } else {
            a[k] = v.clone();
        }
    }
    with_applicant(json!({ "address": a }))
}

/// Invalid bodies: the top-level fields.
fn body_cases() -> Vec<(Value, &'static str)> {
    let many: serde_json::Map<String, Value> =
        (0..21).map(|i| (format!("k{i}"), json!("v"))).collect();
    vec![
        (json!({}), "customer_id"),
        (json!({"customer_id": ""}), "customer_id"),
        (json!({"customer_id": "has space"}), "customer_id"),
        (json!({"customer_id": "x".repeat(129)}), "customer_id"),
        (json!({"customer_id": 42}), "customer_id"),
        (json!({"customer_id": "c", "provider": "acme"}), "provider"),
        (json!({"customer_id": "c", "provider": 5}), "provider"),
        (json!({"customer_id": "c", "colour": "blue"}), "colour"),
        (json!({"customer_id": "c", "applicant": "Ada"}), "applicant"),
        (
            json!({"customer_id": "c", "return_url": "ftp://example.com"}),
            "return_url",
        ),
        (
            json!({"customer_id": "c", "return_url": "not a url"}),
            "return_url",
        ),
        (json!({"customer_id": "c", "metadata": many}), "metadata"),
        (
            json!({"customer_id": "c", "metadata": {"k": 1}}),
            "metadata.k",
        ),
        (
            json!({"customer_id": "c", "metadata": {"k": "v".repeat(501)}}),
            "metadata.k",
        ),
        (
            json!({"customer_id": "c", "metadata": {"k".repeat(41): "v"}}),
            "metadata",
        ),
        (json!(["customer_id"]), "body"),
    ]
}

/// Invalid bodies: the applicant's fields.
fn applicant_cases() -> Vec<(Value, &'static str)> {
    vec![
        (
            with_applicant(json!({"nickname": "Ada"})),
            "applicant.nickname",
        ),
        (
            with_applicant(json!({"first_name": ""})),
            "applicant.first_name",
        ),
        (
            with_applicant(json!({"first_name": "a".repeat(101)})),
            "applicant.first_name",
        ),
        (
            with_applicant(json!({"last_name": "a\u{0}b"})),
            "applicant.last_name",
        ),
        (
            with_applicant(json!({"middle_name": 5})),
            "applicant.middle_name",
        ),
        (
            with_applicant(json!({"date_of_birth": "2001-02-29"})),
            "applicant.date_of_birth",
        ),
        (
            with_applicant(json!({"date_of_birth": "2999-01-01"})),
            "applicant.date_of_birth",
        ),
        (
            with_applicant(json!({"date_of_birth": "01/02/1990"})),
            "applicant.date_of_birth",
        ),
        (
            with_applicant(json!({"email": "no-at-sign"})),
            "applicant.email",
        ),
        (with_applicant(json!({"email": "a@b"})), "applicant.email"),
        (
            with_applicant(json!({"phone": "call me"})),
            "applicant.phone",
        ),
        (with_applicant(json!({"phone": "12"})), "applicant.phone"),
        (
            with_applicant(json!({"phone_country_code": "12345"})),
            "applicant.phone_country_code",
        ),
        (
            with_applicant(json!({"country_code": "XX"})),
            "applicant.country_code",
        ),
        (
            with_applicant(json!({"country_code": "lt"})),
            "applicant.country_code",
        ),
        (
            with_applicant(json!({"personal_code": "a b"})),
            "applicant.personal_code",
        ),
        (with_applicant(json!({"ssn": "12-34"})), "applicant.ssn"),
        (with_applicant(json!({"ip": "300.1.1.1"})), "applicant.ip"),
    ]
}

/// Invalid bodies: the applicant's address.
fn address_cases() -> Vec<(Value, &'static str)> {
    vec![
        (address(json!({"street": null})), "applicant.address.street"),
        (
            address(json!({"country": "ZZ"})),
            "applicant.address.country",
        ),
        (
            address(json!({"zip_code": "!!"})),
            "applicant.address.zip_code",
        ),
        (address(json!({"floor": "3"})), "applicant.address.floor"),
    ]
}

#[tokio::test]
async fn every_invalid_body_in_the_table_is_a_400_naming_the_right_field_and_writes_nothing() {
    let stack = stack().await;
    let url = format!("{}/v1/verifications", stack.api_url);
    let cases: Vec<(Value, &str)> = [body_cases(), applicant_cases(), address_cases()].concat();
    assert!(cases.len() >= 30);
    for (body, field) in &cases {
        let a = post_json(&url, body).await;
        assert_eq!(a.refusal(), (400, "validation_failed"), "{body}: {}", a.raw);
        assert_eq!(a.body["error"]["type"], "invalid_request");
        assert!(
            a.body["error"]["fields"].get(*field).is_some(),
            "{body}: {field} not named in {}",
            a.raw
        );
    }
    assert!(items(&stack).await.is_empty(), "nothing written");
    assert_eq!(
        stack.emulator.counters().get("idv_create"),
        None,
        "no provider call"
    );
}

#[tokio::test]
async fn a_pending_verification_is_corrected_with_a_new_hosted_page_and_the_old_one_no_longer_counts(
) {
    let stack = stack().await;
    let v = create(&stack, "cus_fix").await;
    let id = v["id"].as_str().unwrap();
    let old_idv = idv_of(&v);
    let a = patch(
        &stack,
        id,
        Some("fix-1"),
        &json!({"applicant": {"first_name": "Ada", "last_name": "Byron"}}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.raw);
    assert_eq!(a.body["status"], "pending");
    let new_idv = idv_of(&a.body);
    assert_ne!(
        new_idv, old_idv,
        "IDVs cannot be edited: a new one carries the correction"
    );
    assert_eq!(
        stack.emulator.idv(&new_idv).unwrap().registration["lastName"],
        "Byron"
    );
    assert!(
        a.body["history"].as_array().unwrap().last().unwrap()["provider_status"]
            .as_str()
            .unwrap()
            .starts_with("resubmitted")
    );

    // The same PATCH again replays; no second provider call.
    let again = patch(
        &stack,
        id,
        Some("fix-1"),
        &json!({"applicant": {"last_name": "Byron", "first_name": "Ada"}}),
    )
    .await;
    assert_eq!((again.status, again.raw.as_str()), (200, a.raw.as_str()));
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(stack.emulator.counters()["idv_create"], 2);

    // The abandoned page's events are recorded but never applied.
    stack
        .emulator
        .finish(&old_idv, emulator::Outcome::Approve, None)
        .await;
    let fetched = fetch(&stack, id).await;
    assert_eq!(fetched["status"], "pending");
    // The new page decides.
    click(
        a.body["verification_url"].as_str().unwrap(),
        "approve",
        None,
    )
    .await;
    assert_eq!(fetch(&stack, id).await["status"], "approved");
}

#[tokio::test]
async fn patch_is_refused_while_checking_after_approval_and_after_the_end() {
    let stack = stack().await;
    let body = json!({"applicant": {"first_name": "Ada"}});

    let started = create(&stack, "cus_checking").await;
    stack.emulator.begin(&idv_of(&started)).await;
    let a = patch(&stack, started["id"].as_str().unwrap(), None, &body).await;
    assert_eq!(a.refusal(), (409, "verification_in_progress"));

    let approved = create(&stack, "cus_locked").await;
    click(
        approved["verification_url"].as_str().unwrap(),
        "approve",
        None,
    )
    .await;
    let decided_at =
        fetch(&stack, approved["id"].as_str().unwrap()).await["decision"]["decided_at"].clone();
    let a = patch(
        &stack,
        approved["id"].as_str().unwrap(),
        Some("lock-key"),
        &body,
    )
    .await;
    assert_eq!(a.refusal(), (409, "verification_locked"));
    assert_eq!(a.body["error"]["verified_at"], decided_at);
    let again = post_json(
        &format!("{}/v1/verifications", stack.api_url),
        &json!({"customer_id": "cus_locked"}),
    )
    .await;
    assert_eq!(again.refusal(), (409, "customer_already_verified"));
    assert_eq!(again.body["error"]["verified_at"], decided_at);

    let rejected = create(&stack, "cus_ended").await;
    click(
        rejected["verification_url"].as_str().unwrap(),
        "reject",
        None,
    )
    .await;
    let a = patch(&stack, rejected["id"].as_str().unwrap(), None, &body).await;
    assert_eq!(a.refusal(), (409, "verification_ended"));
    assert_eq!(
        stack.emulator.counters()["idv_create"],
        3,
        "no provider call for a refused PATCH"
    );
}

#[tokio::test]
async fn patch_validates_its_body_and_its_target() {
    let stack = stack().await;
    let v = create(&stack, "cus_patchval").await;
    let id = v["id"].as_str().unwrap();
    let a = patch(
        &stack,
        id,
        None,
        &json!({"customer_id": "someone_else", "applicant": {"email": "x"}}),
    )
    .await;
    assert_eq!(a.refusal(), (400, "validation_failed"));
    assert!(a.body["error"]["fields"]["customer_id"].is_array());
    assert!(a.body["error"]["fields"]["applicant.email"].is_array());
    let missing = patch(
        &stack,
        "ver_01ARZ3NDEKTSV4RRFFQ69G5FAV",
        None,
        &json!({"applicant": {}}),
    )
    .await;
    assert_eq!(missing.refusal(), (404, "not_found"));
    let bad_key = patch(&stack, id, Some(""), &json!({"applicant": {}})).await;
    assert_eq!(bad_key.refusal(), (400, "idempotency_key_invalid"));
}
