//! Veriff's emulation in process: settings, flags and the functions' environment here; the API
//! and the test controls in `api`; the page and the flows (webhooks received and their signatures
//! checked, resubmissions, review) in `flow`.

mod api;
mod flow;

use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use super::{sign, Settings, Veriff};
use crate::testing::{call, Answer};
use crate::{Emulator, EmulatorConfig, Provider};

const KEY: &str = "local-veriff-api-key";
const SECRET: &str = "local-veriff-shared-secret";

/// Whether `hex` is the HMAC-SHA256 of `message` with `secret`, checked with the `hmac` crate
/// (not with the emulator's own `sign`).
fn signed(secret: &str, message: &[u8], hex: &str) -> bool {
    let Some(bytes) = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(message);
    hex.len() == 64 && mac.verify_slice(&bytes).is_ok()
}

/// `POST /veriff/v1/sessions` with the API key.
async fn create(emu: &Emulator, body: &Value) -> Answer {
    let headers = [("x-auth-client", KEY)];
    call(
        emu,
        "POST",
        "/veriff/v1/sessions",
        &headers,
        Some(body.to_string()),
    )
    .await
}

/// A new session for `ver_1` with a prefill: its id and page token.
async fn session(emu: &Emulator) -> (String, String) {
    let body = json!({"verification": {"vendorData": "ver_1", "callback": "http://app/done",
        "person": {"firstName": "Ada", "lastName": "King", "dateOfBirth": "1985-12-10", "idNumber": "48512100000"}}});
    let a = create(emu, &body).await;
    assert_eq!(a.status, 201, "{}", a.text);
    let v = a.json()["verification"].clone();
    let field = |k: &str| v[k].as_str().unwrap().to_owned();
    (field("id"), field("sessionToken"))
}

/// `GET …/decision`, signed over `signed_id` (the session's own id for a valid request).
async fn decision_signed(emu: &Emulator, id: &str, signed_id: &str) -> Answer {
    let signature = sign(SECRET.as_bytes(), signed_id.as_bytes());
    let headers = [("x-auth-client", KEY), ("x-hmac-signature", &signature)];
    let path = format!("/veriff/v1/sessions/{id}/decision");
    call(emu, "GET", &path, &headers, None).await
}

async fn decision(emu: &Emulator, id: &str) -> Value {
    let a = decision_signed(emu, id, id).await;
    assert_eq!(a.status, 200, "{}", a.text);
    a.json()
}

/// One form action on the hosted page.
async fn click(emu: &Emulator, token: &str, action: &str, reason: Option<&str>) -> Answer {
    let mut form = format!("action={action}");
    if let Some(r) = reason {
        form.push_str(&format!("&reason={r}"));
    }
    let headers = [("content-type", "application/x-www-form-urlencoded")];
    call(
        emu,
        "POST",
        &format!("/veriff/v/{token}"),
        &headers,
        Some(form),
    )
    .await
}

/// The webhook kinds recorded so far, in order.
fn kinds(emu: &Emulator) -> Vec<String> {
    emu.deliveries()
        .iter()
        .map(|d| d.event_type.clone())
        .collect()
}

/// Webhooks received by a stand-in of our API: headers and raw body of each, in order.
type Received = Arc<Mutex<Vec<(HeaderMap, String)>>>;

/// An emulator whose Veriff webhooks go to a local receiver that answers 200.
async fn with_receiver() -> (Emulator, Received) {
    let received: Received = Arc::default();
    let store = received.clone();
    let app = axum::Router::new().route(
        "/v1/webhooks/veriff",
        axum::routing::post(move |headers: HeaderMap, body: String| async move {
            store.lock().unwrap().push((headers, body));
            "ok"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let emu = crate::testing::emulator();
    emu.set_api_url(&format!("http://{addr}"));
    (emu, received)
}

#[test]
fn when_the_functions_env_is_built_should_point_the_base_url_under_the_emulator() {
    let env = Veriff::function_env(&Settings::default(), "http://e:1/t/2");
    let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("VERIFF_BASE_URL"), Some("http://e:1/t/2/veriff"));
    assert_eq!(get("VERIFF_API_KEY"), Some(KEY));
    assert_eq!(get("VERIFF_SHARED_SECRETS"), Some(SECRET));
    assert_eq!(env.len(), 3);
    let all = crate::testing::emulator().function_env();
    let providers = all.iter().find(|(k, _)| k == "PROVIDERS").unwrap();
    assert!(
        providers.1.split(',').any(|p| p == "veriff"),
        "{providers:?}"
    );
}

#[test]
fn when_flags_are_given_should_take_only_veriffs() {
    let mut s = Settings::default();
    for (flag, value) in [
        ("--veriff-webhook-url", "http://api/v1/webhooks/veriff"),
        ("--veriff-shared-secret", "sh"),
        ("--veriff-api-key", "k"),
    ] {
        assert_eq!(Veriff::parse_flag(&mut s, flag, value), Ok(true), "{flag}");
    }
    assert_eq!(Veriff::parse_flag(&mut s, "--webhook-url", "x"), Ok(false));
    assert_eq!(
        s.webhook_url.as_deref(),
        Some("http://api/v1/webhooks/veriff")
    );
    assert_eq!((s.shared_secret.as_str(), s.api_key.as_str()), ("sh", "k"));
    let mut c = EmulatorConfig::default();
    assert_eq!(c.parse_flag("--veriff-shared-secret", "other"), Ok(true));
    assert_eq!(c.providers.veriff.shared_secret, "other");
}

#[test]
fn when_the_config_control_sets_the_webhook_url_should_show_it_back() {
    let mut c = EmulatorConfig::default();
    let patch = json!({"veriff_webhook_url": "http://elsewhere/hook"});
    c.apply_patch(patch.as_object().unwrap()).unwrap();
    let url = c.providers.veriff.webhook_url.as_deref();
    assert_eq!(url, Some("http://elsewhere/hook"));
    assert_eq!(c.describe()["veriff_webhook_url"], "http://elsewhere/hook");
    let wrong = json!({"veriff_webhook_url": 3});
    assert!(c.apply_patch(wrong.as_object().unwrap()).is_err());
}

#[test]
fn when_a_webhook_is_sent_should_carry_the_key_and_a_signature_of_the_body() {
    let http = crate::testing::http();
    let mut s = Settings::default();
    assert!(Veriff::webhook_request(&http, &s, "{}").is_none());
    let mut c = EmulatorConfig::default();
    c.providers.set_api_url("http://api/");
    s.webhook_url = c.providers.veriff.webhook_url;
    let body = "{\"id\":\"s-1\"}";
    let req = Veriff::webhook_request(&http, &s, body)
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(req.url().as_str(), "http://api/v1/webhooks/veriff");
    assert_eq!(req.headers()["x-auth-client"], KEY);
    let signature = req.headers()["x-hmac-signature"].to_str().unwrap();
    assert!(signed(SECRET, body.as_bytes(), signature), "{signature}");
    assert!(!signed(SECRET, b"{}", signature));
}
