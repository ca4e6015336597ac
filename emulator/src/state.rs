//! One emulator's state (one tenant's, on a shared server): its settings, every provider's state,
//! and the generic test machinery every endpoint goes through: call counters, injected faults and
//! injected delays.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::delivery::Delivery;
use crate::{EmulatorConfig, ProviderStates};

#[derive(Default)]
pub(crate) struct Inner {
    /// Each provider's own state (`providers.<name>`).
    pub providers: ProviderStates,
    /// Per endpoint, how long the next calls wait before answering (after doing their work).
    pub delays: HashMap<String, VecDeque<Duration>>,
    pub deliveries: Vec<Delivery>,
    pub counters: BTreeMap<String, usize>,
    /// Answers to give instead of the real ones, per endpoint, next first.
    /// Per endpoint, the next answers to give instead of working: a status and, optionally, the
    /// exact body (a provider's documented error, byte for byte).
    pub faults: HashMap<String, VecDeque<(u16, Option<String>)>>,
    /// A webhook held back to be sent after the next one (reorder mode).
    pub held: Option<usize>,
    pub last_event_at: Option<DateTime<Utc>>,
}

impl Inner {
    /// Count one more `name`: an endpoint call, or a provider's own bookkeeping.
    pub(crate) fn count(&mut self, name: &str) {
        *self.counters.entry(name.to_owned()).or_default() += 1;
    }
}

pub(crate) struct Shared {
    pub config: Mutex<EmulatorConfig>,
    pub inner: Mutex<Inner>,
    pub http: reqwest::Client,
    /// The path every link this emulator hands out starts with: empty at the root, `/t/{id}`
    /// for a tenant of a shared server.
    pub prefix: String,
}

/// A handle on one emulator's state, shared with the server that serves it.
#[derive(Clone)]
pub struct Emulator(pub(crate) Arc<Shared>);

impl Emulator {
    /// An emulator to serve at the root of its own listener ([`Emulator::serve`]).
    pub fn new(config: EmulatorConfig) -> Self {
        Self::with_prefix(config, String::new())
    }

    pub(crate) fn with_prefix(config: EmulatorConfig, prefix: String) -> Self {
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
            prefix,
        }))
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

    /// Change the settings in place.
    pub fn update(&self, change: impl FnOnce(&mut EmulatorConfig)) {
        change(&mut self.0.config.lock().unwrap_or_else(|p| p.into_inner()));
    }

    pub fn set_auto_deliver(&self, on: bool) {
        self.update(|c| c.auto_deliver = on);
    }

    /// Where this emulator is reached: `http://host:port` at the root, `http://host:port/t/{id}`
    /// for a tenant. Empty until it is served.
    pub fn base_url(&self) -> String {
        self.config().public_url.unwrap_or_default()
    }

    /// The path prefix of every link this emulator hands out (empty at the root).
    pub(crate) fn path_prefix(&self) -> &str {
        &self.0.prefix
    }

    /// What the functions read to reach every registered provider at this emulator
    /// (`PROVIDERS`, then each provider's variables), for a deployment or the local stack.
    pub fn function_env(&self) -> Vec<(String, String)> {
        let config = self.config();
        config.providers.function_env(&self.base_url())
    }

    /// Send every provider's webhooks to our API at `api_base` (`{api_base}/v1/webhooks/{name}`).
    pub fn set_api_url(&self, api_base: &str) {
        self.update(|c| c.providers.set_api_url(api_base));
    }

    /// Make the next `times` calls of `endpoint` (its name in [`Emulator::counters`], such as
    /// `token` or `idv_create`) answer `status` instead.
    pub fn fail_next(&self, endpoint: &str, status: u16, times: usize) {
        self.fail_next_with(endpoint, status, None, times);
    }

    /// Like [`Self::fail_next`], answering `body` byte for byte (as JSON when no body is given).
    pub fn fail_next_with(&self, endpoint: &str, status: u16, body: Option<&str>, times: usize) {
        self.inner()
            .faults
            .entry(endpoint.to_owned())
            .or_default()
            .extend(std::iter::repeat_n(
                (status, body.map(str::to_owned)),
                times,
            ));
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

    /// Wait as long as the next injected delay of `endpoint` says, if any.
    pub(crate) async fn pause(&self, endpoint: &str) {
        let delay = self
            .inner()
            .delays
            .get_mut(endpoint)
            .and_then(VecDeque::pop_front);
        if let Some(d) = delay {
            tokio::time::sleep(d).await;
        }
    }

    /// Count a call of `endpoint` and take its next injected fault, if any.
    pub(crate) fn call(&self, endpoint: &str) -> Option<Response> {
        let mut inner = self.inner();
        inner.count(endpoint);
        let (status, body) = inner
            .faults
            .get_mut(endpoint)
            .and_then(VecDeque::pop_front)?;
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Some(match body {
            Some(raw) => (
                status,
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                raw,
            )
                .into_response(),
            None => (
                status,
                Json(json!({"message": "fault injected by the emulator"})),
            )
                .into_response(),
        })
    }

    /// Calls per endpoint, by the names each provider gives its endpoints (`token`, `idv_create`,
    /// ...).
    pub fn counters(&self) -> BTreeMap<String, usize> {
        self.inner().counters.clone()
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.inner().deliveries.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_fault_is_injected_should_answer_it_once_and_count_every_call() {
        let emu = Emulator::new(EmulatorConfig::default());
        emu.fail_next("thing", 503, 1);
        let first = emu.call("thing").map(|r| r.status());
        assert_eq!(first, Some(StatusCode::SERVICE_UNAVAILABLE));
        assert!(emu.call("thing").is_none());
        assert_eq!(emu.counters()["thing"], 2);
    }

    #[tokio::test]
    async fn when_a_delay_is_injected_should_wait_once() {
        let emu = Emulator::new(EmulatorConfig::default());
        emu.delay_next("thing", Duration::from_millis(50), 1);
        let started = std::time::Instant::now();
        emu.pause("thing").await;
        assert!(started.elapsed() >= Duration::from_millis(50));
        let started = std::time::Instant::now();
        emu.pause("thing").await;
        assert!(started.elapsed() < Duration::from_millis(50));
    }
}
