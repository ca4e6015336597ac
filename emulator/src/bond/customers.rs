//! Bond's customers under `/bond/api/v0.1/customers`: create (schema-checked, under an
//! `Idempotency-Key`), list (`page`, `per_page`), read, and update until KYC has passed. Schema
//! errors use Bond's PascalCase JSON (`customer_post_schema`, `customer_get_schema`).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use super::api::refuse_unauthorized;
use super::errors::{error, key_exists, schema_json, unknown_customer, Problems};
use super::keys::{arrive, Endpoint};
use super::{validate, BASE};
use crate::util::new_uuid;
use crate::Emulator;

/// The page sizes Bond accepts.
const PER_PAGE: [usize; 6] = [1, 2, 5, 10, 20, 50];

/// A Bond customer as the emulator keeps it (emulator-side test data only).
#[derive(Clone, Debug)]
pub struct BondCustomer {
    pub id: String,
    pub brand_person_id: String,
    pub date_created: DateTime<Utc>,
    pub details: Map<String, Value>,
    /// `submitted`, `under_review`, `document_required`, `passed`, `failed`, `timeout`, ...
    pub kyc_status: Option<String>,
    pub passed_at: Option<DateTime<Utc>>,
    /// Documents asked for, with whether each was uploaded.
    pub documents: Vec<(String, bool)>,
    pub kyc_runs: usize,
}

pub(super) fn routes() -> Router<Emulator> {
    Router::new()
        .route(
            &format!("{BASE}/customers"),
            get(list_customers).post(create_customer),
        )
        .route(
            &format!("{BASE}/customers/"),
            get(list_customers).post(create_customer),
        )
        .route(
            &format!("{BASE}/customers/{{id}}"),
            get(get_customer).patch(update_customer),
        )
}

/// `POST /customers/`: a repeated key is refused first, then the schema; a refusal changes
/// nothing (the key stays unused).
async fn create_customer(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let key = match arrive(&emu, &headers, Endpoint::Customer, "bond_customer_create") {
        Ok(key) => key,
        Err(answer) => return *answer,
    };
    let customer = {
        let mut inner = emu.inner();
        let state = &mut inner.providers.bond;
        if state.key_in_use(key.as_deref()) {
            return key_exists();
        }
        let problems = validate::customer(&body);
        if !problems.is_empty() {
            return schema_json("customer_post_schema", problems);
        }
        let customer = new_customer(&body);
        state.use_key(key);
        state.order.push(customer.id.clone());
        state
            .customers
            .insert(customer.id.clone(), customer.clone());
        inner.count("bond_customers_created");
        customer
    };
    emu.pause("bond_customer_create").await;
    (StatusCode::CREATED, Json(customer_json(&customer))).into_response()
}

fn new_customer(body: &Value) -> BondCustomer {
    BondCustomer {
        id: new_uuid(),
        brand_person_id: body["brand_person_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        date_created: Utc::now(),
        details: body.as_object().cloned().unwrap_or_default(),
        kyc_status: None,
        passed_at: None,
        documents: Vec::new(),
        kyc_runs: 0,
    }
}

fn customer_json(c: &BondCustomer) -> Value {
    let mut v = Value::Object(c.details.clone());
    v["customer_id"] = json!(c.id);
    v["brand_person_id"] = json!(c.brand_person_id);
    v["date_created"] = json!(c.date_created.to_rfc3339_opts(SecondsFormat::Micros, false));
    v["kyc_status"] = json!(c.kyc_status);
    for (k, field) in super::kyc_data::identity_document(c) {
        v[k] = field;
    }
    v
}

/// `page` (1-based, default 1) and `per_page` (1, 2, 5, 10, 20 or 50; default 10).
fn paging(query: &HashMap<String, String>) -> Result<(usize, usize), Problems> {
    let mut problems = Problems::new();
    let page = match query.get("page").map(|p| p.parse::<usize>()) {
        None => 1,
        Some(Ok(p)) if p >= 1 => p,
        Some(_) => {
            problems.push(("page", json!(["Must be greater than or equal to 1."])));
            1
        }
    };
    let per_page = match query.get("per_page").map(|p| p.parse::<usize>()) {
        None => 10,
        Some(Ok(n)) if PER_PAGE.contains(&n) => n,
        Some(_) => {
            problems.push(("per_page", json!(["Must be one of: 1, 2, 5, 10, 20, 50."])));
            10
        }
    };
    if problems.is_empty() {
        Ok((page, per_page))
    } else {
        Err(problems)
    }
}

/// `GET /customers/?page=&per_page=`: a bare array, oldest first.
async fn list_customers(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = emu.call("bond_customer_list") {
        return r;
    }
    if let Some(r) = refuse_unauthorized(&emu, &headers) {
        return r;
    }
    let (page, per_page) = match paging(&query) {
        Ok(p) => p,
        Err(problems) => return schema_json("customer_get_schema", problems),
    };
    let inner = emu.inner();
    let state = &inner.providers.bond;
    let items: Vec<Value> = state
        .order
        .iter()
        .filter_map(|id| state.customers.get(id))
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .map(customer_json)
        .collect();
    Json(Value::Array(items)).into_response()
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
