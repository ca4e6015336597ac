//! Bond, emulated as strictly as Bond documents itself (providers.md §2), under
//! `/bond/api/v0.1`: customers (create, list, read, update), `verification-kyc` with the sandbox
//! SSNs, document uploads by API or on the page behind each upload link,
//! `/simulate/kyc-pass|kyc-fail`, and webhooks signed with `Bond-Signature`.
//!
//! Bond's answers are sent the way Bond's docs show them, even where they are not JSON: a
//! repeated `Idempotency-Key` gets a lowercase 409 with a trailing comma, a KYC schema error a
//! Python-dict body, a KYC for a customer who passed a 400 with the earlier time in Bond's own
//! format (`2021-02-02-00:50:58.484840+00:00`).
//!
//! - `api`: the KYC endpoints and the key-pair check;
//! - `customers`: the customer endpoints;
//! - `validate`: Bond's field rules; `errors`: Bond's error forms and time format;
//! - `keys`: idempotency keys, and the record of every key received (`/_emulator/bond/keys`);
//! - `flow`: what each sandbox SSN plays, uploads, decisions, and the signed webhook envelope;
//! - `upload`: the page behind an upload link.
//!
//! Settings of `POST /_emulator/config`: `bond_ip_required`, `bond_seed_date_format`,
//! `bond_kyc_status_callback`, `bond_resign_retries`, `bond_signature_age_seconds` (see
//! [`Settings`]).

mod api;
mod customers;
mod erase;
mod errors;
mod flow;
mod keys;
mod kyc_data;
mod upload;
mod validate;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::Router;
use serde_json::{json, Map, Value};

use crate::delivery::AttemptTime;
use crate::{Emulator, Provider};

pub use customers::BondCustomer;
pub(crate) use flow::sign;

/// Where Bond's API lives under the emulator's base.
const BASE: &str = "/bond/api/v0.1";

/// The marker the registry names.
pub struct Bond;

/// Bond's side of the emulator: the API key pair, the program, the webhook secret and target,
/// how long a KYC run takes, and how Bond's webhooks look and are signed. Test values, never
/// real ones.
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
    /// The program requires `ip` on a KYC run (`bond_ip_required`).
    pub ip_required: bool,
    /// `occurred_at` written `2021-02-02-00:50:58.484840+00:00`, as in Bond's docs, instead of
    /// RFC 3339 (`bond_seed_date_format`).
    pub seed_date_format: bool,
    /// An accepted KYC run first sends `{"customer_id": …, "kyc_status": "submitted"}`
    /// (`bond_kyc_status_callback`).
    pub kyc_status_callback: bool,
    /// Each attempt of a delivery is signed with its own time; when off, every attempt carries
    /// the first attempt's `t` and signature (`bond_resign_retries`).
    pub resign_retries: bool,
    /// The first attempt's `t` lies this long before the real time, as if Bond had signed it
    /// then (`bond_signature_age_seconds`).
    pub signature_age_seconds: u64,
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
            ip_required: false,
            seed_date_format: false,
            kyc_status_callback: false,
            resign_retries: true,
            signature_age_seconds: 0,
        }
    }
}

/// What Bond remembers: customers (and their creation order), the idempotency keys accepted
/// requests used with when (each is refused again for 24 h), and every key each endpoint got.
#[derive(Default)]
pub struct State {
    pub(crate) customers: HashMap<String, BondCustomer>,
    pub(crate) order: Vec<String>,
    pub(crate) keys: HashMap<String, Instant>,
    pub(crate) customer_keys: Vec<Option<String>>,
    pub(crate) kyc_keys: Vec<Option<String>>,
}

/// A `POST /_emulator/config` switch: `null` leaves it as it is.
fn switch(target: &mut bool, key: &str, value: &Value) -> Result<(), String> {
    match value {
        Value::Null => Ok(()),
        Value::Bool(b) => {
            *target = *b;
            Ok(())
        }
        _ => Err(format!("{key} is true or false")),
    }
}

impl Provider for Bond {
    const NAME: &'static str = "bond";
    type Settings = Settings;
    type State = State;

    fn routes() -> Router<Emulator> {
        api::routes()
            .merge(customers::routes())
            .merge(keys::routes())
            .merge(upload::routes())
            .merge(erase::routes())
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

    /// Signed as a first attempt made now.
    fn webhook_request(
        http: &reqwest::Client,
        s: &Settings,
        body: &str,
    ) -> Option<reqwest::RequestBuilder> {
        Self::webhook_request_at(http, s, body, AttemptTime::first_at(chrono::Utc::now()))
    }

    /// Signed at send time: `t` is the attempt's time, or the first attempt's when retries are
    /// not re-signed; the first attempt's time lies `signature_age_seconds` back.
    fn webhook_request_at(
        http: &reqwest::Client,
        s: &Settings,
        body: &str,
        at: AttemptTime,
    ) -> Option<reqwest::RequestBuilder> {
        let url = s.webhook_url.as_ref()?;
        let age = i64::try_from(s.signature_age_seconds).unwrap_or(i64::MAX);
        let t = if s.resign_retries && !at.is_first() {
            at.now.timestamp()
        } else {
            at.first.timestamp().saturating_sub(age)
        };
        Some(
            http.post(url)
                .header("bond-signature", signature_header(s, t, body)),
        )
    }

    fn apply_setting(s: &mut Settings, key: &str, value: &Value) -> Option<Result<(), String>> {
        Some(match key {
            "bond_ip_required" => switch(&mut s.ip_required, key, value),
            "bond_seed_date_format" => switch(&mut s.seed_date_format, key, value),
            "bond_kyc_status_callback" => switch(&mut s.kyc_status_callback, key, value),
            "bond_resign_retries" => switch(&mut s.resign_retries, key, value),
            "bond_signature_age_seconds" => match value {
                Value::Null => Ok(()),
                v => v
                    .as_u64()
                    .map(|n| s.signature_age_seconds = n)
                    .ok_or_else(|| format!("{key} is a whole number")),
            },
            _ => return None,
        })
    }

    fn describe_settings(s: &Settings, out: &mut Map<String, Value>) {
        out.insert("bond_ip_required".into(), json!(s.ip_required));
        out.insert("bond_seed_date_format".into(), json!(s.seed_date_format));
        out.insert(
            "bond_kyc_status_callback".into(),
            json!(s.kyc_status_callback),
        );
        out.insert("bond_resign_retries".into(), json!(s.resign_retries));
        out.insert(
            "bond_signature_age_seconds".into(),
            json!(s.signature_age_seconds),
        );
    }
}

/// `t={t},v1={hex},v2={hex}`: HMAC-SHA256 over `{t}.{body}`, in both slots.
pub(crate) fn signature_header(s: &Settings, t: i64, body: &str) -> String {
    let t = t.to_string();
    let sig = sign(s.webhook_secret.as_bytes(), &t, body.as_bytes());
    format!("t={t},v1={sig},v2={sig}")
}

#[cfg(test)]
mod tests;
