//! Bond adapter: the data-submission KYC flow (providers.md §2).
//!
//! A verification opens a Bond customer (`brand_person_id` = our customer id); our verification is
//! stored with the Bond customer id **before** the applicant's data is submitted to
//! `POST /customers/{id}/verification-kyc`, with a Bond `Idempotency-Key` derived from our attempt,
//! so a retried submit is never a second KYC. The result arrives by signed webhook.
//! The SSN is passed through and never stored or logged.

pub mod signature;

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Map, Value};

use super::{
    AuthError, InterpretError, Interpreted, KycProvider, Locator, ProviderError, ProviderEvent,
    RawWebhook, StartRequest, Started,
};
use crate::domain::request::{Applicant, ApplicantField};
use crate::domain::{Observation, ProviderName, Reason, RequiredAction, Status, Verification};

#[derive(Clone)]
pub struct BondConfig {
    /// `https://sandbox.bond.tech/api/v0.1` or the production base.
    pub base_url: url::Url,
    pub identity: String,
    pub authorization: SecretString,
    pub program_id: String,
    /// Every webhook secret currently accepted (more than one while rotating).
    pub webhook_secrets: Vec<SecretString>,
    pub signature_tolerance_secs: i64,
}

pub struct BondAdapter {
    config: BondConfig,
    http: reqwest::Client,
}

/// Bond's field names → ours, for mapping its schema errors back.
const FIELD_MAP: &[(&str, &str)] = &[
    ("ssn", "applicant.ssn"),
    ("phone", "applicant.phone"),
    ("phone_country_code", "applicant.phone_country_code"),
    ("email", "applicant.email"),
    ("ip", "applicant.ip"),
    ("first_name", "applicant.first_name"),
    ("middle_name", "applicant.middle_name"),
    ("last_name", "applicant.last_name"),
    ("dob", "applicant.date_of_birth"),
    ("addresses", "applicant.address"),
    ("street", "applicant.address.street"),
    ("street2", "applicant.address.street2"),
    ("city", "applicant.address.city"),
    ("state", "applicant.address.state"),
    ("zip_code", "applicant.address.zip_code"),
    ("country", "applicant.address.country"),
];

fn our_field(bond: &str) -> String {
    FIELD_MAP.iter().find(|(b, _)| *b == bond).map_or_else(
        || format!("applicant.{bond}"),
        |(_, ours)| (*ours).to_owned(),
    )
}

