//! Bond, emulated (providers.md §2), under `/bond/api/v0.1`: customers, `verification-kyc` with
//! idempotency keys and the sandbox SSNs, document uploads by API or on the page behind each
//! upload link, `/simulate/kyc-pass|kyc-fail`, and webhooks signed with `Bond-Signature`.
//!
//! - `api`: the endpoints, behind the `Identity` + `Authorization` key pair;
//! - `flow`: what each sandbox SSN plays, uploads, decisions, and the signed webhook envelope;
//! - `upload`: the page behind an upload link.

mod api;
mod flow;
mod upload;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::Router;

use crate::{Emulator, Provider};

pub use api::BondCustomer;
pub(crate) use flow::sign;

/// Where Bond's API lives under the emulator's base.
const BASE: &str = "/bond/api/v0.1";

/// The marker the registry names.
pub struct Bond;

/// Bond's side of the emulator: the API key pair, the program, the webhook secret and target,
/// and how long a KYC run takes. Test values, never real ones.
#[derive(Clone, Debug)]
pub struct Settings {
    pub identity: String,
    pub authorization: String,
    pub program_id: String,
    pub webhook_secret: String,
    /// Where webhooks go (`…/v1/webhooks/bond`); none: events are only recorded.
    pub webhook_url: Option<String>,
    /// How long Bond takes to send the result of a KYC run.
    pub result_delay: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            identity: "00000000-0000-4000-8000-0000000b0d1d".into(),
            authorization: "local-bond-authorization".into(),
            program_id: "00000000-0000-4000-8000-0000000b0dff".into(),
            webhook_secret: "local-bond-webhook-secret".into(),
            webhook_url: None,
            result_delay: Duration::from_millis(50),
        }
    }
}

/// What Bond remembers: customers, and the idempotency keys seen with when (each is refused
/// again for 24 h).
#[derive(Default)]
pub struct State {
    pub(crate) customers: HashMap<String, BondCustomer>,
    pub(crate) keys: HashMap<String, Instant>,
}

impl Provider for Bond {
    const NAME: &'static str = "bond";
    type Settings = Settings;
    type State = State;

    fn routes() -> Router<Emulator> {
        api::routes().merge(upload::routes())
    }

    fn function_env(s: &Settings, base_url: &str) -> Vec<(String, String)> {
        crate::provider::env([
            ("BOND_BASE_URL", format!("{base_url}{BASE}")),
            ("BOND_IDENTITY", s.identity.clone()),
            ("BOND_AUTHORIZATION", s.authorization.clone()),
            ("BOND_PROGRAM_ID", s.program_id.clone()),
            ("BOND_WEBHOOK_SECRETS", s.webhook_secret.clone()),
        ])
    }

    fn set_webhook_url(s: &mut Settings, url: Option<String>) {
        s.webhook_url = url;
    }

    /// `--bond-webhook-url`, `--bond-webhook-secret`.
    fn parse_flag(s: &mut Settings, flag: &str, value: &str) -> Result<bool, String> {
        match flag {
            "--bond-webhook-url" => s.webhook_url = Some(value.to_owned()),
            "--bond-webhook-secret" => value.clone_into(&mut s.webhook_secret),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Signed at send time: `t` is the attempt's time.
    fn webhook_request(
        http: &reqwest::Client,
        s: &Settings,
        body: &str,
    ) -> Option<reqwest::RequestBuilder> {
        let url = s.webhook_url.as_ref()?;
        let t = chrono::Utc::now().timestamp().to_string();
        let sig = sign(s.webhook_secret.as_bytes(), &t, body.as_bytes());
        Some(
            http.post(url)
                .header("bond-signature", format!("t={t},v1={sig},v2={sig}")),
        )
    }
}

#[cfg(test)]
mod tests;
