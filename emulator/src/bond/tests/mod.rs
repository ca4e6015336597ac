//! Bond's emulation in process: settings, flags, the functions' environment, signing, the key
//! pair, and a document-upload scenario from KYC run to decision; Bond's strict answers in
//! `strict`, the customer list in `listing`, the webhook controls in `webhooks`.

mod listing;
mod strict;
mod webhooks;

use serde_json::json;

use super::{sign, Bond, Settings};
use crate::testing::{call, emulator, wait_for_deliveries, Answer};
use crate::{Emulator, Provider};

fn auth() -> [(&'static str, String); 2] {
    let s = Settings::default();
    [("identity", s.identity), ("authorization", s.authorization)]
}

async fn bond(
    emu: &Emulator,
    method: &str,
    path: &str,
    extra: &[(&str, &str)],
    body: serde_json::Value,
) -> Answer {
    let [(k1, v1), (k2, v2)] = auth();
    let mut headers = vec![(k1, v1.as_str()), (k2, v2.as_str())];
    headers.extend_from_slice(extra);
    call(
        emu,
        method,
        &format!("/bond/api/v0.1{path}"),
        &headers,
        Some(body.to_string()),
    )
    .await
}

/// A customer body valid by Bond's rules.
fn customer_body(person: &str) -> serde_json::Value {
    json!({
        "brand_person_id": person, "dob": "1985-12-10", "first_name": "Ada", "last_name": "King",
        "phone": "2025550111", "phone_country_code": "1", "email": "ada@example.org",
        "addresses": [{"address_type": "PHYSICAL", "street": "2 Analytical Row", "street2": null,
            "city": "Boston", "state": "MA", "zip_code": "02108", "country": "US", "is_primary": true}]
    })
}

async fn customer(emu: &Emulator) -> String {
    let a = bond(emu, "POST", "/customers/", &[], customer_body("p-1")).await;
    assert_eq!(a.status, 201, "{}", a.text);
    a.json()["customer_id"].as_str().unwrap().to_owned()
}

fn kyc_body(ssn: &str) -> serde_json::Value {
    json!({"program_id": Settings::default().program_id, "ssn": ssn, "phone": "2025550111", "email": "a@example.org"})
}

async fn run_kyc(emu: &Emulator, id: &str, key: Option<&str>, body: serde_json::Value) -> Answer {
    let path = format!("/customers/{id}/verification-kyc");
    match key {
        Some(k) => bond(emu, "POST", &path, &[("idempotency-key", k)], body).await,
        None => bond(emu, "POST", &path, &[], body).await,
    }
}

#[test]
fn when_the_functions_env_is_built_should_point_the_base_url_under_the_emulator() {
    let env = Bond::function_env(&Settings::default(), "http://e:1/t/2");
    let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("BOND_BASE_URL"), Some("http://e:1/t/2/bond/api/v0.1"));
    assert_eq!(
        get("BOND_PROGRAM_ID"),
        Some("00000000-0000-4000-8000-0000000b0dff")
    );
    assert_eq!(
        get("BOND_WEBHOOK_SECRETS"),
        Some("local-bond-webhook-secret")
    );
    assert_eq!(env.len(), 5);
}

#[test]
fn when_flags_are_given_should_take_only_bonds() {
    let mut s = Settings::default();
    assert_eq!(
        Bond::parse_flag(&mut s, "--bond-webhook-url", "http://api/b"),
        Ok(true)
    );
    assert_eq!(
        Bond::parse_flag(&mut s, "--bond-webhook-secret", "sh"),
        Ok(true)
    );
    assert_eq!(Bond::parse_flag(&mut s, "--webhook-url", "x"), Ok(false));
    assert_eq!(
        (s.webhook_url.as_deref(), s.webhook_secret.as_str()),
        (Some("http://api/b"), "sh")
    );
}

#[test]
fn when_a_body_is_signed_should_match_the_known_vector() {
    let sig = sign(
        b"local-bond-webhook-secret",
        "1700000000",
        br#"{"event":"kyc.verification.success"}"#,
    );
    assert_eq!(
        sig,
        "ad42a03e9b87b77afcedaa0b679e46c79da660d2c69cba3bef15e343a8c22dab"
    );
}

#[test]
fn when_a_webhook_is_sent_should_carry_a_signature_of_its_time_and_body() {
    let http = crate::testing::http();
    let mut s = Settings::default();
    assert!(Bond::webhook_request(&http, &s, "{}").is_none());
    Bond::set_webhook_url(&mut s, Some("http://api/v1/webhooks/bond".into()));
    let req = Bond::webhook_request(&http, &s, "{\"a\":1}")
        .unwrap()
        .build()
        .unwrap();
    let header = req.headers()["bond-signature"].to_str().unwrap().to_owned();
    let t = header
        .strip_prefix("t=")
        .unwrap()
        .split(',')
        .next()
        .unwrap();
    let sig = sign(s.webhook_secret.as_bytes(), t, b"{\"a\":1}");
    assert_eq!(header, format!("t={t},v1={sig},v2={sig}"));
}

#[tokio::test]
async fn when_the_key_pair_is_wrong_should_answer_bonds_401() {
    let emu = emulator();
    let a = call(
        &emu,
        "GET",
        "/bond/api/v0.1/customers/x",
        &[("identity", "no")],
        None,
    )
    .await;
    assert_eq!(a.status, 401);
    assert_eq!(a.json()["Code"], "unauthorized");
}

#[tokio::test]
async fn when_documents_are_asked_and_uploaded_should_review_then_pass() {
    let emu = emulator();
    let id = customer(&emu).await;
    let a = bond(
        &emu,
        "POST",
        &format!("/customers/{id}/verification-kyc"),
        &[],
        kyc_body("333-33-3333"),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    wait_for_deliveries(&emu, 1).await;
    let asked = emu.deliveries()[0].clone();
    assert_eq!(
        (asked.provider, asked.event_type.as_str()),
        ("bond", "kyc.verification.document_required")
    );
    let body: serde_json::Value = serde_json::from_str(&asked.body).unwrap();
    let link = body["documents"][0]["upload_link"].as_str().unwrap();
    assert_eq!(
        link,
        format!("http://emulator.test/bond/upload/{id}/government_id")
    );
    let page = call(
        &emu,
        "GET",
        &format!("/bond/upload/{id}/government_id"),
        &[],
        None,
    )
    .await;
    assert_eq!(page.status, 200);
    let up = bond(
        &emu,
        "POST",
        &format!("/customers/{id}/verification-kyc/documents"),
        &[],
        json!({"government_id": "x"}),
    )
    .await;
    assert_eq!(up.json()["num_documents_submitted"], 1);
    let events: Vec<String> = emu
        .deliveries()
        .iter()
        .map(|d| d.event_type.clone())
        .collect();
    assert_eq!(
        events,
        [
            "kyc.verification.document_required",
            "kyc.verification.under_review",
            "kyc.verification.success"
        ]
    );
}
