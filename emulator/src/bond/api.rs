//! Bond's KYC endpoints under `/bond/api/v0.1`, behind the `Identity` + `Authorization` key pair:
//! `verification-kyc` (under an `Idempotency-Key`, schema-checked), its status and documents,
//! and `/simulate/kyc-pass|kyc-fail`. The customers live in `customers`; the error forms in
//! `errors`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::errors::{bond_time, error, key_exists, kyc_schema, unknown_customer};
use super::flow::scenario;
use super::keys::{arrive, Endpoint};
use super::upload::upload_link;
use super::{validate, Settings, BASE};
use crate::Emulator;

/// Bond's 401 unless the request carries the configured key pair.
pub(super) fn refuse_unauthorized(emu: &Emulator, headers: &HeaderMap) -> Option<Response> {
    let config = emu.config().providers.bond;
    let header = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    (header("identity") != config.identity || header("authorization") != config.authorization).then(
        || {
            error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                json!("Invalid Identity or Authorization"),
            )
        },
    )
}

pub(crate) fn routes() -> Router<Emulator> {
    Router::new()
        .route(
            &format!("{BASE}/customers/{{id}}/verification-kyc"),
            post(run_kyc).get(kyc_status),
        )
        .route(
            &format!("{BASE}/customers/{{id}}/verification-kyc/documents"),
            post(upload_documents),
        )
        .route(&format!("{BASE}/simulate/kyc-pass"), post(simulate_pass))
        .route(&format!("{BASE}/simulate/kyc-fail"), post(simulate_fail))
}

async fn kyc_status(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = emu.call("bond_kyc_status") {
        return r;
    }
    if let Some(r) = refuse_unauthorized(&emu, &headers) {
        return r;
    }
    let base = emu.base_url();
    match emu.inner().providers.bond.customers.get(&id) {
        Some(c) => {
            let documents: Vec<Value> = c
                .documents
                .iter()
                .map(|(k, up)| json!({"document_type": k, "status": if *up { "submitted" } else { "required" }, "upload_link": upload_link(&base, &id, k)}))
                .collect();
            Json(json!({"customer_id": c.id, "kyc_status": c.kyc_status, "documents": documents}))
                .into_response()
        }
        None => unknown_customer(),
    }
}

/// `POST …/customers/{id}/verification-kyc`: the run is taken, and its sandbox scenario plays
/// after the result delay (preceded by the `submitted` callback when that setting is on).
async fn run_kyc(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let key = match arrive(&emu, &headers, Endpoint::Kyc, "bond_kyc") {
        Ok(key) => key,
        Err(answer) => return *answer,
    };
    let settings = emu.config().providers.bond;
    let ssn = {
        let mut inner = emu.inner();
        let state = &mut inner.providers.bond;
        if let Some(refusal) = refuse_kyc(state, &id, key.as_deref(), &body, &settings) {
            return refusal;
        }
        state.use_key(key);
        if let Some(c) = state.customers.get_mut(&id) {
            c.kyc_status = Some("submitted".into());
            c.kyc_runs += 1;
        }
        inner.count("bond_kyc_runs");
        body["ssn"].as_str().unwrap_or_default().to_owned()
    };
    let worker = emu.clone();
    let customer = id.clone();
    tokio::spawn(async move {
        if settings.kyc_status_callback {
            worker.emit_bond_submitted(&customer).await;
        }
        tokio::time::sleep(settings.result_delay).await;
        worker.play(&customer, scenario(&ssn)).await;
    });
    emu.pause("bond_kyc").await;
    Json(json!({"customer_id": id, "status": "submitted"})).into_response()
}

/// Bond's refusal of a KYC run, if any, in Bond's order: a key used within 24 h, an unknown
/// customer, one that passed already, the schema (Bond's Python-dict body).
fn refuse_kyc(
    state: &super::State,
    id: &str,
    key: Option<&str>,
    body: &Value,
    settings: &Settings,
) -> Option<Response> {
    if state.key_in_use(key) {
        return Some(key_exists());
    }
    let Some(customer) = state.customers.get(id) else {
        return Some(unknown_customer());
    };
    if let Some(at) = customer.passed_at {
        return Some(error(
            StatusCode::BAD_REQUEST,
            "kyc_post_error",
            json!(format!(
                "KYC already completed successfully on {}",
                bond_time(at)
            )),
        ));
    }
    let problems = validate::kyc(body, &settings.program_id, settings.ip_required);
    (!problems.is_empty()).then(|| kyc_schema(&problems))
}

#[derive(Deserialize)]
struct Simulate {
    customer_id: String,
}

async fn simulate_pass(State(emu): State<Emulator>, Json(s): Json<Simulate>) -> Response {
    simulate(emu, s.customer_id, true).await
}

async fn simulate_fail(State(emu): State<Emulator>, Json(s): Json<Simulate>) -> Response {
    simulate(emu, s.customer_id, false).await
}

async fn simulate(emu: Emulator, id: String, pass: bool) -> Response {
    if !emu.inner().providers.bond.customers.contains_key(&id) {
        return unknown_customer();
    }
    emu.decide(&id, pass).await;
    Json(json!({"customer_id": id, "result": if pass { "passed" } else { "failed" }}))
        .into_response()
}

async fn upload_documents(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = refuse_unauthorized(&emu, &headers) {
        return r;
    }
    let kinds: Vec<String> = ["government_id", "proof_of_address", "social_security_card"]
        .iter()
        .filter(|k| body.get(**k).is_some())
        .map(|k| (*k).to_owned())
        .collect();
    match emu.upload(&id, &kinds).await {
        Some(n) => Json(json!({"customer_id": id, "num_documents_submitted": n})).into_response(),
        None => unknown_customer(),
    }
}
