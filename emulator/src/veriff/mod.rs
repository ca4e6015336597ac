//! Veriff, emulated, under `/veriff` (so the functions' base URL is `{base}/veriff`): sessions,
//! their decision, the hosted page at `/veriff/v/{sessionToken}`, and event and decision webhooks
//! signed with `X-AUTH-CLIENT` + `X-HMAC-SIGNATURE` (hex HMAC-SHA256 of the raw body).
//!
//! - `api`: `POST /veriff/v1/sessions`, `GET /veriff/v1/sessions/{id}/decision`, and the test
//!   controls `GET /veriff/_emulator/sessions/{id}`, `POST /veriff/_emulator/sessions/{id}/decide`;
//! - `flow`: the session's state machine (start, submit, the decisions, resubmissions up to the
//!   limit), each step emitting the webhook Veriff sends, and the signature;
//! - `page`: the hosted page and its form actions;
//! - `model`: sessions, decisions, reason codes and their JSON.

mod api;
mod erase;
mod flow;
mod kyc_data;
mod model;
mod page;

use std::collections::HashMap;

use axum::Router;
use serde_json::{json, Map, Value};

use crate::{Emulator, Provider};

pub use flow::{sign, VeriffRefusal};
pub use model::{
    VeriffDecision, VeriffSession, VeriffStatus, DECLINE_REASONS, LIMIT_REASON_CODE,
    MAX_RESUBMISSIONS, RESUBMISSION_REASONS,
};

/// Where Veriff's API and pages live under the emulator's base.
const BASE: &str = "/veriff";

/// The marker the registry names.
pub struct Veriff;

/// Veriff's side of the emulator: the integration's API key and shared secret, and where the
/// webhooks go. Test values, never real ones.
#[derive(Clone, Debug)]
pub struct Settings {
    /// What every request must carry in `X-AUTH-CLIENT`, and what each webhook carries.
    pub api_key: String,
    /// The key of every `X-HMAC-SIGNATURE`, both ways.
    pub shared_secret: String,
    /// Where webhooks go (`…/v1/webhooks/veriff`); none: events are only recorded.
    pub webhook_url: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            api_key: "local-veriff-api-key".into(),
            shared_secret: "local-veriff-shared-secret".into(),
            webhook_url: None,
        }
    }
}

/// What Veriff remembers: its sessions, by id.
#[derive(Default)]
pub struct State {
    pub(crate) sessions: HashMap<String, VeriffSession>,
}

impl Provider for Veriff {
    const NAME: &'static str = "veriff";
    type Settings = Settings;
    type State = State;

    fn routes() -> Router<Emulator> {
        api::routes().merge(page::routes()).merge(erase::routes())
    }

    fn function_env(s: &Settings, base_url: &str) -> Vec<(String, String)> {
        crate::provider::env([
            ("VERIFF_BASE_URL", format!("{base_url}{BASE}")),
            ("VERIFF_API_KEY", s.api_key.clone()),
            ("VERIFF_SHARED_SECRETS", s.shared_secret.clone()),
        ])
    }

    fn set_webhook_url(s: &mut Settings, url: Option<String>) {
        s.webhook_url = url;
    }

    /// `--veriff-webhook-url`, `--veriff-shared-secret`, `--veriff-api-key`.
    fn parse_flag(s: &mut Settings, flag: &str, value: &str) -> Result<bool, String> {
        match flag {
            "--veriff-webhook-url" => s.webhook_url = Some(value.to_owned()),
            "--veriff-shared-secret" => value.clone_into(&mut s.shared_secret),
            "--veriff-api-key" => value.clone_into(&mut s.api_key),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The API key and the signature of the exact body that is sent (no time is signed).
    fn webhook_request(
        http: &reqwest::Client,
        s: &Settings,
        body: &str,
    ) -> Option<reqwest::RequestBuilder> {
        let url = s.webhook_url.as_ref()?;
        Some(http.post(url).header("x-auth-client", &s.api_key).header(
            "x-hmac-signature",
            sign(s.shared_secret.as_bytes(), body.as_bytes()),
        ))
    }

    /// `{"veriff_webhook_url": "…"}` redirects Veriff's webhooks (`null` leaves it as it is).
    fn apply_setting(s: &mut Settings, key: &str, value: &Value) -> Option<Result<(), String>> {
        crate::provider::webhook_url_setting("veriff_webhook_url", &mut s.webhook_url, key, value)
    }

    fn describe_settings(s: &Settings, out: &mut Map<String, Value>) {
        out.insert("veriff_webhook_url".into(), json!(s.webhook_url));
    }
}

#[cfg(test)]
mod tests;
