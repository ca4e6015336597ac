//! Bond's strict answers: repeated idempotency keys, schema errors in Bond's documented forms,
//! the format rules, and a KYC for a customer who passed.

use chrono::{TimeZone, Utc};
use serde_json::json;

use super::super::errors::{bond_time, KEY_EXISTS_BODY};
use super::super::validate::{is_email, is_ipv4, is_phone, is_ssn};
use super::{bond, customer, customer_body, kyc_body, run_kyc};
use crate::testing::{call, emulator};

const LOWERCASE_409: &str = "{\n    \"type\": \"RESOURCE_CONFLICT\",\n    \"code\": \"idempotency_key_exists\",\n    \"message\": \"Idempotency-Key has already been used in the last 24 hours\",\n}";

#[tokio::test]
async fn a_repeated_key_on_a_customer_post_gets_the_lowercase_409_byte_for_byte() {
    let emu = emulator();
    let key = [("idempotency-key", "c-1")];
    let first = bond(&emu, "POST", "/customers/", &key, customer_body("p-1")).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let again = bond(&emu, "POST", "/customers/", &key, customer_body("p-1")).await;
    assert_eq!(again.status, 409);
    assert_eq!(again.text, LOWERCASE_409);
    assert_eq!(KEY_EXISTS_BODY, LOWERCASE_409);
    assert_eq!(again.headers["content-type"], "application/json");
    assert_eq!(emu.counters()["bond_customers_created"], 1);
    assert_eq!(emu.inner().providers.bond.customers.len(), 1);
}

#[tokio::test]
async fn a_repeated_key_on_a_kyc_post_gets_the_lowercase_409_and_changes_nothing() {
    let emu = emulator();
    let id = customer(&emu).await;
    let first = run_kyc(&emu, &id, Some("k-1"), kyc_body("000-00-0000")).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let again = run_kyc(&emu, &id, Some("k-1"), kyc_body("000-00-0000")).await;
    assert_eq!(
        (again.status.as_u16(), again.text.as_str()),
        (409, LOWERCASE_409)
    );
    assert_eq!(emu.counters()["bond_kyc_runs"], 1);
    assert_eq!(emu.inner().providers.bond.customers[&id].kyc_runs, 1);
}

#[tokio::test]
async fn a_key_used_to_create_a_customer_is_refused_on_a_kyc_too() {
    let emu = emulator();
    let key = [("idempotency-key", "shared")];
    let created = bond(&emu, "POST", "/customers/", &key, customer_body("p-1")).await;
    let id = created.json()["customer_id"].as_str().unwrap().to_owned();
    let kyc = run_kyc(&emu, &id, Some("shared"), kyc_body("000-00-0000")).await;
    assert_eq!(kyc.status, 409);
    assert_eq!(emu.counters().get("bond_kyc_runs"), None);
}

#[tokio::test]
async fn a_refused_request_leaves_its_key_unused() {
    let emu = emulator();
    let id = customer(&emu).await;
    let mut bad = kyc_body("000-00-0000");
    bad["ssn"] = json!(null);
    let refused = run_kyc(&emu, &id, Some("k-1"), bad).await;
    assert_eq!(refused.status, 400);
    let taken = run_kyc(&emu, &id, Some("k-1"), kyc_body("000-00-0000")).await;
    assert_eq!(taken.status, 200, "{}", taken.text);
}

#[tokio::test]
async fn every_key_received_is_recorded_in_order_refused_ones_included() {
    let emu = emulator();
    let key = [("idempotency-key", "c-1")];
    bond(&emu, "POST", "/customers/", &key, customer_body("p-1")).await;
    let id = customer(&emu).await;
    run_kyc(&emu, &id, Some("k-1"), kyc_body("000-00-0000")).await;
    run_kyc(&emu, &id, Some("k-1"), kyc_body("000-00-0000")).await;
    run_kyc(&emu, &id, None, kyc_body("000-00-0000")).await;
    run_kyc(&emu, &id, Some("k-2"), kyc_body("000-00-0000")).await;
    let some = |k: &str| Some(k.to_owned());
    assert_eq!(emu.bond_customer_keys(), [some("c-1"), None]);
    assert_eq!(
        emu.bond_kyc_keys(),
        [some("k-1"), some("k-1"), None, some("k-2")]
    );
    let control = call(&emu, "GET", "/_emulator/bond/keys", &[], None).await;
    assert_eq!(
        control.json(),
        json!({"customers": ["c-1", null], "kyc": ["k-1", "k-1", null, "k-2"]})
    );
}