/// Bond's `occurred_at`, leniently: RFC 3339, a date and time joined by `-` instead of `T`
/// (a documented example), or no offset (UTC).
pub fn parse_occurred_at(raw: &str) -> Option<DateTime<Utc>> {
    let rfc = |s: &str| {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|d| d.with_timezone(&Utc))
    };
    rfc(raw)
        .or_else(|| {
            let mut fixed = raw.to_owned();
            (fixed.len() > 10 && matches!(fixed.as_bytes()[10], b'-' | b' '))
                .then(|| {
                    fixed.replace_range(10..11, "T");
                    fixed
                })
                .and_then(|f| rfc(&f))
        })
        .or_else(|| {
            NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
}

/// What a Bond event means in our model. `None` for events we do not act on.
fn observe(event: &str, body: &Value, at: DateTime<Utc>) -> Option<Observation> {
    let base = |status: Status| Observation {
        status,
        raw_status: event.to_owned(),
        reason: None,
        required_actions: Vec::new(),
        occurred_at: at,
        decision_ref: None,
    };
    let name = event.strip_prefix("kyc.verification.")?;
    Some(match name {
        "success" | "passed" => base(Status::Approved),
        "failure" | "failed" => Observation {
            reason: Some(Reason {
                code: "identity_not_verified".into(),
                provider_reason: event.to_owned(),
                retryable: false,
            }),
            ..base(Status::Rejected)
        },
        "error" | "timeout" => Observation {
            reason: Some(Reason {
                code: format!("provider_{name}"),
                provider_reason: event.to_owned(),
                retryable: true,
            }),
            ..base(Status::Failed)
        },
        "under_review" => base(Status::InReview),
        "document_required" | "documents_required" | "reenter_information" => Observation {
            required_actions: required_actions(body),
            ..base(Status::ActionRequired)
        },
        _ => return None,
    })
}

/// `documents` (with upload links) and `incorrect_information` as required actions.
fn required_actions(body: &Value) -> Vec<RequiredAction> {
    let mut actions = Vec::new();
    for doc in body
        .get("documents")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if doc
            .get("status")
            .and_then(Value::as_str)
            .is_some_and(|s| s != "required")
        {
            continue;
        }
        let kind = ["document_type", "type", "name"]
            .iter()
            .find_map(|k| doc.get(*k).and_then(Value::as_str))
            .unwrap_or("document");
        actions.push(RequiredAction {
            kind: "upload_document".into(),
            detail: Some(kind.to_owned()),
            upload_url: doc
                .get("upload_link")
                .and_then(Value::as_str)
                .map(str::to_owned),
        });
    }
    match body.get("incorrect_information") {
        Some(Value::Array(items)) => {
            for item in items {
                let detail = item
                    .as_str()
                    .map(str::to_owned)
                    .or_else(|| item.get("field").and_then(Value::as_str).map(str::to_owned));
                actions.push(RequiredAction {
                    kind: "reenter_information".into(),
                    detail,
                    upload_url: None,
                });
            }
        }
        Some(Value::String(s)) => {
            actions.push(RequiredAction {
                kind: "reenter_information".into(),
                detail: Some(s.clone()),
                upload_url: None,
            });
        }
        _ => {}
    }
    actions
}

/// Bond's error body `{Message, Status, Code, Type}`, read leniently.
struct BondError {
    code: String,
    message: Value,
}

impl BondError {
    fn read(body: &[u8]) -> Self {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        Self {
            code: v
                .get("Code")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            message: v.get("Message").cloned().unwrap_or(Value::Null),
        }
    }

    fn message_text(&self) -> String {
        match &self.message {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }

    /// Field problems, from a `Message` that is a map (or a string holding one).
    fn fields(&self) -> BTreeMap<String, Vec<String>> {
        let map = match &self.message {
            Value::Object(m) => Some(m.clone()),
            Value::String(s) => {
                serde_json::from_str::<Map<String, Value>>(&s.replace('\'', "\"")).ok()
            }
            _ => None,
        };
        map.into_iter()
            .flatten()
            .map(|(k, v)| {
                let problems = match v {
                    Value::Array(items) => items
                        .iter()
                        .map(|i| i.as_str().unwrap_or("is invalid").to_owned())
                        .collect(),
                    Value::String(s) => vec![s],
                    _ => vec!["is invalid".to_owned()],
                };
                (our_field(&k), problems)
            })
            .collect()
    }

    /// "KYC already passed" answers carry the time of the earlier success.
    fn already_passed(&self) -> Option<DateTime<Utc>> {
        let text = self.message_text();
        let passed =
            self.code.contains("passed") || text.to_ascii_lowercase().contains("already passed");
        if !passed {
            return None;
        }
        text.split(|c: char| c.is_whitespace() || c == '"' || c == '\'')
            .find_map(parse_occurred_at)
            .or(Some(Utc::now()))
    }
}

impl BondAdapter {
    pub fn new(config: BondConfig, http: reqwest::Client) -> Self {
        Self { config, http }
    }

