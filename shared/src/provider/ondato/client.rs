//! Ondato's HTTP APIs: OAuth2 client credentials (token cached until shortly before it expires,
//! dropped on a `401`), the IDV API and the KYC identifications API, and the wire types we read.

use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Mutex;

use super::config::OndatoConfig;
use crate::provider::ProviderError;

/// An IDV as `GET /v1/identity-verifications/{id}` returns it (the fields we use).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Idv {
    pub status: String,
    #[serde(default)]
    pub external_reference_id: Option<String>,
    #[serde(default)]
    pub step: Option<IdvStep>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct IdvStep {
    #[serde(default)]
    pub kyc_identification: Option<IdRef>,
}

#[derive(Debug, Deserialize)]
pub(super) struct IdRef {
    pub id: String,
}

impl Idv {
    /// The KYC identification the IDV itself links to.
    pub fn kyc_id(&self) -> Option<String> {
        self.step
            .as_ref()?
            .kyc_identification
            .as_ref()
            .map(|k| k.id.clone())
    }
}

/// A KYC identification as `GET /v1/identifications/{id}` returns it (the fields we use).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct KycIdentification {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub status_reason: Option<String>,
    /// The IDV the identification belongs to, by its own account.
    #[serde(default)]
    pub identity_verification_id: Option<String>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    /// Any JSON: read by [`token_lifetime`], which no number can make panic.
    #[serde(default)]
    expires_in: Option<Value>,
}

/// The longest a token is cached, whatever `expires_in` says (Ondato's last a day).
const MAX_TOKEN_LIFETIME_SECS: u64 = 24 * 3600;
/// The lifetime assumed when `expires_in` is absent or not a number.
const DEFAULT_TOKEN_LIFETIME_SECS: u64 = 300;

/// How long to reuse a token whose answer said `expires_in`: a minute early (or halfway for
/// short-lived tokens) so a request never races expiry, capped at a day. A huge, fractional,
/// negative or non-numeric value never overflows: negative or zero means "do not reuse".
fn token_lifetime(expires_in: Option<&Value>) -> Duration {
    let secs = match expires_in {
        None | Some(Value::Null) => DEFAULT_TOKEN_LIFETIME_SECS,
        Some(v) => match (v.as_u64(), v.as_f64()) {
            (Some(n), _) => n.min(MAX_TOKEN_LIFETIME_SECS),
            // Negative, fractional or beyond u64 (JSON numbers such as 1e30).
            (None, Some(f)) if f.is_finite() && f > 0.0 => {
                f.min(MAX_TOKEN_LIFETIME_SECS as f64) as u64
            }
            (None, Some(_)) => 0,
            (None, None) => DEFAULT_TOKEN_LIFETIME_SECS,
        },
    };
    let margin = 60.min(secs / 2);
    Duration::from_secs(secs.saturating_sub(margin))
}

struct CachedToken {
    value: SecretString,
    refresh_at: Instant,
}

pub(super) struct OndatoClient {
    config: OndatoConfig,
    http: reqwest::Client,
    token: Mutex<Option<CachedToken>>,
}

impl OndatoClient {
    pub fn new(config: OndatoConfig, http: reqwest::Client) -> Self {
        Self {
            config,
            http,
            token: Mutex::new(None),
        }
    }

    pub fn config(&self) -> &OndatoConfig {
        &self.config
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
            .map_err(ProviderError::transport)?;
        let status = resp.status();
        if !status.is_success() {
            tracing::warn!(status = status.as_u16(), "ondato token request refused");
            return Err(ProviderError::Unavailable(format!(
                "token endpoint answered {status}"
            )));
        }
        let bytes = resp.bytes().await.map_err(ProviderError::transport)?;
        let body: TokenResponse =
            serde_json::from_slice(&bytes).map_err(ProviderError::unreadable("token"))?;
        let value = SecretString::from(body.access_token);
        let now = Instant::now();
        *cached = Some(CachedToken {
            value: value.clone(),
            refresh_at: now
                .checked_add(token_lifetime(body.expires_in.as_ref()))
                .unwrap_or(now),
        });
        Ok(value)
    }

