//! Veriff's API under `/veriff`: `POST /v1/sessions` (behind `X-AUTH-CLIENT`) and
//! `GET /v1/sessions/{id}/decision` (behind `X-AUTH-CLIENT` and `X-HMAC-SIGNATURE` over the
//! session id); and the test controls that show a session and decide it without the page.
//! Refusals use Veriff's body: `{"status": "fail", "code": "…", "message": "…"}`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use super::flow::NewSession;
use super::{sign, Settings, VeriffRefusal, VeriffSession, VeriffStatus, BASE, DECLINE_REASONS};
use crate::{Emulator, Outcome};

/// The longest `vendorData` Veriff takes.
const VENDOR_DATA_MAX: usize = 1000;

pub(super) fn routes() -> Router<Emulator> {
    Router::new()
        .route(&format!("{BASE}/v1/sessions"), post(create_session))
        .route(
            &format!("{BASE}/v1/sessions/{{id}}/decision"),
            get(get_decision),
        )
        .route(
            &format!("{BASE}/v1/sessions/{{id}}/attempts"),
            get(get_attempts),
        )
        .route(&format!("{BASE}/_emulator/sessions/{{id}}"), get(show))
        .route(
            &format!("{BASE}/_emulator/sessions/{{id}}/decide"),
            post(decide),
        )
}

fn fail(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"status": "fail", "code": code, "message": message})),
    )
        .into_response()
}

fn unknown_session() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"status": "fail", "message": "Session not found"})),
    )
        .into_response()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The 401 answer unless `X-AUTH-CLIENT` is the integration's API key.
fn refuse_client(s: &Settings, headers: &HeaderMap) -> Option<Response> {
    (header(headers, "x-auth-client") != Some(s.api_key.as_str())).then(|| {
        fail(
            StatusCode::UNAUTHORIZED,
            "1801",
            "Mandatory X-AUTH-CLIENT header containing the API key is missing from the request.",
        )
    })
}

/// The 401 answer unless `X-HMAC-SIGNATURE` signs `message` with the shared secret.
fn refuse_signature(s: &Settings, headers: &HeaderMap, message: &[u8]) -> Option<Response> {
    let Some(given) = header(headers, "x-hmac-signature") else {
        return Some(fail(
            StatusCode::UNAUTHORIZED,
            "1818",
            "The X-HMAC-SIGNATURE header is missing.",
        ));
    };
    let expected = sign(s.shared_secret.as_bytes(), message);
    (!given.eq_ignore_ascii_case(&expected)).then(|| {
        fail(
            StatusCode::UNAUTHORIZED,
            "1812",
            "The X-HMAC-SIGNATURE header does not match the request.",
        )
    })
}

/// `POST /veriff/v1/sessions`: a new session, `created`, with its hosted page. No signature is
/// required (Veriff's exception for this endpoint); one that is sent is not checked.
async fn create_session(State(emu): State<Emulator>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(fault) = emu.call("veriff_session_create") {
        return fault;
    }
    let settings = emu.config().providers.veriff;
    if let Some(r) = refuse_client(&settings, &headers) {
        return r;
    }
    let new = match parse_create(&body) {
        Ok(new) => new,
        Err(refusal) => return refusal.into_response(),
    };
    let session = emu.veriff_open(new);
    if let Some(outcome) = emu.config().default_outcome {
        // The person goes through the page by themselves, a moment after the link is handed out.
        let worker = emu.clone();
        let id = session.id.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let status = match outcome {
                Outcome::Approve => VeriffStatus::Approved,
                Outcome::Reject => VeriffStatus::Declined,
            };
            let _ = worker.veriff_decide(&id, status, None, None).await;
        });
    }
    emu.pause("veriff_session_create").await;
    let base = emu.base_url();
    let answer = json!({
        "status": "success",
        "verification": {
            "id": session.id,
            "url": format!("{base}{}", session.page_path()),
            "vendorData": session.vendor_data,
            "host": base,
            "status": "created",
            "sessionToken": session.token,
        }
    });
    (StatusCode::CREATED, Json(answer)).into_response()
}

/// Why a create body was refused: Veriff's code and a message.
struct BadRequest(&'static str, String);

impl BadRequest {
    fn invalid(what: &str) -> Self {
        Self(
            "1104",
            format!("Request includes invalid parameters: {what}"),
        )
    }

    fn into_response(self) -> Response {
        fail(StatusCode::BAD_REQUEST, self.0, &self.1)
    }
}

/// The create body's `verification`, checked: `callback` and `vendorData` strings, `person` an
/// object of strings with `dateOfBirth` as `YYYY-MM-DD`. Every field is optional.
fn parse_create(body: &[u8]) -> Result<NewSession, BadRequest> {
    let body: Value =
        serde_json::from_slice(body).map_err(|_| BadRequest::invalid("the body is not JSON"))?;
    let Some(verification) = body.get("verification") else {
        let message = "Mandatory parameters are missing from the request: verification";
        return Err(BadRequest("1102", message.into()));
    };
    let v = verification
        .as_object()
        .ok_or_else(|| BadRequest::invalid("verification"))?;
    let vendor_data = match v.get("vendorData") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.chars().count() > VENDOR_DATA_MAX => {
            let message = format!("vendorData is longer than {VENDOR_DATA_MAX} characters");
            return Err(BadRequest("1501", message));
        }
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(BadRequest("1500", "vendorData must be a string".into())),
    };
    let callback = match v.get("callback") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(BadRequest::invalid("verification.callback")),
    };
    let person = parse_person(v.get("person")).map_err(|field| BadRequest::invalid(&field))?;
    Ok(NewSession {
        vendor_data,
        callback,
        person,
    })
}

