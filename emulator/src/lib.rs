//! A provider emulator that speaks Ondato's wire format, for the local stack and the tests.
//!
//! - `POST /connect/token`: OAuth2 client credentials (form), tokens expire.
//! - `POST /v1/identity-verifications`, `GET /v1/identity-verifications/{id}`,
//!   `PUT /v1/identity-verifications/{id}/setup-localisations`: the IDV API (bearer token).
//! - `GET /v1/identifications/{id}`: the KYC identifications API (bearer token).
//! - `GET /?id={idv}`: the hosted page where a person approves or rejects; each step sends the
//!   webhooks Ondato would send, in Ondato's envelope, with Basic auth, before the page answers.
//! - `/_emulator/...`: test controls (counters, deliveries, redelivery, manual delivery).

mod bond;
mod ondato;
mod page;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

pub use bond::BondCustomer;
pub use ondato::{Idv, Kyc, Outcome};

/// How the emulator is set up. Credentials are test values, never real ones.
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    pub client_id: String,
    pub client_secret: String,
    pub application_id: String,
    /// Where Ondato webhooks go (`…/v1/webhooks/ondato`); none: events are only recorded.
    pub webhook_url: Option<String>,
    pub webhook_username: String,
    pub webhook_password: String,
    pub token_ttl: Duration,
    /// Deliver webhooks as they happen; when off they wait for `/_emulator/deliveries/{n}/deliver`.
    pub auto_deliver: bool,
    /// Bond: the API key pair, the program, the webhook secret and where webhooks go.
    pub bond_identity: String,
    pub bond_authorization: String,
    pub bond_program_id: String,
    pub bond_webhook_secret: String,
    pub bond_webhook_url: Option<String>,
    /// How long Bond takes to send the result of a KYC run.
    pub bond_result_delay: Duration,
    /// The emulator's own address, for links it hands out (set when it starts serving).
    pub public_url: Option<String>,
    /// Webhook chaos, as standing settings: every webhook sent twice; each held until the next
    /// one and sent after it (out of order); sent late; or recorded and never sent.
    pub duplicate_webhooks: bool,
    pub reorder_webhooks: bool,
    pub webhook_delay: Duration,
    pub drop_webhooks: bool,
    /// When set, every new IDV completes by itself with this outcome (no page needed).
    pub default_outcome: Option<Outcome>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            client_id: "local-client".into(),
            client_secret: "local-client-secret".into(),
            application_id: "00000000-0000-4000-8000-00000000a991".into(),
            webhook_url: None,
            webhook_username: "ondato".into(),
            webhook_password: "local-webhook-password".into(),
            token_ttl: Duration::from_secs(3600),
            auto_deliver: true,
            bond_identity: "00000000-0000-4000-8000-0000000b0d1d".into(),
            bond_authorization: "local-bond-authorization".into(),
            bond_program_id: "00000000-0000-4000-8000-0000000b0dff".into(),
            bond_webhook_secret: "local-bond-webhook-secret".into(),
            bond_webhook_url: None,
            bond_result_delay: Duration::from_millis(50),
            public_url: None,
            duplicate_webhooks: false,
            reorder_webhooks: false,
            webhook_delay: Duration::ZERO,
            drop_webhooks: false,
            default_outcome: None,
        }
    }
}

/// One webhook the emulator produced, and every attempt to deliver it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Delivery {
    pub seq: usize,
    /// `ondato` or `bond`: decides the URL and how the delivery is authenticated.
    pub provider: &'static str,
    pub event_id: String,
    pub event_type: String,
    pub resource_id: String,
    pub created_utc: String,
    #[serde(skip)]
    pub body: String,
    pub attempts: Vec<Attempt>,
}

