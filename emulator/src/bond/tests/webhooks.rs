//! The webhook controls: Bond's seed date format, the `submitted` callback, and how retries are
//! signed (re-signed or not, and how old the first signature is).

use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use axum::routing::post;
use chrono::Utc;
use serde_json::json;

use super::super::{Bond, Settings};
use super::{customer, kyc_body, run_kyc};
use crate::testing::{call, emulator, wait_for_deliveries};
use crate::{AttemptTime, Emulator, Provider};

/// The `t` of a `Bond-Signature` header.
fn t_of(header: &str) -> i64 {
    header
        .strip_prefix("t=")
        .and_then(|rest| rest.split(',').next())
        .and_then(|t| t.parse().ok())
        .unwrap()
}

#[tokio::test]
async fn with_the_seed_date_format_occurred_at_is_written_as_bonds_docs_write_it() {
    let emu = emulator();
    emu.update(|c| c.providers.bond.seed_date_format = true);
    let id = customer(&emu).await;
    emu.decide(&id, true).await;
    let body: serde_json::Value = serde_json::from_str(&emu.deliveries()[0].body).unwrap();
    let at = body["occurred_at"].as_str().unwrap();
    // 2021-02-02-00:50:58.484840+00:00
    assert_eq!(
        (at.len(), &at[10..11], &at[26..]),
        (32, "-", "+00:00"),
        "{at}"
    );
    assert!(chrono::NaiveDateTime::parse_from_str(&at[..26], "%Y-%m-%d-%H:%M:%S%.6f").is_ok());
}

#[tokio::test]
async fn by_default_occurred_at_is_rfc_3339() {
    let emu = emulator();
    let id = customer(&emu).await;
    emu.decide(&id, false).await;
    let body: serde_json::Value = serde_json::from_str(&emu.deliveries()[0].body).unwrap();
    let at = body["occurred_at"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok(), "{at}");
}

#[tokio::test]
async fn the_kyc_status_callback_comes_first_exactly_as_documented() {
    let emu = emulator();
    emu.update(|c| c.providers.bond.kyc_status_callback = true);
    let id = customer(&emu).await;
    let a = run_kyc(&emu, &id, None, kyc_body("123-45-6789")).await;
    assert_eq!(a.status, 200, "{}", a.text);
    wait_for_deliveries(&emu, 2).await;
    let d = emu.deliveries();
    assert_eq!(
        d[0].body,
        format!("{{\"customer_id\": \"{id}\", \"kyc_status\": \"submitted\"}}")
    );
    assert_eq!(d[0].resource_id, id);
    assert_eq!(d[1].event_type, "kyc.verification.success");
}

#[tokio::test]
async fn without_the_setting_no_submitted_callback_is_sent() {
    let emu = emulator();
    let id = customer(&emu).await;
    run_kyc(&emu, &id, None, kyc_body("123-45-6789")).await;
    wait_for_deliveries(&emu, 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let events: Vec<String> = emu
        .deliveries()
        .iter()
        .map(|d| d.event_type.clone())
        .collect();
    assert_eq!(events, ["kyc.verification.success"]);
}

fn signed_t(s: &Settings, at: AttemptTime) -> i64 {
    let http = crate::testing::http();
    let req = Bond::webhook_request_at(&http, s, "{}", at)
        .unwrap()
        .build()
        .unwrap();
    t_of(req.headers()["bond-signature"].to_str().unwrap())
}

#[test]
fn an_aged_first_signature_lies_that_many_seconds_back_and_retries_follow_the_setting() {
    let mut s = Settings {
        webhook_url: Some("http://api/v1/webhooks/bond".into()),
        signature_age_seconds: 600,
        ..Settings::default()
    };
    let first = Utc::now();
    let retry = AttemptTime {
        now: first + chrono::Duration::seconds(30),
        first,
    };
    let ts = first.timestamp();
    assert_eq!(signed_t(&s, AttemptTime::first_at(first)), ts - 600);
    assert_eq!(
        signed_t(&s, retry),
        ts + 30,
        "re-signed at the retry's time"
    );
    s.resign_retries = false;
    assert_eq!(signed_t(&s, retry), ts - 600, "the first attempt's t");
    s.signature_age_seconds = 0;
    assert_eq!(signed_t(&s, AttemptTime::first_at(first)), ts);
}

/// A listener that keeps every `Bond-Signature` it receives.
async fn receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let keep = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |headers: HeaderMap| async move {
            let sig = headers["bond-signature"]
                .to_str()
                .unwrap_or_default()
                .to_owned();
            keep.lock().unwrap().push(sig);
            "ok"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

/// A decision delivered, then delivered again a second later (a retry).
async fn two_attempts(emu: &Emulator) {
    let id = customer(emu).await;
    emu.decide(&id, true).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(emu.deliver(0).await, Some(200));
    assert_eq!(emu.deliveries()[0].attempts.len(), 2);
}

#[tokio::test]
async fn without_resigning_every_attempt_of_a_delivery_carries_its_first_t_and_signature() {
    let (url, seen) = receiver().await;
    let emu = emulator();
    emu.update(|c| {
        c.providers.bond.webhook_url = Some(url);
        c.providers.bond.resign_retries = false;
        c.providers.bond.signature_age_seconds = 600;
    });
    two_attempts(&emu).await;
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0], seen[1]);
    assert!(Utc::now().timestamp() - t_of(&seen[0]) >= 600);
}

#[tokio::test]
async fn by_default_each_attempt_is_signed_at_its_own_time() {
    let (url, seen) = receiver().await;
    let emu = emulator();
    emu.update(|c| c.providers.bond.webhook_url = Some(url));
    two_attempts(&emu).await;
    let seen = seen.lock().unwrap().clone();
    assert!(t_of(&seen[1]) > t_of(&seen[0]), "{seen:?}");
    assert!(Utc::now().timestamp() - t_of(&seen[0]) < 5);
}

#[tokio::test]
async fn the_webhook_controls_are_bond_keys_of_the_emulator_config() {
    let emu = emulator();
    let body = json!({"bond_ip_required": true, "bond_seed_date_format": true,
        "bond_kyc_status_callback": true, "bond_resign_retries": false, "bond_signature_age_seconds": 600});
    let a = call(
        &emu,
        "POST",
        "/_emulator/config",
        &[],
        Some(body.to_string()),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    for (k, v) in body.as_object().unwrap() {
        assert_eq!(&a.json()[k], v, "{k}");
    }
    let s = emu.config().providers.bond;
    assert!(s.ip_required && s.seed_date_format && s.kyc_status_callback && !s.resign_retries);
    assert_eq!(s.signature_age_seconds, 600);
    let wrong = json!({"bond_signature_age_seconds": -1}).to_string();
    let a = call(&emu, "POST", "/_emulator/config", &[], Some(wrong)).await;
    assert_eq!(a.status, 422);
    let defaults = Settings::default();
    assert!(
        defaults.resign_retries && !defaults.ip_required && defaults.signature_age_seconds == 0
    );
}