    async fn forget_token(&self) {
        *self.token.lock().await = None;
    }

    /// One authenticated JSON call; a 401 drops the cached token and retries once.
    pub async fn call(
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
            let resp = req.send().await.map_err(ProviderError::transport)?;
            let status = resp.status();
            if status == reqwest::StatusCode::UNAUTHORIZED && attempt == 0 {
                self.forget_token().await;
                continue;
            }
            refusal(status)?;
            let bytes = resp.bytes().await.map_err(ProviderError::transport)?;
            if bytes.is_empty() {
                return Ok(None);
            }
            return serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(ProviderError::unreadable("ondato answer"));
        }
        Err(ProviderError::Unavailable(
            "ondato refused our token twice".into(),
        ))
    }

    pub fn idv_url(&self, idv_id: Option<&str>, suffix: &str) -> Result<url::Url, ProviderError> {
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

    pub(super) fn kyc_url(&self, kyc_id: &str) -> Result<url::Url, ProviderError> {
        let mut url = self.config.kyc_api_url.clone();
        url.path_segments_mut()
            .map_err(|_| ProviderError::Unavailable("bad KYC API URL".into()))?
            .pop_if_empty()
            .extend(["v1", "identifications", kyc_id]);
        Ok(url)
    }

    /// The hosted page for an IDV: `{hosted}/?id={idv}`.
    pub fn hosted_url(&self, idv_id: &str) -> String {
        let mut url = self.config.hosted_url.clone();
        url.query_pairs_mut().clear().append_pair("id", idv_id);
        url.to_string()
    }

    pub async fn fetch_idv(&self, idv_id: &str) -> Result<Idv, ProviderError> {
        let value = self
            .call(reqwest::Method::GET, self.idv_url(Some(idv_id), "")?, None)
            .await?
            .ok_or_else(|| ProviderError::Unavailable("empty IDV".into()))?;
        serde_json::from_value(value).map_err(ProviderError::unreadable("IDV"))
    }

    pub async fn fetch_kyc(&self, kyc_id: &str) -> Result<KycIdentification, ProviderError> {
        let value = self
            .call(reqwest::Method::GET, self.kyc_url(kyc_id)?, None)
            .await?
            .ok_or_else(|| ProviderError::Unavailable("empty identification".into()))?;
        serde_json::from_value(value).map_err(ProviderError::unreadable("identification"))
    }
}

/// A 5xx or 429 is `Unavailable` (retry later); another 4xx is a refusal of this request.
fn refusal(status: reqwest::StatusCode) -> Result<(), ProviderError> {
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn lifetime(body: Value) -> Duration {
        let parsed: TokenResponse = serde_json::from_value(body).expect("a token answer");
        token_lifetime(parsed.expires_in.as_ref())
    }

    #[test]
    fn any_expires_in_gives_a_bounded_lifetime_without_panicking() {
        let day = Duration::from_secs(MAX_TOKEN_LIFETIME_SECS - 60);
        let cases = [
            (json!(3600), Duration::from_secs(3540)),
            (json!(60), Duration::from_secs(30)),
            (json!(1), Duration::from_secs(1)),
            (json!(0), Duration::ZERO),
            (json!(u64::MAX), day),
            (json!(1e30), day),
            (json!(f64::MAX), day),
            (json!(-5), Duration::ZERO),
            (json!(-1e30), Duration::ZERO),
            (json!(i64::MIN), Duration::ZERO),
            (json!(90.7), Duration::from_secs(45)),
            (json!("3600"), Duration::from_secs(240)),
            (Value::Null, Duration::from_secs(240)),
        ];
        for (expires_in, expected) in cases {
            let got = lifetime(json!({"access_token": "t", "expires_in": expires_in}));
            assert_eq!(got, expected, "expires_in {expires_in}");
            assert!(Instant::now().checked_add(got).is_some());
        }
        assert_eq!(
            lifetime(json!({"access_token": "t"})),
            Duration::from_secs(240)
        );
    }
}
