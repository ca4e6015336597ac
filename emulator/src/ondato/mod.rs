//! Ondato, emulated: the token endpoint, the IDV API, the KYC identifications API, the hosted
//! page at `/?id={idv}`, and webhooks in Ondato's envelope sent with Basic auth.
//!
//! - `api`: `POST /connect/token` (OAuth2 client credentials, tokens expire),
//!   `POST /v1/identity-verifications`, `GET /v1/identity-verifications/{id}`,
//!   `PUT /v1/identity-verifications/{id}/setup-localisations`, `GET /v1/identifications/{id}`,
//!   and the operator control `POST /_emulator/identifications/{id}/update`;
//! - `flow`: the state machine the page drives, each step emitting the webhooks Ondato sends;
//! - `page`: the hosted page and its form actions;
//! - `model`: IDVs and identifications in Ondato's JSON;
//! - `validate`: what a create is refused for (an unknown setup, a prefill not in Ondato's
//!   formats), in ASP.NET's problem-details form.

mod api;
mod flow;
mod kyc_data;
mod model;
mod page;
mod validate;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::Router;
use serde_json::{json, Map, Value};

use crate::{Emulator, Provider};

pub use model::{Idv, Kyc};
pub use page::REJECT_REASONS;

/// The `POST /_emulator/config` key of [`Settings::omit_external_reference_id`].
const OMIT_EXTERNAL_REFERENCE_ID: &str = "ondato_omit_external_reference_id";

/// The marker the registry names.
pub struct Ondato;

/// Ondato's side of the emulator: OAuth client, application, setup, webhook target and
/// credentials. Test values, never real ones.
#[derive(Clone, Debug)]
pub struct Settings {
    pub client_id: String,
    pub client_secret: String,
    pub application_id: String,
    /// The setup the functions are told to create IDVs with; keep it among `setups`.
    pub setup_id: String,
    /// The IDV setups this Ondato account has: a create naming another is refused.
    pub setups: Vec<String>,
    /// Leave `externalReferenceId` out of IDVs, identifications and webhook payloads, as when
    /// an integrator never sent one: the adapter must then find a verification by Ondato's ids.
    pub omit_external_reference_id: bool,
    /// Where webhooks go (`…/v1/webhooks/ondato`); none: events are only recorded.
    pub webhook_url: Option<String>,
    pub webhook_username: String,
    pub webhook_password: String,
    pub token_ttl: Duration,
}

const DEFAULT_SETUP_ID: &str = "00000000-0000-4000-8000-0000000005e7";

impl Default for Settings {
    fn default() -> Self {
        Self {
            client_id: "local-client".into(),
            client_secret: "local-client-secret".into(),
            application_id: "00000000-0000-4000-8000-00000000a991".into(),
            setup_id: DEFAULT_SETUP_ID.into(),
            setups: vec![DEFAULT_SETUP_ID.into()],
            omit_external_reference_id: false,
            webhook_url: None,
            webhook_username: "ondato".into(),
            webhook_password: "local-webhook-password".into(),
            token_ttl: Duration::from_secs(3600),
        }
    }
}

impl Settings {
    /// An IDV's or an identification's JSON as Ondato shows it, in API answers and webhooks.
    pub(crate) fn shown(&self, mut resource: Value) -> Value {
        if self.omit_external_reference_id {
            if let Some(o) = resource.as_object_mut() {
                o.remove("externalReferenceId");
            }
        }
        resource
    }
}

/// What Ondato remembers: issued tokens with their expiry, IDVs and identifications.
#[derive(Default)]
pub struct State {
    pub(crate) tokens: HashMap<String, Instant>,
    pub(crate) idvs: HashMap<String, Idv>,
    pub(crate) kycs: HashMap<String, Kyc>,
}

impl Provider for Ondato {
    const NAME: &'static str = "ondato";
    type Settings = Settings;
    type State = State;

    fn routes() -> Router<Emulator> {
        api::routes().merge(page::routes())
    }

    fn function_env(s: &Settings, base_url: &str) -> Vec<(String, String)> {
        crate::provider::env([
            ("ONDATO_TOKEN_URL", format!("{base_url}/connect/token")),
            ("ONDATO_IDV_API_URL", base_url.to_owned()),
            ("ONDATO_KYC_API_URL", base_url.to_owned()),
            ("ONDATO_HOSTED_URL", format!("{base_url}/")),
            ("ONDATO_CLIENT_ID", s.client_id.clone()),
            ("ONDATO_CLIENT_SECRET", s.client_secret.clone()),
            ("ONDATO_SETUP_ID", s.setup_id.clone()),
            ("ONDATO_WEBHOOK_USERNAME", s.webhook_username.clone()),
            ("ONDATO_WEBHOOK_PASSWORDS", s.webhook_password.clone()),
            ("ONDATO_APPLICATION_ID", s.application_id.clone()),
        ])
    }

    fn set_webhook_url(s: &mut Settings, url: Option<String>) {
        s.webhook_url = url;
    }

    /// `--webhook-url`, `--webhook-username`, `--webhook-password`, `--client-id`,
    /// `--client-secret` (Ondato's flags predate the others, hence no prefix).
    fn parse_flag(s: &mut Settings, flag: &str, value: &str) -> Result<bool, String> {
        let target = match flag {
            "--webhook-url" => {
                s.webhook_url = Some(value.to_owned());
                return Ok(true);
            }
            "--webhook-username" => &mut s.webhook_username,
            "--webhook-password" => &mut s.webhook_password,
            "--client-id" => &mut s.client_id,
            "--client-secret" => &mut s.client_secret,
            _ => return Ok(false),
        };
        value.clone_into(target);
        Ok(true)
    }

    fn webhook_request(
        http: &reqwest::Client,
        s: &Settings,
        _body: &str,
    ) -> Option<reqwest::RequestBuilder> {
        let url = s.webhook_url.as_ref()?;
        Some(
            http.post(url)
                .basic_auth(&s.webhook_username, Some(&s.webhook_password)),
        )
    }

    /// `{"webhook_url": "…"}` redirects Ondato's webhooks (`null` leaves it as it is);
    /// `{"ondato_omit_external_reference_id": true}` leaves `externalReferenceId` out of what
    /// Ondato shows (`null` leaves it as it is).
    fn apply_setting(s: &mut Settings, key: &str, value: &Value) -> Option<Result<(), String>> {
        if key == OMIT_EXTERNAL_REFERENCE_ID {
            return Some(match value {
                Value::Null => Ok(()),
                Value::Bool(on) => {
                    s.omit_external_reference_id = *on;
                    Ok(())
                }
                _ => Err(format!("{OMIT_EXTERNAL_REFERENCE_ID} is true or false")),
            });
        }
        crate::provider::webhook_url_setting("webhook_url", &mut s.webhook_url, key, value)
    }

    fn describe_settings(s: &Settings, out: &mut Map<String, Value>) {
        out.insert("webhook_url".into(), json!(s.webhook_url));
        out.insert(
            OMIT_EXTERNAL_REFERENCE_ID.into(),
            json!(s.omit_external_reference_id),
        );
    }
}

#[cfg(test)]
mod tests;