    fn url(&self, segments: &[&str]) -> Result<url::Url, ProviderError> {
        let mut url = self.config.base_url.clone();
        url.path_segments_mut()
            .map_err(|_| ProviderError::Unavailable("bad Bond base URL".into()))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// One call with Bond's key pair; 5xx and transport failures are `Unavailable`/`Timeout`.
    async fn call(
        &self,
        method: reqwest::Method,
        url: url::Url,
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> Result<(u16, Vec<u8>), ProviderError> {
        let mut req = self
            .http
            .request(method, url)
            .header("Identity", &self.config.identity)
            .header("Authorization", self.config.authorization.expose_secret());
        if let Some(b) = body {
            req = req.json(b);
        }
        if let Some(k) = idempotency_key {
            req = req.header("Idempotency-Key", k);
        }
        let resp = req.send().await.map_err(|e| {
            if e.is_timeout() {
                ProviderError::Timeout
            } else {
                ProviderError::Unavailable("could not reach bond".into())
            }
        })?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(|e| {
            if e.is_timeout() {
                ProviderError::Timeout
            } else {
                ProviderError::Unavailable("bond's answer broke off".into())
            }
        })?;
        if status >= 500 || status == 429 {
            tracing::warn!(status, "bond answered with a server error");
            return Err(ProviderError::Unavailable(format!(
                "bond answered {status}"
            )));
        }
        Ok((status, bytes.to_vec()))
    }

    fn rejected(status: u16, body: &[u8], what: &str) -> ProviderError {
        let err = BondError::read(body);
        tracing::warn!(status, code = %err.code, "bond refused a request");
        ProviderError::Rejected {
            message: format!(
                "bond refused the {what} ({})",
                if err.code.is_empty() {
                    status.to_string()
                } else {
                    err.code.clone()
                }
            ),
            fields: err.fields(),
        }
    }

    fn customer_body(&self, brand_person_id: &str, a: &Applicant) -> Value {
        let mut body = Map::new();
        body.insert("brand_person_id".into(), brand_person_id.into());
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                body.insert(k.to_owned(), v);
            }
        };
        put("first_name", a.first_name.clone().map(Value::from));
        put("middle_name", a.middle_name.clone().map(Value::from));
        put("last_name", a.last_name.clone().map(Value::from));
        put(
            "dob",
            a.date_of_birth
                .map(|d| d.format("%Y-%m-%d").to_string().into()),
        );
        put("phone", a.phone.clone().map(Value::from));
        put(
            "phone_country_code",
            a.phone_country_code.clone().map(Value::from),
        );
        put("email", a.email.clone().map(Value::from));
        put(
            "addresses",
            a.address.as_ref().map(|ad| {
                json!([{
                    "address_type": "PHYSICAL",
                    "street": ad.street,
                    "street2": ad.street2,
                    "city": ad.city,
                    "state": ad.state,
                    "zip_code": ad.zip_code,
                    "country": ad.country,
                    "is_primary": true,
                }])
            }),
        );
        Value::Object(body)
    }

    /// Bond's idempotency key for one KYC attempt of one verification.
    pub fn attempt_key(v: &Verification) -> String {
        format!("{}-kyc-{}", v.id, v.attempt)
    }