#[tokio::test]
async fn a_kyc_without_ssn_gets_bonds_python_dict_body_byte_for_byte() {
    let emu = emulator();
    let id = customer(&emu).await;
    let mut body = kyc_body("x");
    body.as_object_mut().unwrap().remove("ssn");
    let a = run_kyc(&emu, &id, None, body).await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.text,
        "{'Message': {ssn: ['Missing data for required field.']}, 'Status': 400, 'Code': 'kyc_post_schema', 'Type': 'Request Error'}"
    );
    assert_eq!(emu.counters().get("bond_kyc_runs"), None);
}

#[tokio::test]
async fn a_kyc_with_several_bad_fields_lists_them_in_bonds_order() {
    let emu = emulator();
    let id = customer(&emu).await;
    let body = json!({"program_id": "someone-else", "ssn": "12-345-6789", "phone": "(202) 555",
        "phone_country_code": "1234", "email": "ada at example.org", "ip": "300.1.1.1"});
    let a = run_kyc(&emu, &id, None, body).await;
    assert_eq!(
        a.text,
        "{'Message': {program_id: ['Unknown program.'], ssn: ['Not a valid SSN.'], \
phone: ['Not a valid phone number.'], phone_country_code: ['Not a valid phone country code.'], \
email: ['Not a valid email address.'], ip: ['Not a valid IPv4 address.']}, \
'Status': 400, 'Code': 'kyc_post_schema', 'Type': 'Request Error'}"
    );
}

#[test]
fn each_kyc_format_follows_bonds_rules() {
    assert!(is_ssn("123456789") && is_ssn("123-45-6789"));
    assert!(!is_ssn("12345678") && !is_ssn("123-456-789") && !is_ssn("abc-de-fghi"));
    assert!(is_phone("2025550111") && is_phone("202-555-0111"));
    assert!(!is_phone("+12025550111") && !is_phone("202--555") && !is_phone("202 555"));
    assert!(is_email("ada@example.org") && is_email("a.b+c@mail.example.co"));
    assert!(!is_email("ada@example") && !is_email("a da@example.org") && !is_email("@x.org"));
    assert!(is_ipv4("203.0.113.9") && !is_ipv4("2001:db8::1") && !is_ipv4("1.2.3"));
}

#[tokio::test]
async fn an_ip_is_required_only_when_the_program_says_so() {
    let emu = emulator();
    let id = customer(&emu).await;
    let taken = run_kyc(&emu, &id, None, kyc_body("000-00-0000")).await;
    assert_eq!(taken.status, 200, "{}", taken.text);
    let other = customer(&emu).await;
    emu.update(|c| c.providers.bond.ip_required = true);
    let refused = run_kyc(&emu, &other, None, kyc_body("000-00-0000")).await;
    assert!(
        refused
            .text
            .contains("ip: ['Missing data for required field.']"),
        "{}",
        refused.text
    );
    let mut with_ip = kyc_body("000-00-0000");
    with_ip["ip"] = json!("203.0.113.9");
    assert_eq!(run_kyc(&emu, &other, None, with_ip).await.status, 200);
}

