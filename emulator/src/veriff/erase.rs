//! `DELETE /veriff/v1/sessions/{id}` (Veriff's "Delete session"), signed over the session id
//! like the reads. The emulated integration has deletion enabled; as at Veriff, a session that
//! is being checked (`submitted`, `review`) is refused with "Session is not in a completed
//! status.". Counted as `veriff_session_delete`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::delete;
use axum::{Json, Router};
use serde_json::json;

use super::api::signed_read;
use super::{VeriffStatus, BASE};
use crate::Emulator;

pub(super) fn routes() -> Router<Emulator> {
    Router::new().route(
        &format!("{BASE}/v1/sessions/{{id}}"),
        delete(delete_session),
    )
}

async fn delete_session(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let session = match signed_read(&emu, &headers, &id, "veriff_session_delete").await {
        Ok(s) => s,
        Err(refusal) => return refusal,
    };
    if matches!(
        session.status,
        VeriffStatus::Submitted | VeriffStatus::Review
    ) {
        // Veriff documents the message, not a code.
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"status": "fail", "message": "Session is not in a completed status."})),
        )
            .into_response();
    }
    emu.inner().providers.veriff.sessions.remove(&id);
    Json(json!({"status": "success"})).into_response()
}
