//! Bond's emulation in process: settings, flags, the functions' environment, signing, the key
//! pair, idempotency keys, and a document-upload scenario from KYC run to decision.

use serde_json::json;

use super::{sign, Bond, Settings};
use crate::testing::{call, emulator, wait_for_deliveries};
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
) -> crate::testing::Answer {
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

async fn customer(emu: &Emulator) -> String {
    let body = json!({"brand_person_id": "p-1", "dob": "1985-12-10", "first_name": "Ada", "last_name": "King", "addresses": [{}]});
    let a = bond(emu, "POST", "/customers/", &[], body).await;
    assert_eq!(a.status, 201, "{}", a.text);
    a.json()["customer_id"].as_str().unwrap().to_owned()
}

fn kyc_body(ssn: &str) -> serde_json::Value {
    json!({"program_id": Settings::default().program_id, "ssn": ssn, "phone": "2025550111", "email": "a@example.org"})
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
async fn when_a_key_is_reused_should_refuse_the_second_run() {
    let emu = emulator();
    let id = customer(&emu).await;
    let path = format!("/customers/{id}/verification-kyc");
    let first = bond(
        &emu,
        "POST",
        &path,
        &[("idempotency-key", "k-1")],
        kyc_body("000-00-0000"),
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.text);
    let again = bond(
        &emu,
        "POST",
        &path,
        &[("idempotency-key", "k-1")],
        kyc_body("000-00-0000"),
    )
    .await;
    assert_eq!(
        (again.status.as_u16(), again.json()["Code"].clone()),
        (409, json!("idempotency_key_exists"))
    );
    assert_eq!(emu.counters()["bond_kyc_runs"], 1);
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
