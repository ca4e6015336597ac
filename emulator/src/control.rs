//! The test controls under `/_emulator/...`: counters, deliveries and redelivery, standing
//! settings, injected faults and delays. Providers add their own controls with their routes.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::Emulator;

pub(crate) fn routes() -> Router<Emulator> {
    Router::new()
        .route("/_emulator/stats", get(stats))
        .route("/_emulator/deliveries", get(deliveries))
        .route("/_emulator/deliveries/{seq}/deliver", post(deliver_one))
        .route("/_emulator/config", post(set_config))
        .route("/_emulator/faults", post(add_fault))
        .route("/_emulator/delays", post(add_delay))
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
    /// The exact body to answer (a provider's documented error), else a JSON message.
    #[serde(default)]
    body: Option<String>,
}

fn one() -> usize {
    1
}

/// `POST /_emulator/faults {"endpoint": "idv_create", "status": 500, "times": 1, "body": "…"}`
async fn add_fault(State(emu): State<Emulator>, Json(f): Json<Fault>) -> Json<Value> {
    emu.fail_next_with(&f.endpoint, f.status, f.body.as_deref(), f.times);
    Json(json!({"endpoint": f.endpoint, "status": f.status, "times": f.times}))
}

#[derive(Deserialize)]
struct Delay {
    endpoint: String,
    delay_ms: u64,
    #[serde(default = "one")]
    times: usize,
}

/// `POST /_emulator/delays {"endpoint": "idv_create", "delay_ms": 1500, "times": 1}`: the call
/// does its work, then answers late (a client timeout after the provider took the request).
async fn add_delay(State(emu): State<Emulator>, Json(d): Json<Delay>) -> Json<Value> {
    emu.delay_next(&d.endpoint, Duration::from_millis(d.delay_ms), d.times);
    Json(json!({"endpoint": d.endpoint, "delay_ms": d.delay_ms, "times": d.times}))
}

/// `POST /_emulator/config {"auto_deliver": false, ...}`: any subset of the standing settings
/// (the chaos ones, and the keys each provider accepts); an unknown key or a wrong type changes
/// nothing and is refused with 422.
async fn set_config(
    State(emu): State<Emulator>,
    Json(patch): Json<Map<String, Value>>,
) -> Response {
    let mut outcome = Ok(());
    emu.update(|c| outcome = c.apply_patch(&patch));
    match outcome {
        Ok(()) => Json(emu.config().describe()).into_response(),
        Err(message) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"error": message})),
        )
            .into_response(),
    }
}