#[tokio::test]
async fn a_customer_post_with_bad_fields_gets_bonds_pascalcase_json() {
    let emu = emulator();
    let mut body = customer_body("p-1");
    body["dob"] = json!("1985-02-30");
    body["first_name"] = json!("A".repeat(51));
    body["email"] = json!("not-an-email");
    body.as_object_mut().unwrap().remove("last_name");
    let a = bond(&emu, "POST", "/customers/", &[], body).await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.json(),
        json!({"Message": {
            "dob": ["Not a valid date."],
            "first_name": ["Length must be between 1 and 50."],
            "last_name": ["Missing data for required field."],
            "email": ["Not a valid email address."]},
         "Status": 400, "Code": "customer_post_schema", "Type": "Request Error"})
    );
    assert_eq!(emu.counters().get("bond_customers_created"), None);
}

#[tokio::test]
async fn a_customer_needs_a_primary_address_with_every_part() {
    let emu = emulator();
    let mut body = customer_body("p-1");
    body["addresses"][0]["is_primary"] = json!(false);
    let a = bond(&emu, "POST", "/customers/", &[], body.clone()).await;
    assert_eq!(
        a.json()["Message"],
        json!({"addresses": ["At least one address must be primary."]})
    );
    body["addresses"][0]["state"] = json!(null);
    let a = bond(&emu, "POST", "/customers/", &[], body.clone()).await;
    assert_eq!(
        a.json()["Message"],
        json!({"addresses": {"0": {"state": ["Missing data for required field."]}}})
    );
    body["addresses"] = json!([]);
    let a = bond(&emu, "POST", "/customers/", &[], body).await;
    assert_eq!(
        a.json()["Message"],
        json!({"addresses": ["Missing data for required field."]})
    );
}

#[test]
fn bonds_time_format_joins_date_and_time_with_a_dash() {
    let at = Utc.with_ymd_and_hms(2021, 2, 2, 0, 50, 58).unwrap()
        + chrono::Duration::microseconds(484_840);
    assert_eq!(bond_time(at), "2021-02-02-00:50:58.484840+00:00");
}

#[tokio::test]
async fn a_kyc_for_a_customer_who_passed_gets_400_with_the_earlier_time_in_bonds_format() {
    let emu = emulator();
    let id = customer(&emu).await;
    emu.decide(&id, true).await;
    let passed_at = emu.inner().providers.bond.customers[&id].passed_at.unwrap();
    let a = run_kyc(&emu, &id, Some("k-2"), kyc_body("000-00-0000")).await;
    assert_eq!(
        (a.status.as_u16(), a.json()),
        (
            400,
            json!({"Message": format!("KYC already completed successfully on {}", bond_time(passed_at)),
                "Status": 400, "Code": "kyc_post_error", "Type": "Request Error"})
        )
    );
    let status = bond(
        &emu,
        "GET",
        &format!("/customers/{id}/verification-kyc"),
        &[],
        json!(null),
    )
    .await;
    assert_eq!(status.json()["kyc_status"], "passed");
    assert_eq!(emu.counters().get("bond_kyc_runs"), None);
}

/// What the adapter sends for the integration tests' applicant (`tests/it/bond.rs`) passes.
#[tokio::test]
async fn the_integration_tests_bond_applicant_passes_bonds_rules() {
    let emu = emulator();
    let body = json!({"brand_person_id": "cus_1", "first_name": "Grace", "last_name": "Hopper",
        "dob": "1986-12-09", "phone": "2025550147", "phone_country_code": "1", "email": "grace@example.com",
        "addresses": [{"address_type": "PHYSICAL", "street": "1 Navy Way", "street2": null, "city": "Arlington",
            "state": "VA", "zip_code": "22202", "country": "US", "is_primary": true}]});
    let created = bond(
        &emu,
        "POST",
        "/customers/",
        &[("idempotency-key", "c")],
        body,
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json()["customer_id"].as_str().unwrap().to_owned();
    let mut kyc = kyc_body("123-45-6789");
    kyc["phone"] = json!("2025550147");
    kyc["phone_country_code"] = json!("1");
    kyc["email"] = json!("grace@example.com");
    kyc["ip"] = json!("203.0.113.9");
    emu.update(|c| c.providers.bond.ip_required = true);
    assert_eq!(run_kyc(&emu, &id, Some("v-kyc-1"), kyc).await.status, 200);
}
