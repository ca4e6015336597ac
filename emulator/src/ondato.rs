//! Ondato's API surface: token endpoint, IDV API and KYC identifications API, and the state
//! machine the hosted page drives (each step emits the webhooks Ondato would send).

use std::time::Instant;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Form, Json, Router};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::Emulator;

/// An identity verification as the emulator keeps it.
#[derive(Clone, Debug)]
pub struct Idv {
    pub id: String,
    pub setup_id: String,
    pub external_reference_id: Option<String>,
    pub status: String,
    pub registration: Value,
    pub kyc_id: Option<String>,
    pub redirect_url: Option<String>,
    pub consented_at: Option<DateTime<Utc>>,
    /// Hosted-flow progress: the document photo and the selfie were taken.
    pub document_done: bool,
    pub selfie_done: bool,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
}

/// A KYC identification.
#[derive(Clone, Debug)]
pub struct Kyc {
    pub id: String,
    pub idv_id: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub created: DateTime<Utc>,
    pub completed: Option<DateTime<Utc>>,
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A random UUID-shaped id, as Ondato's ids are.
pub(crate) fn new_uuid() -> String {
    let v = ulid::Ulid::new().0;
    let hex = format!("{v:032x}");
    format!(
        "{}-{}-4{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

impl Idv {
    pub fn to_json(&self) -> Value {
        let mut step = json!({});
        if let Some(k) = &self.kyc_id {
            step["kycIdentification"] = json!({ "id": k });
        }
        if let Some(at) = self.consented_at {
            step["consent"] = json!({ "isConsented": true, "consentedUtc": iso(at) });
        }
        json!({
            "id": self.id,
            "applicationId": "emulator",
            "externalReferenceId": self.external_reference_id,
            "status": self.status,
            "createdUtc": iso(self.created),
            "modifiedUtc": iso(self.modified),
            "setup": { "id": self.setup_id, "versionId": "00000000-0000-4000-8000-000000000001" },
            "registration": self.registration,
            "step": step,
        })
    }
}

impl Kyc {
    pub fn to_json(&self, idv: Option<&Idv>) -> Value {
        let reg = idv.map(|i| i.registration.clone()).unwrap_or(Value::Null);
        let first = reg
            .get("firstName")
            .and_then(Value::as_str)
            .unwrap_or("JOHN");
        let last = reg.get("lastName").and_then(Value::as_str).unwrap_or("DOE");
        json!({
            "id": self.id,
            "applicationId": "emulator",
            "identityVerificationId": self.idv_id,
            "externalReferenceId": idv.and_then(|i| i.external_reference_id.clone()),
            "createdUtc": iso(self.created),
            "completedUtc": self.completed.map(iso),
            "status": self.status,
            "statusReason": self.status_reason,
            "isCrossChecked": false,
            "document": {
                "fullName": format!("{first} {last}").to_uppercase(),
                "firstName": first.to_uppercase(),
                "lastName": last.to_uppercase(),
                "documentNumber": "EMU0000042",
                "dateOfBirth": reg.get("dateOfBirth").cloned().unwrap_or(json!("1990-01-01")),
                "dateOfExpiration": "2031-12-31",
                "countryIso3": "LTU",
                "type": "IdCard",
            },
            "rules": [{ "name": "DocumentNotExpired", "status": "Success" }],
        })
    }
}

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
    let config = emu.config();
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
    let Some(setup_id) = body.get("setupId").and_then(Value::as_str) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"errors": {"setupId": ["The SetupId field is required."]}})),
        )
            .into_response();
    };
    let now = Utc::now();
    let idv = Idv {
        id: new_uuid(),
        setup_id: setup_id.to_owned(),
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
    emu.inner().idvs.insert(id.clone(), idv);
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
        Some(idv) => Json(idv.to_json()).into_response(),
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
    match emu.inner().idvs.get_mut(&id) {
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
    let inner = emu.inner();
    match inner.kycs.get(&id) {
        Some(kyc) => Json(kyc.to_json(inner.idvs.get(&kyc.idv_id))).into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!({"message": "Not found"}))).into_response(),
    }
}

/// What a person can do on the hosted page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Approve,
    Reject,
}

impl Emulator {
    fn idv_event_payload(&self, idv_id: &str) -> Option<Value> {
        self.inner().idvs.get(idv_id).map(Idv::to_json)
    }

    fn kyc_event_payload(&self, kyc_id: &str) -> Option<Value> {
        let inner = self.inner();
        let kyc = inner.kycs.get(kyc_id)?;
        Some(kyc.to_json(inner.idvs.get(&kyc.idv_id)))
    }

    async fn set_idv_status(&self, idv_id: &str, status: &str) {
        {
            let mut inner = self.inner();
            let Some(idv) = inner.idvs.get_mut(idv_id) else {
                return;
            };
            idv.status = status.to_owned();
            idv.modified = Utc::now();
        }
        if let Some(payload) = self.idv_event_payload(idv_id) {
            self.emit("IdentityVerification.StatusChanged", idv_id, payload)
                .await;
        }
    }

