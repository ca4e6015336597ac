//! Bond's API surface (providers.md §2): customers, `verification-kyc` with idempotency keys and
//! the sandbox SSNs, document uploads, `/simulate/kyc-pass|kyc-fail`, and webhooks signed with
//! `Bond-Signature`. Served under `/bond/api/v0.1`.

use std::time::{Duration, Instant};

use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use sha2::Sha256;

use crate::{Delivery, Emulator};

const BASE: &str = "/bond/api/v0.1";
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

/// Hex HMAC-SHA256 over `{t}.{body}`: how the emulator signs (the layout the adapter expects).
pub(crate) fn sign(secret: &[u8], t: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn error(status: StatusCode, code: &str, message: Value) -> Response {
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

fn unknown_customer() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "customer_not_found",
        json!("Customer not found"),
    )
}

fn refuse_unauthorized(emu: &Emulator, headers: &HeaderMap) -> Option<Response> {
    let config = emu.config();
    let header = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    (header("identity") != config.bond_identity
        || header("authorization") != config.bond_authorization)
        .then(|| {
            error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                json!("Invalid Identity or Authorization"),
            )
        })
}

/// The documents each sandbox SSN asks for (providers.md §2.7), and whether it re-asks data.
fn scenario(ssn: &str) -> Scenario {
    let digits: String = ssn.chars().filter(char::is_ascii_digit).collect();
    match digits.as_str() {
        "000000000" => Scenario::UnderReview,
        "111111111" => Scenario::Documents(vec!["social_security_card", "government_id"], true),
        "222222222" => Scenario::Documents(vec!["government_id", "proof_of_address"], false),
        "333333333" => Scenario::Documents(vec!["government_id"], false),
        "444444444" => Scenario::Documents(
            vec!["social_security_card", "government_id", "proof_of_address"],
            false,
        ),
        "888888888" => Scenario::Timeout,
        _ => Scenario::Success,
    }
}

enum Scenario {
    Success,
    UnderReview,
    Timeout,
    Documents(Vec<&'static str>, bool),
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
        .route(
            "/bond/upload/{id}/{document}",
            get(upload_page).post(upload_form),
        )
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
    let id = crate::ondato::new_uuid();
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
        .bond_customers
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
    match emu.inner().bond_customers.get(&id) {
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
    let Some(c) = inner.bond_customers.get_mut(&id) else {
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
    let base = emu.config().public_url.unwrap_or_default();
    match emu.inner().bond_customers.get(&id) {
        Some(c) => {
            let documents: Vec<Value> = c
                .documents
                .iter()
                .map(|(k, up)| json!({"document_type": k, "status": if *up { "submitted" } else { "required" }, "upload_link": format!("{base}/bond/upload/{id}/{k}")}))
                .collect();
            Json(json!({"customer_id": c.id, "kyc_status": c.kyc_status, "documents": documents}))
                .into_response()
        }
        None => unknown_customer(),
    }
}

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
    let ssn = {
        let mut inner = emu.inner();
        if let Some(k) = &key {
            if inner
                .bond_keys
                .get(k)
                .is_some_and(|seen| seen.elapsed() < KEY_LIFETIME)
            {
                return error(
                    StatusCode::CONFLICT,
                    "idempotency_key_exists",
                    json!("A request with this Idempotency-Key was already received"),
                );
            }
        }
        let Some(customer) = inner.bond_customers.get(&id) else {
            return unknown_customer();
        };
        if let Some(at) = customer.passed_at {
            let when = at.to_rfc3339_opts(SecondsFormat::Micros, false);
            return error(
                StatusCode::BAD_REQUEST,
                "kyc_already_passed",
                json!(format!("KYC already passed at {when}")),
            );
        }
        let problems = missing(&body, &["program_id", "ssn", "phone", "email"]);
        if !problems.is_empty() {
            return error(
                StatusCode::BAD_REQUEST,
                "kyc_post_schema",
                Value::Object(problems),
            );
        }
        if body["program_id"].as_str() != Some(emu.config().bond_program_id.as_str()) {
            return error(
                StatusCode::BAD_REQUEST,
                "kyc_post_schema",
                json!({"program_id": ["Unknown program."]}),
            );
        }
        if let Some(k) = key {
            inner.bond_keys.insert(k, Instant::now());
        }
        if let Some(c) = inner.bond_customers.get_mut(&id) {
            c.kyc_status = Some("submitted".into());
            c.kyc_runs += 1;
        }
        *inner.counters.entry("bond_kyc_runs".into()).or_default() += 1;
        body["ssn"].as_str().unwrap_or_default().to_owned()
    };
    let delay = emu.config().bond_result_delay;
    let worker = emu.clone();
    let customer = id.clone();
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        worker.play(&customer, scenario(&ssn)).await;
    });
    emu.pause("bond_kyc").await;
    Json(json!({"customer_id": id, "status": "submitted"})).into_response()
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
    if !emu.inner().bond_customers.contains_key(&id) {
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

async fn upload_page(
    State(emu): State<Emulator>,
    Path((id, document)): Path<(String, String)>,
) -> Response {
    let known = emu
        .inner()
        .bond_customers
        .get(&id)
        .is_some_and(|c| c.documents.iter().any(|(d, _)| *d == document));
    if !known {
        return (
            StatusCode::NOT_FOUND,
            Html("<h1>This upload link is not valid</h1>".to_owned()),
        )
            .into_response();
    }
    let doc = document.replace('_', " ");
    crate::page::layout(
        &format!("Upload {doc}"),
        &format!(
            "<h1>Upload your {doc}</h1><p>Any image or PDF will do: this is the emulator.</p>\
<form method=\"post\" enctype=\"multipart/form-data\"><input type=\"file\" id=\"file\" name=\"file\" accept=\"image/*,application/pdf\" required> \
<button class=\"approve\" id=\"upload\" type=\"submit\">Upload</button></form>"
        ),
    )
    .into_response()
}

async fn upload_form(
    State(emu): State<Emulator>,
    Path((id, document)): Path<(String, String)>,
    mut form: Multipart,
) -> Response {
    // The document is any file: only that one arrived, with some bytes, matters here.
    let mut received = false;
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some("file") {
            received = field.bytes().await.is_ok_and(|b| !b.is_empty());
        }
    }
    if !received {
        return (
            StatusCode::BAD_REQUEST,
            Html("<h1>Choose a file to upload</h1>".to_owned()),
        )
            .into_response();
    }
    match emu.upload(&id, &[document]).await {
        Some(_) => crate::page::layout(
            "Thank you",
            "<h1>Thank you</h1><p id=\"done\">Your document was received.</p>",
        )
        .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Html("<h1>This upload link is not valid</h1>".to_owned()),
        )
            .into_response(),
    }
}

