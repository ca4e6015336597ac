//! Ondato adapter: OAuth2 client credentials, the IDV API, the KYC identifications API, the hosted
//! page, and webhooks authenticated with Basic auth (providers.md §1).
//!
//! Ondato does not sign webhook bodies, so a webhook is only a hint: the adapter re-fetches the IDV
//! and its KYC identification and reports what Ondato says now, never what the body claims.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use base64::Engine;
use chrono::{DateTime, NaiveDateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use subtle::ConstantTimeEq;
use tokio::sync::Mutex;

use super::{
    AuthError, InterpretError, Interpreted, KycProvider, Locator, ProviderError, ProviderEvent,
    RawWebhook, StartRequest, Started,
};
use crate::domain::request::{Applicant, ApplicantField};
use crate::domain::{Observation, ProviderName, Reason, Status, Verification, VerificationId};

/// Everything the Ondato adapter needs; secrets stay in [`SecretString`].
#[derive(Clone)]
pub struct OndatoConfig {
    pub token_url: url::Url,
    pub idv_api_url: url::Url,
    pub kyc_api_url: url::Url,
    pub hosted_url: url::Url,
    pub client_id: String,
    pub client_secret: SecretString,
    pub scope: Option<String>,
    pub setup_id: String,
    pub webhook_username: String,
    /// Every password currently accepted (more than one while rotating).
    pub webhook_passwords: Vec<SecretString>,
    /// When set, events of other Ondato applications are ignored.
    pub application_id: Option<String>,
    /// When non-empty, webhooks from other source addresses are refused.
    pub allowed_ips: Vec<std::net::IpAddr>,
}

struct CachedToken {
    value: SecretString,
    refresh_at: Instant,
}

pub struct OndatoAdapter {
    config: OndatoConfig,
    http: reqwest::Client,
    token: Mutex<Option<CachedToken>>,
}

/// Reasons after which a new attempt cannot succeed (the Ondato SDK calls them critical).
const FINAL_REASONS: &[&str] = &[
    "sanctioned",
    "miscellaneous",
    "possible_fraud_attempt",
    "prohibited_country_or_state",
    "underage_person",
    "prohibited_nationality",
    "doc_and_bio_age_doesnt_match",
    "duplicated_info",
];

const IDV_EVENTS: &[&str] = &[
    "IdentityVerification.StatusChanged",
    "Idv.StatusChanged",
    "IdentityVerification.Consented",
    "Idv.Consented",
];
const KYC_EVENTS: &[&str] = &[
    "KycIdentification.Created",
    "KycIdentification.Processed",
    "KycIdentification.Approved",
    "KycIdentification.Rejected",
    "KycIdentification.Updated",
];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    id: String,
    #[serde(default)]
    application_id: Option<String>,
    created_utc: String,
    #[serde(rename = "type")]
    kind: String,
    payload: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Idv {
    status: String,
    #[serde(default)]
    external_reference_id: Option<String>,
    #[serde(default)]
    step: Option<IdvStep>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IdvStep {
    #[serde(default)]
    kyc_identification: Option<IdRef>,
}

#[derive(Deserialize)]
struct IdRef {
    id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KycIdentification {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    status_reason: Option<String>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl OndatoAdapter {
    pub fn new(config: OndatoConfig, http: reqwest::Client) -> Self {
        Self {
            config,
            http,
            token: Mutex::new(None),
        }
    }

    /// A bearer token, from the cache until shortly before it expires.
    async fn token(&self) -> Result<SecretString, ProviderError> {
        let mut cached = self.token.lock().await;
        if let Some(t) = cached.as_ref().filter(|t| Instant::now() < t.refresh_at) {
            return Ok(t.value.clone());
        }
        let mut form = vec![
            ("grant_type", "client_credentials".to_owned()),
            ("client_id", self.config.client_id.clone()),
            (
                "client_secret",
                self.config.client_secret.expose_secret().to_owned(),
            ),
        ];
        if let Some(scope) = &self.config.scope {
            form.push(("scope", scope.clone()));
        }
        let resp = self
            .http
            .post(self.config.token_url.clone())
            .form(&form)
            .send()
            .await
            .map_err(transport_error)?;
        let status = resp.status();
        if !status.is_success() {
            tracing::warn!(status = status.as_u16(), "ondato token request refused");
            return Err(ProviderError::Unavailable(format!(
                "token endpoint answered {status}"
            )));
        }
        let body: TokenResponse = resp.json().await.map_err(|_| {
            ProviderError::Unavailable("token endpoint answered an unreadable body".into())
        })?;
        // Refresh a minute early (or halfway for short-lived tokens) so a request never races expiry.
        let lifetime = body.expires_in.unwrap_or(300);
        let margin = 60.min(lifetime / 2);
        let value = SecretString::from(body.access_token);
        *cached = Some(CachedToken {
            value: value.clone(),
            refresh_at: Instant::now() + Duration::from_secs(lifetime - margin),
        });
        Ok(value)
    }

    async fn forget_token(&self) {
        *self.token.lock().await = None;
    }

    /// One authenticated JSON call; a 401 drops the cached token and retries once.
    async fn call(
        &self,
        method: reqwest::Method,
        url: url::Url,
        body: Option<&Value>,
    ) -> Result<Option<Value>, ProviderError> {
        for attempt in 0..2 {
            let token = self.token().await?;
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(token.expose_secret());
            if let Some(b) = body {
                req = req.json(b);
            }
            let resp = req.send().await.map_err(transport_error)?;
            let status = resp.status();
            if status == reqwest::StatusCode::UNAUTHORIZED && attempt == 0 {
                self.forget_token().await;
                continue;
            }
            if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                tracing::warn!(
                    status = status.as_u16(),
                    "ondato answered with a server error"
                );
                return Err(ProviderError::Unavailable(format!(
                    "ondato answered {status}"
                )));
            }
            if status.is_client_error() {
                tracing::warn!(status = status.as_u16(), "ondato refused a request");
                return Err(ProviderError::Rejected {
                    message: format!("ondato refused the request ({})", status.as_u16()),
                    fields: Default::default(),
                });
            }
            let bytes = resp.bytes().await.map_err(transport_error)?;
            if bytes.is_empty() {
                return Ok(None);
            }
            return serde_json::from_slice(&bytes).map(Some).map_err(|_| {
                ProviderError::Unavailable("ondato answered an unreadable body".into())
            });
        }
        Err(ProviderError::Unavailable(
            "ondato refused our token twice".into(),
        ))
    }

    fn idv_url(&self, idv_id: Option<&str>, suffix: &str) -> Result<url::Url, ProviderError> {
        let mut url = self.config.idv_api_url.clone();
        {
            let mut segs = url
                .path_segments_mut()
                .map_err(|_| ProviderError::Unavailable("bad IDV API URL".into()))?;
            segs.pop_if_empty().extend(["v1", "identity-verifications"]);
            if let Some(id) = idv_id {
                segs.push(id);
            }
            if !suffix.is_empty() {
                segs.push(suffix);
            }
        }
        Ok(url)
    }

    fn kyc_url(&self, kyc_id: &str) -> Result<url::Url, ProviderError> {
        let mut url = self.config.kyc_api_url.clone();
        url.path_segments_mut()
            .map_err(|_| ProviderError::Unavailable("bad KYC API URL".into()))?
            .pop_if_empty()
            .extend(["v1", "identifications", kyc_id]);
        Ok(url)
    }

    /// The hosted page for an IDV: `{hosted}/?id={idv}`.
    fn hosted_url(&self, idv_id: &str) -> String {
        let mut url = self.config.hosted_url.clone();
        url.query_pairs_mut().clear().append_pair("id", idv_id);
        url.to_string()
    }

    async fn fetch_idv(&self, idv_id: &str) -> Result<Idv, InterpretError> {
        let value = self
            .call(reqwest::Method::GET, self.idv_url(Some(idv_id), "")?, None)
            .await
            .map_err(not_found_is_malformed)?
            .ok_or_else(|| ProviderError::Unavailable("empty IDV".into()))?;
        serde_json::from_value(value)
            .map_err(|_| ProviderError::Unavailable("unreadable IDV".into()).into())
    }

    async fn fetch_kyc(&self, kyc_id: &str) -> Result<KycIdentification, InterpretError> {
        let value = self
            .call(reqwest::Method::GET, self.kyc_url(kyc_id)?, None)
            .await
            .map_err(not_found_is_malformed)?
            .ok_or_else(|| ProviderError::Unavailable("empty identification".into()))?;
        serde_json::from_value(value)
            .map_err(|_| ProviderError::Unavailable("unreadable identification".into()).into())
    }
}

fn not_found_is_malformed(e: ProviderError) -> InterpretError {
    match e {
        ProviderError::Rejected { .. } => {
            InterpretError::Malformed("the event names a resource Ondato does not know".into())
        }
        other => InterpretError::Provider(other),
    }
}

fn transport_error(e: reqwest::Error) -> ProviderError {
    if e.is_timeout() {
        ProviderError::Timeout
    } else {
        ProviderError::Unavailable("could not reach ondato".into())
    }
}

/// `PoorPhotoQuality` / `POOR_PHOTO_QUALITY` → `poor_photo_quality`.
pub fn reason_code(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 4);
    let chars: Vec<char> = raw.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev_lower =
                i > 0 && (chars[i - 1].is_ascii_lowercase() || chars[i - 1].is_ascii_digit());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            let prev_upper = i > 0 && chars[i - 1].is_ascii_uppercase();
            if i > 0 && !out.ends_with('_') && (prev_lower || (prev_upper && next_lower)) {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(*c);
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_owned()
}

/// Parse Ondato's UTC times (RFC 3339, or without an offset, which Ondato means as UTC).
pub fn parse_utc(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
}

/// The envelope with only the payload's identifiers and status words: Ondato's payload carries
/// document data (names, numbers, dates of birth) that is never kept.
fn audit(envelope: &Envelope) -> Value {
    let mut payload = Map::new();
    for key in [
        "id",
        "status",
        "statusReason",
        "identityVerificationId",
        "externalReferenceId",
    ] {
        if let Some(v) = envelope.payload.get(key) {
            payload.insert(key.to_owned(), v.clone());
        }
    }
    json!({
        "id": envelope.id,
        "applicationId": envelope.application_id,
        "createdUtc": envelope.created_utc,
        "type": envelope.kind,
        "payload": payload,
    })
}

/// What the IDV and its KYC identification say, in our model.
fn observe(
    event_type: &str,
    idv: &Idv,
    kyc: Option<&KycIdentification>,
    kyc_id: Option<&str>,
    at: DateTime<Utc>,
) -> Observation {
    let kyc_status = kyc.and_then(|k| k.status.as_deref());
    let kyc_reason = kyc.and_then(|k| k.status_reason.as_deref());
    let mut raw_status = format!("IDV {}", idv.status);
    if let Some(s) = kyc_status {
        raw_status.push_str(&format!(" / KYC {s}"));
        if let Some(r) = kyc_reason {
            raw_status.push_str(&format!(" ({r})"));
        }
    }
    let reason = kyc_reason.map(|r| {
        let code = reason_code(r);
        Reason {
            retryable: !FINAL_REASONS.contains(&code.as_str()),
            code,
            provider_reason: r.to_owned(),
        }
    });
    let status = match (kyc_status, idv.status.as_str()) {
        (Some("Approved"), _) => Status::Approved,
        (Some("Rejected"), _) => Status::Rejected,
        (_, "Aborted") => Status::Canceled,
        (_, "Expired") => Status::Expired,
        (_, "Completed") => Status::InReview,
        _ if event_type == "KycIdentification.Processed" => Status::InReview,
        (Some(_), _) => Status::InProgress,
        (None, "InProgress" | "Suspended") => Status::InProgress,
        _ if kyc_id.is_some() => Status::InProgress,
        _ => Status::Pending,
    };
    Observation {
        status,
        raw_status,
        reason: if status.is_terminal() { reason } else { None },
        required_actions: Vec::new(),
        occurred_at: at,
        decision_ref: kyc_id.map(str::to_owned),
    }
}

fn registration(applicant: &Applicant) -> Map<String, Value> {
    let mut r = Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            r.insert(k.to_owned(), v);
        }
    };
    put("firstName", applicant.first_name.clone().map(Value::from));
    put("middleName", applicant.middle_name.clone().map(Value::from));
    put("lastName", applicant.last_name.clone().map(Value::from));
    put(
        "dateOfBirth",
        applicant
            .date_of_birth
            .map(|d| d.format("%Y-%m-%d").to_string().into()),
    );
    put("email", applicant.email.clone().map(Value::from));
    put(
        "personalCode",
        applicant.personal_code.clone().map(Value::from),
    );
    put(
        "countryCode",
        applicant.country_code.clone().map(Value::from),
    );
    // Ondato wants the phone as one JSON number, country code included.
    let phone = applicant.phone.as_ref().and_then(|p| {
        let cc = applicant.phone_country_code.as_deref().unwrap_or("");
        format!("{cc}{p}").parse::<u64>().ok()
    });
    put("phoneNumber", phone.map(Value::from));
    r
}

#[async_trait]
impl KycProvider for OndatoAdapter {
    fn name(&self) -> ProviderName {
        ProviderName::Ondato
    }

    fn required_fields(&self) -> &'static [ApplicantField] {
        &[]
    }

    async fn start(&self, request: StartRequest<'_>) -> Result<Started, ProviderError> {
        let body = json!({
            "externalReferenceId": request.verification_id.as_str(),
            "setupId": self.config.setup_id,
            "registration": registration(request.applicant),
        });
        let created = self
            .call(reqwest::Method::POST, self.idv_url(None, "")?, Some(&body))
            .await?
            .ok_or_else(|| {
                ProviderError::Unavailable("ondato created an IDV without an id".into())
            })?;
        let idv_id = created
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                ProviderError::Unavailable("ondato created an IDV without an id".into())
            })?
            .to_owned();
        if let Some(return_url) = request.return_url {
            let settings = json!({
                "defaultLanguage": "en-GB",
                "localisationSettings": [{
                    "language": "en-GB",
                    "successRedirectUrl": return_url.as_str(),
                    "failureRedirectUrl": return_url.as_str(),
                    "consentDeclinedRedirectUrl": return_url.as_str(),
                }],
            });
            self.call(
                reqwest::Method::PUT,
                self.idv_url(Some(&idv_id), "setup-localisations")?,
                Some(&settings),
            )
            .await?;
        }
        // The IDV id is as good as the hosted URL (whoever has it can complete the check): not logged.
        tracing::info!(verification_id = %request.verification_id, "ondato IDV created");
        Ok(Started {
            verification_url: Some(self.hosted_url(&idv_id)),
            initial: Observation {
                status: Status::Pending,
                raw_status: "IDV Pending".into(),
                reason: None,
                required_actions: Vec::new(),
                occurred_at: Utc::now(),
                decision_ref: None,
            },
            provider_ref: idv_id,
        })
    }

    /// An IDV cannot be edited and is single-use: a correction opens a new one with the new
    /// prefill, and the verification continues on its hosted page.
    async fn resubmit(
        &self,
        verification: &Verification,
        applicant: &Applicant,
        return_url: Option<&url::Url>,
    ) -> Result<Started, ProviderError> {
        self.start(StartRequest {
            verification_id: &verification.id,
            customer_id: &verification.customer_id,
            applicant,
            return_url,
        })
        .await
    }

    async fn current_state(
        &self,
        v: &Verification,
        now: DateTime<Utc>,
    ) -> Result<Observation, ProviderError> {
        let unknown = |e: InterpretError| match e {
            InterpretError::Provider(p) => p,
            InterpretError::Malformed(_) => ProviderError::Rejected {
                message: "ondato does not know this verification's IDV".into(),
                fields: Default::default(),
            },
        };
        let idv_id = v
            .provider_ref
            .as_deref()
            .ok_or_else(|| ProviderError::Unavailable("no IDV".into()))?;
        let idv = self.fetch_idv(idv_id).await.map_err(unknown)?;
        let kyc_id = idv
            .step
            .as_ref()
            .and_then(|s| s.kyc_identification.as_ref())
            .map(|k| k.id.clone())
            .or_else(|| v.decision_ref.clone());
        let kyc = match &kyc_id {
            Some(id) => Some(self.fetch_kyc(id).await.map_err(unknown)?),
            None => None,
        };
        Ok(observe("", &idv, kyc.as_ref(), kyc_id.as_deref(), now))
    }

    fn authenticate(&self, webhook: &RawWebhook<'_>, _now: DateTime<Utc>) -> Result<(), AuthError> {
        if !self.config.allowed_ips.is_empty()
            && !webhook
                .source_ip
                .is_some_and(|ip| self.config.allowed_ips.contains(&ip))
        {
            return Err(AuthError::Invalid);
        }
        let header = webhook
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(AuthError::Missing)?;
        let encoded = header
            .strip_prefix("Basic ")
            .or_else(|| header.strip_prefix("basic "))
            .ok_or(AuthError::Invalid)?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| AuthError::Invalid)?;
        let (user, pass) = match decoded.iter().position(|b| *b == b':') {
            Some(i) => (&decoded[..i], &decoded[i + 1..]),
            None => return Err(AuthError::Invalid),
        };
        let user_ok = user.ct_eq(self.config.webhook_username.as_bytes());
        // Compare against every active password without stopping early.
        let pass_ok = self
            .config
            .webhook_passwords
            .iter()
            .fold(subtle::Choice::from(0), |acc, p| {
                acc | pass.ct_eq(p.expose_secret().as_bytes())
            });
        if bool::from(user_ok & pass_ok) {
            Ok(())
        } else {
            Err(AuthError::Invalid)
        }
    }

    async fn interpret(&self, webhook: &RawWebhook<'_>) -> Result<Interpreted, InterpretError> {
        let envelope: Envelope = serde_json::from_slice(webhook.body)
            .map_err(|_| InterpretError::Malformed("not an Ondato webhook envelope".into()))?;
        if let (Some(expected), Some(got)) = (&self.config.application_id, &envelope.application_id)
        {
            if expected != got {
                return Ok(Interpreted::Ignored {
                    event_type: format!("{} (other application)", envelope.kind),
                });
            }
        }
        let occurred_at = parse_utc(&envelope.created_utc)
            .ok_or_else(|| InterpretError::Malformed("createdUtc is not a time".into()))?;
        let payload_id = |key: &str| {
            envelope
                .payload
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| InterpretError::Malformed(format!("payload.{key} is missing")))
        };
        let (idv_id, kyc_id) = if IDV_EVENTS.contains(&envelope.kind.as_str()) {
            (payload_id("id")?, None)
        } else if KYC_EVENTS.contains(&envelope.kind.as_str()) {
            (
                payload_id("identityVerificationId")?,
                Some(payload_id("id")?),
            )
        } else {
            return Ok(Interpreted::Ignored {
                event_type: envelope.kind,
            });
        };

        // Never trust the body: ask Ondato what the IDV and its identification say now.
        let idv = self.fetch_idv(&idv_id).await?;
        let kyc_id = kyc_id.or_else(|| {
            idv.step
                .as_ref()?
                .kyc_identification
                .as_ref()
                .map(|k| k.id.clone())
        });
        let kyc = match &kyc_id {
            Some(id) => Some(self.fetch_kyc(id).await?),
            None => None,
        };
        let observation = observe(
            &envelope.kind,
            &idv,
            kyc.as_ref(),
            kyc_id.as_deref(),
            occurred_at,
        );
        let locator = idv
            .external_reference_id
            .as_deref()
            .and_then(|r| VerificationId::parse(r).ok())
            .map_or_else(|| Locator::ProviderRef(idv_id.clone()), Locator::Ours);
        let audit = audit(&envelope);
        Ok(Interpreted::Event(Box::new(ProviderEvent {
            event_id: envelope.id,
            event_type: envelope.kind,
            locator,
            provider_ref: Some(idv_id),
            audit,
            observation,
            occurred_at,
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idv(status: &str) -> Idv {
        Idv {
            status: status.into(),
            external_reference_id: None,
            step: None,
        }
    }

    fn kyc(status: &str, reason: Option<&str>) -> KycIdentification {
        KycIdentification {
            status: Some(status.into()),
            status_reason: reason.map(Into::into),
        }
    }

    #[test]
    fn reason_words_become_snake_case_codes() {
        assert_eq!(reason_code("PoorPhotoQuality"), "poor_photo_quality");
        assert_eq!(reason_code("POOR_PHOTO_QUALITY"), "poor_photo_quality");
        assert_eq!(
            reason_code("DocAndBioAgeDoesntMatch"),
            "doc_and_bio_age_doesnt_match"
        );
        assert_eq!(
            reason_code("AutomaticallyIdentified"),
            "automatically_identified"
        );
    }

    #[test]
    fn the_provider_state_maps_onto_our_model() {
        let at = Utc::now();
        let cases = [
            (
                "IdentityVerification.StatusChanged",
                idv("Pending"),
                None,
                Status::Pending,
            ),
            (
                "IdentityVerification.StatusChanged",
                idv("InProgress"),
                None,
                Status::InProgress,
            ),
            (
                "IdentityVerification.StatusChanged",
                idv("Suspended"),
                None,
                Status::InProgress,
            ),
            (
                "KycIdentification.Created",
                idv("InProgress"),
                Some(kyc("Awaiting", None)),
                Status::InProgress,
            ),
            (
                "KycIdentification.Processed",
                idv("InProgress"),
                Some(kyc("Awaiting", None)),
                Status::InReview,
            ),
            (
                "IdentityVerification.StatusChanged",
                idv("Completed"),
                Some(kyc("Awaiting", None)),
                Status::InReview,
            ),
            (
                "KycIdentification.Approved",
                idv("Completed"),
                Some(kyc("Approved", Some("AutomaticallyIdentified"))),
                Status::Approved,
            ),
            (
                "KycIdentification.Rejected",
                idv("Completed"),
                Some(kyc("Rejected", Some("PoorPhotoQuality"))),
                Status::Rejected,
            ),
            (
                "IdentityVerification.StatusChanged",
                idv("Aborted"),
                None,
                Status::Canceled,
            ),
            (
                "IdentityVerification.StatusChanged",
                idv("Expired"),
                None,
                Status::Expired,
            ),
        ];
        for (event, idv, kyc, expected) in cases {
            let o = observe(event, &idv, kyc.as_ref(), kyc.as_ref().map(|_| "kyc-1"), at);
            assert_eq!(o.status, expected, "{event} {}", o.raw_status);
        }
    }

    #[test]
    fn critical_rejection_reasons_are_not_retryable() {
        let at = Utc::now();
        let o = observe(
            "KycIdentification.Rejected",
            &idv("Completed"),
            Some(&kyc("Rejected", Some("Sanctioned"))),
            Some("k"),
            at,
        );
        assert!(!o.reason.unwrap().retryable);
        let o = observe(
            "KycIdentification.Rejected",
            &idv("Completed"),
            Some(&kyc("Rejected", Some("BlurredPhoto"))),
            Some("k"),
            at,
        );
        assert!(o.reason.unwrap().retryable);
    }

    #[test]
    fn ondato_times_parse_with_or_without_an_offset() {
        assert!(parse_utc("2023-01-16T23:40:51Z").is_some());
        assert!(parse_utc("2023-01-16T23:40:51.1234567").is_some());
        assert!(parse_utc("2023-01-16T23:40:51.123+02:00").is_some());
        assert!(parse_utc("yesterday").is_none());
    }

    #[test]
    fn registration_sends_only_what_was_given_and_the_phone_as_a_number() {
        let applicant = Applicant {
            first_name: Some("Ada".into()),
            phone: Some("624515141".into()),
            phone_country_code: Some("370".into()),
            ..Applicant::default()
        };
        let r = registration(&applicant);
        assert_eq!(r["firstName"], "Ada");
        assert_eq!(r["phoneNumber"], 370624515141u64);
        assert!(!r.contains_key("lastName"));
    }
}