impl Delivery {
    /// The exact body that is sent (tests build forged variants from it).
    pub fn body_for_tests(&self) -> String {
        self.body.clone()
    }
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Attempt {
    pub status: Option<u16>,
    pub at: String,
}

#[derive(Default)]
pub(crate) struct Inner {
    pub tokens: HashMap<String, std::time::Instant>,
    pub bond_customers: HashMap<String, bond::BondCustomer>,
    /// Bond idempotency keys seen, with when (they are refused again for 24 h).
    pub bond_keys: HashMap<String, std::time::Instant>,
    /// Per endpoint, how long the next calls wait before answering (after doing their work).
    pub delays: HashMap<String, std::collections::VecDeque<Duration>>,
    pub idvs: HashMap<String, Idv>,
    pub kycs: HashMap<String, Kyc>,
    pub deliveries: Vec<Delivery>,
    pub counters: BTreeMap<String, usize>,
    /// Answers to give instead of the real ones, per endpoint, next first.
    pub faults: HashMap<String, std::collections::VecDeque<u16>>,
    /// A webhook held back to be sent after the next one (reorder mode).
    pub held: Option<usize>,
    pub last_event_at: Option<DateTime<Utc>>,
}

pub(crate) struct Shared {
    pub config: Mutex<EmulatorConfig>,
    pub inner: Mutex<Inner>,
    pub http: reqwest::Client,
}

/// A handle on the emulator's state, shared with the server.
#[derive(Clone)]
pub struct Emulator(pub(crate) Arc<Shared>);

impl Emulator {
    pub fn new(config: EmulatorConfig) -> Self {
        // Builds from fixed settings only: a failure is a build-time mismatch of TLS crates.
        let http = shared::net::client_builder()
            .expect("the TLS configuration builds")
            .timeout(Duration::from_secs(30))
            .build()
            .expect("the webhook client builds");
        Self(Arc::new(Shared {
            config: Mutex::new(config),
            inner: Mutex::new(Inner::default()),
            http,
        }))
    }

