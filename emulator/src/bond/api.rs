//! Bond's API endpoints under `/bond/api/v0.1`, behind the `Identity` + `Authorization` key pair:
//! customers, `verification-kyc` (with idempotency keys), its status and documents, and
//! `/simulate/kyc-pass|kyc-fail`. Errors use Bond's body (`Message`, `Status`, `Code`, `Type`).

use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post};
use axum::{Json, Router};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::flow::scenario;
use super::upload::upload_link;
use super::BASE;
use crate::util::new_uuid;
use crate::Emulator;

const KEY_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// A Bond customer as the emulator keeps it (emulator-side test data only).
#[derive(Clone, Debug)]
pub struct BondCustomer {
    pub id: String,
    pub brand_person_id: String,
    pub details: Map<String, Value>,
    /// `submitted`, `under_review`, `document_required`, `passed`, `failed`, `timeout`, ...
    pub kyc_status: Option<String>,
    pub passed_at: Option<DateTime<Utc>>,
    /// Documents asked for, with whether each was uploaded.
    pub documents: Vec<(String, bool)>,
    pub kyc_runs: usize,
}

pub(super) fn error(status: StatusCode, code: &str, message: Value) -> Response {
    let kind = if status.is_client_error() {
        "Request Error"
    } else {
        "Server Error"
    };
    (
        status,
        Json(json!({"Message": message, "Status": status.as_u16(), "Code": code, "Type": kind})),
    )
        .into_response()
}

pub(super) fn unknown_customer() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "customer_not_found",
        json!("Customer not found"),
    )
}

fn refuse_unauthorized(emu: &Emulator, headers: &HeaderMap) -> Option<Response> {
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
        .route(&format!("{BASE}/customers"), post(create_customer))
        .route(&format!("{BASE}/customers/"), post(create_customer))
        .route(
            &format!("{BASE}/customers/{{id}}"),
            patch(update_customer).get(get_customer),
        )
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

fn missing(body: &Value, required: &[&str]) -> Map<String, Value> {
    required
        .iter()
        .filter(|k| {
            body.get(**k)
                .is_none_or(|v| v.is_null() || v.as_str() == Some(""))
        })
        .map(|k| ((*k).to_owned(), json!(["Missing data for required field."])))
        .collect()
}

async fn create_customer(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = emu.call("bond_customer_create") {
        return r;
    }
    if let Some(r) = refuse_unauthorized(&emu, &headers) {
        return r;
    }
    let problems = missing(
        &body,
        &[
            "brand_person_id",
            "dob",
            "first_name",
            "last_name",
            "addresses",
        ],
    );
    if !problems.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "customer_post_schema",
            Value::Object(problems),
        );
    }
    let id = new_uuid();
    let customer = BondCustomer {
        id: id.clone(),
        brand_person_id: body["brand_person_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        details: body.as_object().cloned().unwrap_or_default(),
        kyc_status: None,
        passed_at: None,
        documents: Vec::new(),
        kyc_runs: 0,
    };
    emu.inner()
        .providers
        .bond
        .customers
        .insert(id.clone(), customer.clone());
    emu.pause("bond_customer_create").await;
    (StatusCode::CREATED, Json(customer_json(&customer))).into_response()
}

fn customer_json(c: &BondCustomer) -> Value {
    let mut v = Value::Object(c.details.clone());
    v["customer_id"] = json!(c.id);
    v["brand_person_id"] = json!(c.brand_person_id);
    v["kyc_status"] = json!(c.kyc_status);
    v
}

async fn get_customer(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = refuse_unauthorized(&emu, &headers) {
        return r;
    }
    match emu.inner().providers.bond.customers.get(&id) {
        Some(c) => Json(customer_json(c)).into_response(),
        None => unknown_customer(),
    }
}

async fn update_customer(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = emu.call("bond_customer_update") {
        return r;
    }
    if let Some(r) = refuse_unauthorized(&emu, &headers) {
        return r;
    }
    let mut inner = emu.inner();
    let Some(c) = inner.providers.bond.customers.get_mut(&id) else {
        return unknown_customer();
    };
    if c.passed_at.is_some() {
        return error(
            StatusCode::BAD_REQUEST,
            "customer_patch_after_kyc",
            json!("A customer cannot be updated once KYC has passed"),
        );
    }
    for (k, v) in body.as_object().into_iter().flatten() {
        c.details.insert(k.clone(), v.clone());
    }
    Json(customer_json(c)).into_response()
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
/// after the result delay.
async fn run_kyc(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = emu.call("bond_kyc") {
        return r;
    }
    if let Some(r) = refuse_unauthorized(&emu, &headers) {
        return r;
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let settings = emu.config().providers.bond;
    let ssn = {
        let mut inner = emu.inner();
        let state = &mut inner.providers.bond;
        if let Some(refusal) = refuse_kyc(state, &id, key.as_deref(), &body, &settings.program_id) {
            return refusal;
        }
        if let Some(k) = key {
            state.keys.insert(k, Instant::now());
        }
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
        tokio::time::sleep(settings.result_delay).await;
        worker.play(&customer, scenario(&ssn)).await;
    });
    emu.pause("bond_kyc").await;
    Json(json!({"customer_id": id, "status": "submitted"})).into_response()
}

/// Bond's refusal of a KYC run, if any, in Bond's order: a key seen within 24 h, an unknown customer, one
/// that passed already, missing fields, an unknown program.
fn refuse_kyc(
    state: &super::State,
    id: &str,
    key: Option<&str>,
    body: &Value,
    program_id: &str,
) -> Option<Response> {
    if key.is_some_and(|k| {
        state
            .keys
            .get(k)
            .is_some_and(|seen| seen.elapsed() < KEY_LIFETIME)
    }) {
        return Some(error(
            StatusCode::CONFLICT,
            "idempotency_key_exists",
            json!("A request with this Idempotency-Key was already received"),
        ));
    }
    let Some(customer) = state.customers.get(id) else {
        return Some(unknown_customer());
    };
    if let Some(at) = customer.passed_at {
        let when = at.to_rfc3339_opts(SecondsFormat::Micros, false);
        return Some(error(
            StatusCode::BAD_REQUEST,
            "kyc_already_passed",
            json!(format!("KYC already passed at {when}")),
        ));
    }
    let problems = missing(body, &["program_id", "ssn", "phone", "email"]);
    if !problems.is_empty() {
        return Some(error(
            StatusCode::BAD_REQUEST,
            "kyc_post_schema",
            Value::Object(problems),
        ));
    }
    if body["program_id"].as_str() != Some(program_id) {
        return Some(error(
            StatusCode::BAD_REQUEST,
            "kyc_post_schema",
            json!({"program_id": ["Unknown program."]}),
        ));
    }
    None
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
