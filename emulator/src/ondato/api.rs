//! Ondato's APIs: the token endpoint (OAuth2 client credentials), the IDV API and the KYC
//! identifications API, all behind a bearer token; and the operator control that edits a decided
//! identification.

use std::time::Instant;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Form, Json, Router};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Value};

use super::Idv;
use crate::util::new_uuid;
use crate::Emulator;

pub(crate) fn routes() -> Router<Emulator> {
    Router::new()
        .route("/connect/token", post(token))
        .route("/v1/identity-verifications", post(create_idv))
        .route("/v1/identity-verifications/{id}", get(get_idv))
        .route(
            "/v1/identity-verifications/{id}/setup-localisations",
            put(put_localisations),
        )
        .route("/v1/identifications/{id}", get(get_kyc))
        .route(
            "/_emulator/identifications/{id}/update",
            post(operator_update),
        )
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: String,
    client_id: String,
    client_secret: String,
}

async fn token(State(emu): State<Emulator>, Form(form): Form<TokenForm>) -> Response {
    if let Some(fault) = emu.call("token") {
        return fault;
    }
    emu.pause("token").await;
    let config = emu.config().providers.ondato;
    if form.grant_type != "client_credentials"
        || form.client_id != config.client_id
        || form.client_secret != config.client_secret
    {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let token = format!("emu-{}", new_uuid());
    emu.inner()
        .providers
        .ondato
        .tokens
        .insert(token.clone(), Instant::now() + config.token_ttl);
    Json(json!({
        "access_token": token,
        "expires_in": config.token_ttl.as_secs(),
        "token_type": "Bearer",
        "scope": "idv_api kyc_identifications_api",
    }))
    .into_response()
}

/// The 401 answer unless the request carries a live bearer token.
fn refuse_unauthorized(emu: &Emulator, headers: &HeaderMap) -> Option<Response> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let valid = token.is_some_and(|t| {
        emu.inner()
            .providers
            .ondato
            .tokens
            .get(t)
            .is_some_and(|exp| Instant::now() < *exp)
    });
    (!valid).then(|| {
        (
            StatusCode::UNAUTHORIZED,
            Json(json!({"message": "Unauthorized"})),
        )
            .into_response()
    })
}

async fn create_idv(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(fault) = emu.call("idv_create") {
        return fault;
    }
    emu.pause("idv_create").await;
    if let Some(r) = refuse_unauthorized(&emu, &headers) {
        return r;
    }
    let problems = super::validate::check_create(&emu.config().providers.ondato, &body);
    if !problems.is_empty() {
        return problems.into_response();
    }
    let now = Utc::now();
    let idv = Idv {
        id: new_uuid(),
        setup_id: body["setupId"].as_str().unwrap_or_default().to_owned(),
        external_reference_id: body
            .get("externalReferenceId")
            .and_then(Value::as_str)
            .map(str::to_owned),
        status: "Pending".into(),
        registration: body.get("registration").cloned().unwrap_or(json!({})),
        kyc_id: None,
        redirect_url: None,
        consented_at: None,
        document_done: false,
        selfie_done: false,
        created: now,
        modified: now,
    };
    let id = idv.id.clone();
    emu.inner().providers.ondato.idvs.insert(id.clone(), idv);
    if let Some(outcome) = emu.config().default_outcome {
        // The person completes the flow by themselves, a moment after the link is handed out.
        let worker = emu.clone();
        let idv_id = id.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            worker.finish(&idv_id, outcome, None).await;
        });
    }
    (StatusCode::CREATED, Json(json!({ "id": id }))).into_response()
}

async fn get_idv(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(fault) = emu.call("idv_get") {
        return fault;
    }
    emu.pause("idv_get").await;
    if let Some(r) = refuse_unauthorized(&emu, &headers) {
        return r;
    }
    match emu.idv(&id) {
        Some(idv) => Json(emu.config().providers.ondato.shown(idv.to_json())).into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!({"message": "Not found"}))).into_response(),
    }
}

async fn put_localisations(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    if let Some(fault) = emu.call("idv_localisations") {
        return fault;
    }
    emu.pause("idv_localisations").await;
    if let Some(r) = refuse_unauthorized(&emu, &headers) {
        return r;
    }
    let redirect = body
        .pointer("/localisationSettings/0/successRedirectUrl")
        .and_then(Value::as_str)
        .map(str::to_owned);
    match emu.inner().providers.ondato.idvs.get_mut(&id) {
        Some(idv) => {
            idv.redirect_url = redirect;
            StatusCode::NO_CONTENT.into_response()
        }
        None => (StatusCode::NOT_FOUND, Json(json!({"message": "Not found"}))).into_response(),
    }
}

async fn get_kyc(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(fault) = emu.call("kyc_get") {
        return fault;
    }
    emu.pause("kyc_get").await;
    if let Some(r) = refuse_unauthorized(&emu, &headers) {
        return r;
    }
    let settings = emu.config().providers.ondato;
    let inner = emu.inner();
    let state = &inner.providers.ondato;
    match state.kycs.get(&id) {
        Some(kyc) => Json(settings.shown(kyc.to_json(state.idvs.get(&kyc.idv_id)))).into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!({"message": "Not found"}))).into_response(),
    }
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