    async fn run_kyc(&self, v: &Verification, a: &Applicant) -> Result<Observation, ProviderError> {
        let bond_id = v
            .provider_ref
            .as_deref()
            .ok_or_else(|| ProviderError::Unavailable("no Bond customer".into()))?;
        let mut body = Map::new();
        body.insert("program_id".into(), self.config.program_id.clone().into());
        if let Some(ssn) = &a.ssn {
            body.insert("ssn".into(), ssn.expose_secret().into());
        }
        for (k, v) in [
            ("phone", &a.phone),
            ("phone_country_code", &a.phone_country_code),
            ("email", &a.email),
        ] {
            if let Some(v) = v {
                body.insert(k.into(), v.clone().into());
            }
        }
        if let Some(ip) = a.ip {
            body.insert("ip".into(), ip.to_string().into());
        }
        let key = Self::attempt_key(v);
        let (status, bytes) = self
            .call(
                reqwest::Method::POST,
                self.url(&["customers", bond_id, "verification-kyc"])?,
                Some(&Value::Object(body)),
                Some(&key),
            )
            .await?;
        let submitted = |raw: &str| Observation {
            status: Status::Pending,
            raw_status: raw.to_owned(),
            reason: None,
            required_actions: Vec::new(),
            occurred_at: Utc::now(),
            decision_ref: None,
        };
        match status {
            200..=299 => Ok(submitted("KYC submitted")),
            409 if BondError::read(&bytes).code == "idempotency_key_exists" => {
                // Bond already has this attempt (an earlier try timed out after Bond took it).
                tracing::info!(verification_id = %v.id, "bond already had this KYC attempt");
                Ok(submitted("KYC submitted (already received)"))
            }
            _ => {
                let err = BondError::read(&bytes);
                if let Some(at) = err.already_passed() {
                    return Ok(Observation {
                        status: Status::Approved,
                        occurred_at: at,
                        ..submitted("KYC already passed")
                    });
                }
                Err(Self::rejected(status, &bytes, "KYC submission"))
            }
        }
    }
}

#[async_trait]
impl KycProvider for BondAdapter {
    fn name(&self) -> ProviderName {
        ProviderName::Bond
    }

    fn required_fields(&self) -> &'static [ApplicantField] {
        &[
            ApplicantField::FirstName,
            ApplicantField::LastName,
            ApplicantField::DateOfBirth,
            ApplicantField::Email,
            ApplicantField::Phone,
            ApplicantField::PhoneCountryCode,
            ApplicantField::Ssn,
            ApplicantField::Address,
        ]
    }

    fn submits_data(&self) -> bool {
        true
    }