/// The prefill, or the name of its first wrong field.
fn parse_person(person: Option<&Value>) -> Result<Map<String, Value>, String> {
    let person = match person {
        None | Some(Value::Null) => return Ok(Map::new()),
        Some(Value::Object(p)) => p,
        Some(_) => return Err("verification.person".into()),
    };
    for (key, value) in person {
        let wrong = match value {
            Value::Null => false,
            Value::String(s) if key == "dateOfBirth" => {
                chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_err()
            }
            Value::String(_) => false,
            _ => true,
        };
        if wrong {
            return Err(format!("verification.person.{key}"));
        }
    }
    Ok(person.clone())
}

/// A signed read of one session (`endpoint` names its counter, faults and delays): the key, the
/// signature over the session id, the session; else the answer Veriff would give.
pub(super) async fn signed_read(
    emu: &Emulator,
    headers: &HeaderMap,
    id: &str,
    endpoint: &str,
) -> Result<VeriffSession, Response> {
    if let Some(fault) = emu.call(endpoint) {
        return Err(fault);
    }
    let settings = emu.config().providers.veriff;
    if let Some(r) = refuse_client(&settings, headers) {
        return Err(r);
    }
    if let Some(r) = refuse_signature(&settings, headers, id.as_bytes()) {
        return Err(r);
    }
    let session = emu.veriff_session(id).ok_or_else(unknown_session)?;
    emu.pause(endpoint).await;
    Ok(session)
}

/// `GET /veriff/v1/sessions/{id}/decision`: the latest decision, `verification: null` before one.
async fn get_decision(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match signed_read(&emu, &headers, &id, "veriff_decision_get").await {
        Ok(s) => Json(json!({"status": "success", "verification": s.verification_json()}))
            .into_response(),
        Err(refusal) => refusal,
    }
}

/// `GET /veriff/v1/sessions/{id}/attempts`: every attempt, oldest first. Attempts before the
/// latest ended with a resubmission request; the latest has the session's status.
async fn get_attempts(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match signed_read(&emu, &headers, &id, "veriff_attempts_get").await {
        Ok(s) => {
            Json(json!({"status": "success", "verifications": s.attempts_json()})).into_response()
        }
        Err(refusal) => refusal,
    }
}

/// `GET /veriff/_emulator/sessions/{id}`: the session as the emulator keeps it.
async fn show(State(emu): State<Emulator>, Path(id): Path<String>) -> Response {
    match emu.veriff_session(&id) {
        Some(s) => Json(s.summary_json(&emu.base_url())).into_response(),
        None => unknown_session(),
    }
}

/// `POST /veriff/_emulator/sessions/{id}/decide {"status": "declined", "reasonCode": 102,
/// "reason": "…"}`: a decision without the page (the person's steps played first when needed);
/// `"started"` or `"submitted"` play only the person's steps. Answers the session.
async fn decide(
    State(emu): State<Emulator>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let bad = |message: String| (StatusCode::BAD_REQUEST, Json(json!({"error": message})));
    let word = body.get("status").and_then(Value::as_str).unwrap_or("");
    let Some(status) = VeriffStatus::parse(word) else {
        let codes: Vec<u16> = DECLINE_REASONS.iter().map(|(c, _)| *c).collect();
        let message = format!(
            "status is started, submitted, approved, declined (reasonCode e.g. {codes:?}), \
resubmission_requested, review, expired or abandoned"
        );
        return bad(message).into_response();
    };
    let reason_code = match body.get("reasonCode") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64().and_then(|c| u16::try_from(c).ok()) {
            Some(c) => Some(c),
            None => return bad("reasonCode is a whole number".into()).into_response(),
        },
    };
    let reason = body.get("reason").and_then(Value::as_str);
    let done = match status {
        VeriffStatus::Started => emu.veriff_start(&id).await,
        VeriffStatus::Submitted => emu.veriff_submit(&id).await,
        VeriffStatus::Created => Err(VeriffRefusal::NotADecision(status)),
        _ => emu
            .veriff_decide(&id, status, reason_code, reason)
            .await
            .map(|_| ()),
    };
    match done {
        Ok(()) => show(State(emu), Path(id)).await,
        Err(VeriffRefusal::UnknownSession) => unknown_session(),
        Err(refusal @ VeriffRefusal::NotADecision(_)) => bad(refusal.to_string()).into_response(),
        Err(refusal @ VeriffRefusal::NotNow(_)) => (
            StatusCode::CONFLICT,
            Json(json!({"error": refusal.to_string()})),
        )
            .into_response(),
    }
}