    /// Send a newly recorded webhook the way the settings say.
    pub(crate) async fn dispatch(&self, seq: usize) {
        let config = self.config();
        if !config.auto_deliver || config.drop_webhooks {
            return;
        }
        if config.reorder_webhooks {
            // Hold this one; the next one goes first. A lone held webhook goes after a moment.
            let previous = self.inner().held.replace(seq);
            match previous {
                Some(prev) => {
                    self.inner().held = None;
                    self.send(seq, &config).await;
                    self.send(prev, &config).await;
                }
                None => {
                    let emu = self.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        let still = emu.inner().held.take_if(|h| *h == seq);
                        if still.is_some() {
                            let config = emu.config();
                            emu.send(seq, &config).await;
                        }
                    });
                }
            }
            return;
        }
        if !config.webhook_delay.is_zero() {
            let emu = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(config.webhook_delay).await;
                emu.send(seq, &config).await;
            });
            return;
        }
        self.send(seq, &config).await;
    }

    async fn send(&self, seq: usize, config: &EmulatorConfig) {
        self.deliver(seq).await;
        if config.duplicate_webhooks {
            self.deliver(seq).await;
        }
    }

    pub(crate) fn inner(&self) -> MutexGuard<'_, Inner> {
        self.0
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn config(&self) -> EmulatorConfig {
        self.0
            .config
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn set_webhook_url(&self, url: Option<String>) {
        self.0
            .config
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .webhook_url = url;
    }

    /// Change the settings in place.
    pub fn update(&self, change: impl FnOnce(&mut EmulatorConfig)) {
        change(&mut self.0.config.lock().unwrap_or_else(|p| p.into_inner()));
    }

    pub fn set_auto_deliver(&self, on: bool) {
        self.0
            .config
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .auto_deliver = on;
    }

    /// Make the next `times` calls of `endpoint` (`token`, `idv_create`, `idv_get`, `kyc_get`, ...)
    /// answer `status` instead.
    pub fn fail_next(&self, endpoint: &str, status: u16, times: usize) {
        self.inner()
            .faults
            .entry(endpoint.to_owned())
            .or_default()
            .extend(std::iter::repeat_n(status, times));
    }

    /// Make the next `times` calls of `endpoint` do their work, then wait `delay` before answering
    /// (a provider that took the request but answered too late).
    pub fn delay_next(&self, endpoint: &str, delay: Duration, times: usize) {
        self.inner()
            .delays
            .entry(endpoint.to_owned())
            .or_default()
            .extend(std::iter::repeat_n(delay, times));
    }

    pub(crate) async fn pause(&self, endpoint: &str) {
        let delay = self
            .inner()
            .delays
            .get_mut(endpoint)
            .and_then(|q| q.pop_front());
        if let Some(d) = delay {
            tokio::time::sleep(d).await;
        }
    }

    /// Count a call of `endpoint` and take its next injected fault, if any.
    pub(crate) fn call(&self, endpoint: &str) -> Option<Response> {
        let mut inner = self.inner();
        *inner.counters.entry(endpoint.to_owned()).or_default() += 1;
        let status = inner.faults.get_mut(endpoint).and_then(|q| q.pop_front())?;
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Some(
            (
                status,
                Json(json!({"message": "fault injected by the emulator"})),
            )
                .into_response(),
        )
    }

    /// Calls per endpoint (`token`, `idv_create`, `idv_get`, `kyc_get`, ...).
    pub fn counters(&self) -> BTreeMap<String, usize> {
        self.inner().counters.clone()
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.inner().deliveries.clone()
    }

    pub fn idv(&self, id: &str) -> Option<Idv> {
        self.inner().idvs.get(id).cloned()
    }

    /// The axum router of every endpoint.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/", get(page::hosted_page))
            // Browsers ask for it on every page without a <link rel="icon">.
            .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
            .route("/hosted/{id}", post(page::hosted_action))
            .merge(ondato::routes())
            .merge(bond::routes())
            .route("/_emulator/stats", get(stats))
            .route("/_emulator/deliveries", get(deliveries))
            .route("/_emulator/deliveries/{seq}/deliver", post(deliver_one))
            .route("/_emulator/config", post(set_config))
            .route("/_emulator/faults", post(add_fault))
            .route("/_emulator/delays", post(add_delay))
            .route(
                "/_emulator/identifications/{id}/update",
                post(operator_update),
            )
            .with_state(self.clone())
    }

    /// Serve on `addr` (port 0 picks a free port); returns the bound address.
    pub async fn serve(
        &self,
        addr: SocketAddr,
    ) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        {
            let mut config = self.0.config.lock().unwrap_or_else(|p| p.into_inner());
            config
                .public_url
                .get_or_insert_with(|| format!("http://{bound}"));
        }
        let router = self.router();
        let handle = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!(error = %e, "emulator server stopped");
            }
        });
        Ok((bound, handle))
    }

    /// Record a webhook and, when auto-delivery is on, send it now.
    pub(crate) async fn emit(&self, event_type: &str, resource_id: &str, payload: Value) {
        let config = self.config();
        let seq = {
            let mut inner = self.inner();
            // Event times strictly increase, as they would across real steps.
            let mut at = Utc::now();
            if let Some(last) = inner.last_event_at {
                if at <= last {
                    at = last + chrono::Duration::milliseconds(1);
                }
            }
            inner.last_event_at = Some(at);
            let created_utc = at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            let event_id = ondato::new_uuid();
            let body = json!({
                "id": event_id,
                "applicationId": config.application_id,
                "createdUtc": created_utc,
                "type": event_type,
                "payload": payload,
            })
            .to_string();
            let seq = inner.deliveries.len();
            inner.deliveries.push(Delivery {
                seq,
                provider: "ondato",
                event_id,
                event_type: event_type.to_owned(),
                resource_id: resource_id.to_owned(),
                created_utc,
                body,
                attempts: Vec::new(),
            });
            seq
        };
        self.dispatch(seq).await;
    }

    /// Send delivery `seq` (again) to the webhook URL with Basic auth; returns the answer's status.
    pub async fn deliver(&self, seq: usize) -> Option<u16> {
        let config = self.config();
        let (provider, body) = {
            let inner = self.inner();
            let d = inner.deliveries.get(seq)?;
            (d.provider, d.body.clone())
        };
        let request = match provider {
            "bond" => {
                // Signed at send time: `t` is the attempt's time.
                let t = Utc::now().timestamp().to_string();
                let sig = bond::sign(config.bond_webhook_secret.as_bytes(), &t, body.as_bytes());
                self.0
                    .http
                    .post(config.bond_webhook_url.clone()?)
                    .header("bond-signature", format!("t={t},v1={sig},v2={sig}"))
            }
            _ => self
                .0
                .http
                .post(config.webhook_url.clone()?)
                .basic_auth(&config.webhook_username, Some(&config.webhook_password)),
        };
        let status = request
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .ok()
            .map(|r| r.status().as_u16());
        let at = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        if let Some(d) = self.inner().deliveries.get_mut(seq) {
            d.attempts.push(Attempt { status, at });
        }
        status
    }
}

async fn stats(State(emu): State<Emulator>) -> Json<Value> {
    Json(json!({ "counters": emu.counters() }))
}

async fn deliveries(State(emu): State<Emulator>) -> Json<Value> {
    Json(json!({ "deliveries": emu.deliveries() }))
}

async fn deliver_one(State(emu): State<Emulator>, Path(seq): Path<usize>) -> Response {
    if emu.inner().deliveries.get(seq).is_none() {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such delivery"})),
        )
            .into_response();
    }
    let status = emu.deliver(seq).await;
    Json(json!({ "seq": seq, "status": status })).into_response()
}