impl Emulator {
    /// Record a signed Bond webhook and, with auto-delivery, send it.
    async fn emit_bond(&self, event: &str, customer_id: &str, extra: Value) {
        let seq = {
            let mut inner = self.inner();
            let mut at = Utc::now();
            if let Some(last) = inner.last_event_at {
                if at <= last {
                    at = last + chrono::Duration::microseconds(1);
                }
            }
            inner.last_event_at = Some(at);
            let occurred_at = at.to_rfc3339_opts(SecondsFormat::Micros, false);
            let mut body =
                json!({"event": event, "customer_id": customer_id, "occurred_at": occurred_at});
            for (k, v) in extra.as_object().into_iter().flatten() {
                body[k] = v.clone();
            }
            let seq = inner.deliveries.len();
            inner.deliveries.push(Delivery {
                seq,
                provider: "bond",
                event_id: format!("{event}|{customer_id}|{occurred_at}"),
                event_type: event.to_owned(),
                resource_id: customer_id.to_owned(),
                created_utc: occurred_at,
                body: body.to_string(),
                attempts: Vec::new(),
            });
            seq
        };
        self.dispatch(seq).await;
    }

    fn set_kyc(&self, id: &str, status: &str) {
        if let Some(c) = self.inner().bond_customers.get_mut(id) {
            c.kyc_status = Some(status.to_owned());
            if status == "passed" {
                c.passed_at = Some(Utc::now());
            }
        }
    }

    /// A decision, as Bond sends it (also what `/simulate/kyc-pass|fail` trigger).
    pub async fn decide(&self, id: &str, pass: bool) {
        let (status, event) = if pass {
            ("passed", "kyc.verification.success")
        } else {
            ("failed", "kyc.verification.failure")
        };
        self.set_kyc(id, status);
        self.emit_bond(event, id, json!({})).await;
    }

    async fn play(&self, id: &str, scenario: Scenario) {
        match scenario {
            Scenario::Success => self.decide(id, true).await,
            Scenario::UnderReview => {
                self.set_kyc(id, "under_review");
                self.emit_bond("kyc.verification.under_review", id, json!({}))
                    .await;
            }
            Scenario::Timeout => {
                self.set_kyc(id, "timeout");
                self.emit_bond("kyc.verification.timeout", id, json!({}))
                    .await;
            }
            Scenario::Documents(kinds, reenter) => {
                let base = self.config().public_url.unwrap_or_default();
                if let Some(c) = self.inner().bond_customers.get_mut(id) {
                    c.documents = kinds.iter().map(|k| ((*k).to_owned(), false)).collect();
                    c.kyc_status = Some("document_required".into());
                }
                let documents: Vec<Value> = kinds
                    .iter()
                    .map(|k| json!({"document_type": k, "status": "required", "upload_link": format!("{base}/bond/upload/{id}/{k}")}))
                    .collect();
                if reenter {
                    self.emit_bond(
                        "kyc.verification.reenter_information",
                        id,
                        json!({"incorrect_information": ["ssn"]}),
                    )
                    .await;
                }
                self.emit_bond(
                    "kyc.verification.document_required",
                    id,
                    json!({"documents": documents}),
                )
                .await;
            }
        }
    }

    /// Documents arrive; once every asked-for one is in, Bond reviews and decides.
    async fn upload(&self, id: &str, kinds: &[String]) -> Option<usize> {
        let (count, complete) = {
            let mut inner = self.inner();
            let c = inner.bond_customers.get_mut(id)?;
            let mut count = 0;
            for (doc, uploaded) in c.documents.iter_mut() {
                if kinds.contains(doc) && !*uploaded {
                    *uploaded = true;
                    count += 1;
                }
            }
            let complete = !c.documents.is_empty()
                && c.documents.iter().all(|(_, u)| *u)
                && c.kyc_status.as_deref() == Some("document_required");
            (count, complete)
        };
        if complete {
            self.set_kyc(id, "under_review");
            self.emit_bond("kyc.verification.under_review", id, json!({}))
                .await;
            self.decide(id, true).await;
        }
        Some(count)
    }
}