    async fn start(&self, request: StartRequest<'_>) -> Result<Started, ProviderError> {
        let body = self.customer_body(request.customer_id.as_str(), request.applicant);
        let (status, bytes) = self
            .call(
                reqwest::Method::POST,
                self.url(&["customers", ""])?,
                Some(&body),
                None,
            )
            .await?;
        if !(200..300).contains(&status) {
            return Err(Self::rejected(status, &bytes, "customer"));
        }
        let created: Value = serde_json::from_slice(&bytes)
            .map_err(|_| ProviderError::Unavailable("unreadable Bond customer".into()))?;
        let customer_id = created
            .get("customer_id")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                ProviderError::Unavailable("Bond created a customer without an id".into())
            })?;
        tracing::info!(verification_id = %request.verification_id, "bond customer created");
        Ok(Started {
            provider_ref: customer_id.to_owned(),
            verification_url: None,
            initial: Observation {
                status: Status::Pending,
                raw_status: "customer created".into(),
                reason: None,
                required_actions: Vec::new(),
                occurred_at: Utc::now(),
                decision_ref: None,
            },
        })
    }

    async fn submit(
        &self,
        verification: &Verification,
        applicant: &Applicant,
    ) -> Result<Option<Observation>, ProviderError> {
        self.run_kyc(verification, applicant).await.map(Some)
    }

    /// Update the Bond customer with the corrections, then run KYC again as a new attempt.
    async fn resubmit(
        &self,
        verification: &Verification,
        applicant: &Applicant,
        _return_url: Option<&url::Url>,
    ) -> Result<Started, ProviderError> {
        let bond_id = verification
            .provider_ref
            .clone()
            .ok_or_else(|| ProviderError::Unavailable("no Bond customer".into()))?;
        let mut body = self.customer_body(verification.customer_id.as_str(), applicant);
        if let Some(obj) = body.as_object_mut() {
            obj.remove("brand_person_id");
        }
        let (status, bytes) = self
            .call(
                reqwest::Method::PATCH,
                self.url(&["customers", &bond_id])?,
                Some(&body),
                None,
            )
            .await?;
        if !(200..300).contains(&status) {
            return Err(Self::rejected(status, &bytes, "customer update"));
        }
        let initial = self.run_kyc(verification, applicant).await?;
        Ok(Started {
            provider_ref: bond_id,
            verification_url: None,
            initial,
        })
    }

    /// `GET /customers/{id}/verification-kyc` ("GetKYCStatus"; the path is inferred, providers.md
    /// §2.3): the KYC status word, mapped like the events.
    async fn current_state(
        &self,
        v: &Verification,
        now: DateTime<Utc>,
    ) -> Result<Observation, ProviderError> {
        let bond_id = v
            .provider_ref
            .as_deref()
            .ok_or_else(|| ProviderError::Unavailable("no Bond customer".into()))?;
        let url = self.url(&["customers", bond_id, "verification-kyc"])?;
        let (status, bytes) = self.call(reqwest::Method::GET, url, None, None).await?;
        if !(200..300).contains(&status) {
            return Err(Self::rejected(status, &bytes, "status request"));
        }
        let body: Value = serde_json::from_slice(&bytes)
            .map_err(|_| ProviderError::Unavailable("unreadable Bond status".into()))?;
        let word = body
            .get("kyc_status")
            .and_then(Value::as_str)
            .unwrap_or("submitted");
        let event = match word {
            "passed" | "success" => "kyc.verification.success",
            "failed" | "failure" => "kyc.verification.failure",
            "under_review" => "kyc.verification.under_review",
            "document_required" | "reenter_information" => "kyc.verification.document_required",
            "timeout" => "kyc.verification.timeout",
            "error" => "kyc.verification.error",
            _ => {
                return Ok(Observation {
                    status: Status::Pending,
                    raw_status: format!("KYC {word}"),
                    reason: None,
                    required_actions: Vec::new(),
                    occurred_at: now,
                    decision_ref: None,
                })
            }
        };
        let mut o = observe(event, &body, now)
            .ok_or_else(|| ProviderError::Unavailable("unmapped Bond status".into()))?;
        o.raw_status = format!("KYC {word}");
        Ok(o)
    }

    fn authenticate(&self, webhook: &RawWebhook<'_>, now: DateTime<Utc>) -> Result<(), AuthError> {
        let header = webhook
            .headers
            .get("bond-signature")
            .map(|v| v.to_str().map_err(|_| AuthError::Invalid))
            .transpose()?;
        signature::verify(
            &self.config.webhook_secrets,
            header,
            webhook.body,
            now,
            self.config.signature_tolerance_secs,
        )
    }

    async fn interpret(&self, webhook: &RawWebhook<'_>) -> Result<Interpreted, InterpretError> {
        let body: Value = serde_json::from_slice(webhook.body)
            .map_err(|_| InterpretError::Malformed("not JSON".into()))?;
        let field = |k: &str| {
            body.get(k)
                .and_then(Value::as_str)
                .ok_or_else(|| InterpretError::Malformed(format!("{k} is missing")))
        };
        let event = field("event")?;
        let customer_id = field("customer_id")?;
        let raw_at = field("occurred_at")?;
        let at = parse_occurred_at(raw_at)
            .ok_or_else(|| InterpretError::Malformed("occurred_at is not a time".into()))?;
        // The body is signed: it is what Bond says. Unknown events are acknowledged and logged.
        let Some(observation) = observe(event, &body, at) else {
            return Ok(Interpreted::Ignored {
                event_type: event.to_owned(),
            });
        };
        Ok(Interpreted::Event(Box::new(ProviderEvent {
            // Bond has no event id: the documented identity is the event, its customer and its time.
            event_id: format!("{event}|{customer_id}|{raw_at}"),
            event_type: event.to_owned(),
            locator: Locator::ProviderRef(customer_id.to_owned()),
            provider_ref: Some(customer_id.to_owned()),
            // Bond's webhook bodies hold ids, event words, document kinds and links: nothing personal.
            audit: body.clone(),
            observation,
            occurred_at: at,
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        Utc::now()
    }

    #[test]
    fn occurred_at_is_parsed_leniently_including_the_malformed_doc_example() {
        let good = parse_occurred_at("2021-10-20T10:27:20.154286+00:00").unwrap();
        assert_eq!(good.to_rfc3339(), "2021-10-20T10:27:20.154286+00:00");
        let odd = parse_occurred_at("2021-02-02-00:50:58.484840+00:00").unwrap();
        assert_eq!(odd.to_rfc3339(), "2021-02-02T00:50:58.484840+00:00");
        assert!(parse_occurred_at("2021-02-02T00:50:58").is_some());
        assert!(parse_occurred_at("yesterday").is_none());
    }

    #[test]
    fn all_seven_events_and_the_doc_typos_map_onto_our_model() {
        let cases = [
            ("kyc.verification.success", Status::Approved),
            ("kyc.verification.passed", Status::Approved),
            ("kyc.verification.failure", Status::Rejected),
            ("kyc.verification.failed", Status::Rejected),
            ("kyc.verification.error", Status::Failed),
            ("kyc.verification.timeout", Status::Failed),
            ("kyc.verification.document_required", Status::ActionRequired),
            (
                "kyc.verification.documents_required",
                Status::ActionRequired,
            ),
            ("kyc.verification.under_review", Status::InReview),
            (
                "kyc.verification.reenter_information",
                Status::ActionRequired,
            ),
        ];
        for (event, status) in cases {
            assert_eq!(
                observe(event, &json!({}), at()).unwrap().status,
                status,
                "{event}"
            );
        }
        assert!(observe("kyc.verification.kba", &json!({}), at()).is_none());
        assert!(observe("customer.updated", &json!({}), at()).is_none());
        let timeout = observe("kyc.verification.timeout", &json!({}), at()).unwrap();
        assert!(timeout.reason.unwrap().retryable);
    }

    #[test]
    fn documents_and_incorrect_information_become_required_actions() {
        let body = json!({
            "documents": [
                {"document_type": "government_id", "upload_link": "https://bond.example/upload/1", "status": "required"},
                {"document_type": "proof_of_address", "upload_link": "https://bond.example/upload/2", "status": "submitted"}
            ],
            "incorrect_information": ["dob"]
        });
        let o = observe("kyc.verification.document_required", &body, at()).unwrap();
        assert_eq!(o.required_actions.len(), 2);
        assert_eq!(
            o.required_actions[0].detail.as_deref(),
            Some("government_id")
        );
        assert_eq!(
            o.required_actions[0].upload_url.as_deref(),
            Some("https://bond.example/upload/1")
        );
        assert_eq!(o.required_actions[1].kind, "reenter_information");
    }

    #[test]
    fn schema_errors_map_back_to_our_field_names() {
        let err = BondError::read(br#"{"Message": {"ssn": ["Missing data for required field."], "dob": "Not a valid date."}, "Status": 400, "Code": "kyc_post_schema", "Type": "Request Error"}"#);
        let fields = err.fields();
        assert_eq!(
            fields["applicant.ssn"],
            ["Missing data for required field."]
        );
        assert_eq!(fields["applicant.date_of_birth"], ["Not a valid date."]);
        let quoted = BondError::read(br#"{"Message": "{'email': ['Not a valid email address.']}", "Code": "kyc_post_schema"}"#);
        assert_eq!(
            quoted.fields()["applicant.email"],
            ["Not a valid email address."]
        );
    }

    #[test]
    fn an_already_passed_answer_carries_its_time() {
        let err = BondError::read(br#"{"Message": "KYC already passed at 2026-01-02T03:04:05+00:00", "Status": 400, "Code": "kyc_already_passed", "Type": "Request Error"}"#);
        assert_eq!(
            err.already_passed().unwrap().to_rfc3339(),
            "2026-01-02T03:04:05+00:00"
        );
        assert!(
            BondError::read(br#"{"Message": "bad", "Code": "kyc_post_schema"}"#)
                .already_passed()
                .is_none()
        );
    }
}
