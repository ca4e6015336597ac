//! Bond's `Idempotency-Key`s, one key space for `POST /customers/` and `POST …/verification-kyc`:
//! a key an accepted request used is refused again for 24 h (409, [`super::errors::key_exists`]).
//! Every key each endpoint received is noted in order, refused requests included (`None`: the
//! request had none), for the tests: [`Emulator::bond_kyc_keys`], [`Emulator::bond_customer_keys`]
//! and `GET /_emulator/bond/keys`.

use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::Emulator;

const KEY_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// Which endpoint received a key.
#[derive(Clone, Copy)]
pub(super) enum Endpoint {
    Customer,
    Kyc,
}

/// The request's `Idempotency-Key`, if it has one.
/// A keyed POST arriving: its key recorded (whatever happens next), then the injected fault of
/// `counter` and the key pair checked. `Err` is the answer to give instead; `Ok` the key.
pub(super) fn arrive(
    emu: &Emulator,
    headers: &HeaderMap,
    endpoint: Endpoint,
    counter: &str,
) -> Result<Option<String>, Box<axum::response::Response>> {
    let key = key_of(headers);
    emu.inner()
        .providers
        .bond
        .received(endpoint, key.as_deref());
    if let Some(r) = emu.call(counter) {
        return Err(Box::new(r));
    }
    if let Some(r) = super::api::refuse_unauthorized(emu, headers) {
        return Err(Box::new(r));
    }
    Ok(key)
}

pub(super) fn key_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

impl super::State {
    /// Note what `endpoint` received, refused or not.
    pub(super) fn received(&mut self, endpoint: Endpoint, key: Option<&str>) {
        let key = key.map(str::to_owned);
        match endpoint {
            Endpoint::Customer => self.customer_keys.push(key),
            Endpoint::Kyc => self.kyc_keys.push(key),
        }
    }

    /// Whether an accepted request used `key` within the last 24 h.
    pub(super) fn key_in_use(&self, key: Option<&str>) -> bool {
        key.and_then(|k| self.keys.get(k))
            .is_some_and(|seen| seen.elapsed() < KEY_LIFETIME)
    }

    /// An accepted request used `key`.
    pub(super) fn use_key(&mut self, key: Option<String>) {
        if let Some(k) = key {
            self.keys.insert(k, Instant::now());
        }
    }
}

impl Emulator {
    /// Every `Idempotency-Key` `POST …/verification-kyc` received, in order (refused included).
    pub fn bond_kyc_keys(&self) -> Vec<Option<String>> {
        self.inner().providers.bond.kyc_keys.clone()
    }

    /// Every `Idempotency-Key` `POST /customers/` received, in order (refused included).
    pub fn bond_customer_keys(&self) -> Vec<Option<String>> {
        self.inner().providers.bond.customer_keys.clone()
    }
}

/// `GET /_emulator/bond/keys`: `{"customers": [...], "kyc": [...]}`.
pub(super) fn routes() -> Router<Emulator> {
    Router::new().route("/_emulator/bond/keys", get(keys))
}

async fn keys(State(emu): State<Emulator>) -> Json<Value> {
    Json(json!({"customers": emu.bond_customer_keys(), "kyc": emu.bond_kyc_keys()}))
}
