//! `DELETE /bond/api/v0.1/customers/{id}`: the customer and its KYC are forgotten (Bond lists
//! `DELETE /customers/{customer_id}` among its customer operations; its answer body is not
//! documented, so the emulator answers `200` with the id). Counted as `bond_customer_delete`.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::delete;
use axum::{Json, Router};
use serde_json::json;

use super::api::refuse_unauthorized;
use super::errors::unknown_customer;
use super::BASE;
use crate::Emulator;

pub(super) fn routes() -> Router<Emulator> {
    Router::new().route(&format!("{BASE}/customers/{{id}}"), delete(delete_customer))
}

async fn delete_customer(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = emu.call("bond_customer_delete") {
        return r;
    }
    if let Some(r) = refuse_unauthorized(&emu, &headers) {
        return r;
    }
    let mut inner = emu.inner();
    let state = &mut inner.providers.bond;
    if state.customers.remove(&id).is_none() {
        return unknown_customer();
    }
    state.order.retain(|c| *c != id);
    Json(json!({"customer_id": id})).into_response()
}