#[derive(Deserialize)]
struct Fault {
    endpoint: String,
    status: u16,
    #[serde(default = "one")]
    times: usize,
}

fn one() -> usize {
    1
}

/// `POST /_emulator/faults {"endpoint": "idv_create", "status": 500, "times": 1}`
async fn add_fault(State(emu): State<Emulator>, Json(f): Json<Fault>) -> Json<Value> {
    emu.fail_next(&f.endpoint, f.status, f.times);
    Json(json!({"endpoint": f.endpoint, "status": f.status, "times": f.times}))
}

#[derive(Deserialize)]
struct Delay {
    endpoint: String,
    delay_ms: u64,
    #[serde(default = "one")]
    times: usize,
}

/// `POST /_emulator/delays {"endpoint": "bond_kyc", "delay_ms": 1500, "times": 1}`: the call does
/// its work, then answers late (a client timeout after the provider took the request).
async fn add_delay(State(emu): State<Emulator>, Json(d): Json<Delay>) -> Json<Value> {
    emu.delay_next(&d.endpoint, Duration::from_millis(d.delay_ms), d.times);
    Json(json!({"endpoint": d.endpoint, "delay_ms": d.delay_ms, "times": d.times}))
}

#[derive(Deserialize)]
struct OperatorUpdate {
    status: String,
    reason: Option<String>,
}

/// `POST /_emulator/identifications/{id}/update {"status": "Rejected", "reason": "DocumentIsExpired"}`
async fn operator_update(
    State(emu): State<Emulator>,
    Path(id): Path<String>,
    Json(u): Json<OperatorUpdate>,
) -> Response {
    if !matches!(u.status.as_str(), "Approved" | "Rejected") {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "status must be Approved or Rejected"})),
        )
            .into_response();
    }
    if emu
        .operator_update(&id, &u.status, u.reason.as_deref())
        .await
    {
        Json(json!({"id": id, "status": u.status})).into_response()
    } else {
        (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such identification"})),
        )
            .into_response()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigPatch {
    auto_deliver: Option<bool>,
    webhook_url: Option<String>,
    duplicate_webhooks: Option<bool>,
    reorder_webhooks: Option<bool>,
    webhook_delay_ms: Option<u64>,
    drop_webhooks: Option<bool>,
    /// `"approve"`, `"reject"`, or `null` to clear.
    #[serde(default, deserialize_with = "outcome_patch")]
    default_outcome: Option<Option<Outcome>>,
}

fn outcome_patch<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<Outcome>>, D::Error> {
    let raw: Option<String> = Option::deserialize(d)?;
    match raw.as_deref() {
        None => Ok(Some(None)),
        Some("approve") => Ok(Some(Some(Outcome::Approve))),
        Some("reject") => Ok(Some(Some(Outcome::Reject))),
        Some(other) => Err(serde::de::Error::custom(format!("unknown outcome {other}"))),
    }
}

async fn set_config(State(emu): State<Emulator>, Json(patch): Json<ConfigPatch>) -> Json<Value> {
    if let Some(on) = patch.auto_deliver {
        emu.set_auto_deliver(on);
    }
    if let Some(url) = patch.webhook_url {
        emu.set_webhook_url(Some(url));
    }
    emu.update(|c| {
        if let Some(v) = patch.duplicate_webhooks {
            c.duplicate_webhooks = v;
        }
        if let Some(v) = patch.reorder_webhooks {
            c.reorder_webhooks = v;
        }
        if let Some(ms) = patch.webhook_delay_ms {
            c.webhook_delay = Duration::from_millis(ms);
        }
        if let Some(v) = patch.drop_webhooks {
            c.drop_webhooks = v;
        }
        if let Some(o) = patch.default_outcome {
            c.default_outcome = o;
        }
    });
    let c = emu.config();
    Json(json!({
        "auto_deliver": c.auto_deliver,
        "webhook_url": c.webhook_url,
        "duplicate_webhooks": c.duplicate_webhooks,
        "reorder_webhooks": c.reorder_webhooks,
        "webhook_delay_ms": c.webhook_delay.as_millis() as u64,
        "drop_webhooks": c.drop_webhooks,
        "default_outcome": c.default_outcome.map(|o| match o { Outcome::Approve => "approve", Outcome::Reject => "reject" }),
    }))
}