    async fn emit_kyc(&self, kyc_id: &str, event: &str) {
        if let Some(payload) = self.kyc_event_payload(kyc_id) {
            self.emit(event, kyc_id, payload).await;
        }
    }

    /// The person opens the page and consents: IDV `InProgress`, a KYC identification is created.
    pub async fn begin(&self, idv_id: &str) -> bool {
        let kyc_id = {
            let mut inner = self.inner();
            let Some(idv) = inner.idvs.get_mut(idv_id) else {
                return false;
            };
            if idv.status != "Pending" {
                return true;
            }
            let now = Utc::now();
            idv.consented_at = Some(now);
            let kyc_id = new_uuid();
            idv.kyc_id = Some(kyc_id.clone());
            inner.kycs.insert(
                kyc_id.clone(),
                Kyc {
                    id: kyc_id.clone(),
                    idv_id: idv_id.to_owned(),
                    status: "Awaiting".into(),
                    status_reason: None,
                    created: now,
                    completed: None,
                },
            );
            kyc_id
        };
        self.set_idv_status(idv_id, "InProgress").await;
        self.emit_kyc(&kyc_id, "KycIdentification.Created").await;
        true
    }

    /// An operator edits a decided identification in Ondato's portal: the new status and reason,
    /// then `KycIdentification.Updated`.
    pub async fn operator_update(&self, kyc_id: &str, status: &str, reason: Option<&str>) -> bool {
        {
            let mut inner = self.inner();
            let Some(kyc) = inner.kycs.get_mut(kyc_id) else {
                return false;
            };
            kyc.status = status.to_owned();
            kyc.status_reason = reason.map(str::to_owned);
        }
        self.emit_kyc(kyc_id, "KycIdentification.Updated").await;
        true
    }

    /// The person finishes the steps: `KycIdentification.Processed`, then IDV `Completed`; the
    /// identification awaits a decision (automatic, or an operator's).
    pub async fn submit(&self, idv_id: &str) -> Option<String> {
        if !self.begin(idv_id).await {
            return None;
        }
        let kyc_id = self.idv(idv_id).and_then(|i| i.kyc_id)?;
        let pending = {
            let mut inner = self.inner();
            let kyc = inner.kycs.get_mut(&kyc_id)?;
            let pending = kyc.completed.is_none();
            kyc.completed.get_or_insert_with(Utc::now);
            pending
        };
        if pending {
            if let Some(idv) = self.inner().idvs.get_mut(idv_id) {
                idv.document_done = true;
                idv.selfie_done = true;
            }
            self.emit_kyc(&kyc_id, "KycIdentification.Processed").await;
            self.set_idv_status(idv_id, "Completed").await;
        }
        Some(kyc_id)
    }

    /// The identification is decided (automatically, or by an operator after manual review).
    pub async fn decide_kyc(&self, kyc_id: &str, outcome: Outcome, reason: Option<&str>) -> bool {
        let (status, event) = match outcome {
            Outcome::Approve => ("Approved", "KycIdentification.Approved"),
            Outcome::Reject => ("Rejected", "KycIdentification.Rejected"),
        };
        {
            let mut inner = self.inner();
            let Some(kyc) = inner.kycs.get_mut(kyc_id) else {
                return false;
            };
            if kyc.status != "Awaiting" {
                return true;
            }
            kyc.status = status.to_owned();
            let default = match outcome {
                Outcome::Approve => "AutomaticallyIdentified",
                Outcome::Reject => "PoorPhotoQuality",
            };
            kyc.status_reason = Some(reason.unwrap_or(default).to_owned());
        }
        self.emit_kyc(kyc_id, event).await;
        true
    }

    /// The person finishes the steps and the check decides: Processed, IDV Completed, then the
    /// decision, each with its webhook, in Ondato's order.
    pub async fn finish(&self, idv_id: &str, outcome: Outcome, reason: Option<&str>) -> bool {
        match self.submit(idv_id).await {
            Some(kyc_id) => self.decide_kyc(&kyc_id, outcome, reason).await,
            None => false,
        }
    }

    /// The person quits with the page's controls (IDV `Aborted`), or leaves it until it expires
    /// (IDV `Expired`). Only an undecided IDV can end this way.
    pub async fn end_idv(&self, idv_id: &str, status: &str) -> bool {
        let Some(idv) = self.idv(idv_id) else {
            return false;
        };
        if matches!(idv.status.as_str(), "Completed" | "Aborted" | "Expired") {
            return true;
        }
        self.set_idv_status(idv_id, status).await;
        true
    }

    /// One step of the hosted flow: the document photo, then the selfie.
    pub async fn step(&self, idv_id: &str, step: &str) -> bool {
        if !self.begin(idv_id).await {
            return false;
        }
        if let Some(idv) = self.inner().idvs.get_mut(idv_id) {
            match step {
                "document" => idv.document_done = true,
                "selfie" if idv.document_done => idv.selfie_done = true,
                _ => {}
            }
            idv.modified = Utc::now();
        }
        true
    }
}
