//! Veriff's public API v1: `POST /v1/sessions` and `GET /v1/sessions/{id}/decision`, each with
//! `X-AUTH-CLIENT` and `X-HMAC-SIGNATURE`, and the wire types we read from them.
//!
//! Only the fields we use are deserialized: a decision's `person` and `document` (and the
//! session's `sessionToken`) are never held in memory as values, let alone logged. Neither are
//! the hosted URL or the session id ever logged: whoever has them can reach the session.

use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::config::VeriffConfig;
use super::signature::sign;
use crate::provider::ProviderError;

/// The session `POST /v1/sessions` opened.
#[derive(Deserialize)]
pub(super) struct CreatedSession {
    pub id: String,
    pub url: String,
}

#[derive(Deserialize)]
struct CreatedAnswer {
    verification: CreatedSession,
}

/// A decision, as `GET /v1/sessions/{id}/decision` answers it and a decision webhook carries it
/// (the fields we use).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Decision {
    /// The session id.
    pub id: String,
    #[serde(default)]
    pub attempt_id: Option<String>,
    #[serde(default)]
    pub vendor_data: Option<String>,
    pub status: String,
    #[serde(default, deserialize_with = "lenient_int")]
    pub code: Option<i64>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default, deserialize_with = "lenient_int")]
    pub reason_code: Option<i64>,
    #[serde(default)]
    pub decision_time: Option<String>,
}

#[derive(Deserialize)]
struct DecisionAnswer {
    #[serde(default)]
    verification: Option<Decision>,
}

/// A number Veriff may write as `102`, `"102"` or `null`; anything else reads as absent.
fn lenient_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

pub(super) struct VeriffClient {
    config: VeriffConfig,
    http: reqwest::Client,
}

impl VeriffClient {
    pub fn new(config: VeriffConfig, http: reqwest::Client) -> Self {
        Self { config, http }
    }

    pub fn config(&self) -> &VeriffConfig {
        &self.config
    }

    /// `{base}/v1/sessions[/{id}/…]`; each segment is percent-encoded, so an id cannot leave
    /// the path it is put in.
    pub(super) fn url(&self, segments: &[&str]) -> Result<url::Url, ProviderError> {
        let mut url = self.config.base_url.clone();
        url.path_segments_mut()
            .map_err(|_| ProviderError::Unavailable("bad Veriff base URL".into()))?
            .pop_if_empty()
            .extend(["v1", "sessions"])
            .extend(segments);
        Ok(url)
    }

    /// A request with the API key and the signature of `signed` (the body, or the session id).
    pub(super) fn request(
        &self,
        method: reqwest::Method,
        url: url::Url,
        signed: &[u8],
    ) -> reqwest::RequestBuilder {
        let signature = sign(
            self.config.signing_secret().expose_secret().as_bytes(),
            signed,
        );
        self.http
            .request(method, url)
            .header("x-auth-client", self.config.api_key.expose_secret())
            .header("x-hmac-signature", signature)
            .header(http::header::CONTENT_TYPE, "application/json")
    }

    /// Open a session. The body is serialized once, so the signature covers the exact bytes sent.
    pub async fn create_session(&self, body: &Value) -> Result<CreatedSession, ProviderError> {
        let bytes = body.to_string().into_bytes();
        let req = self
            .request(reqwest::Method::POST, self.url(&[])?, &bytes)
            .body(bytes);
        let answer: CreatedAnswer = call(req, "session").await?;
        Ok(answer.verification)
    }

    /// The session's decision; `None` while Veriff has none.
    pub async fn decision(&self, session_id: &str) -> Result<Option<Decision>, ProviderError> {
        let url = self.url(&[session_id, "decision"])?;
        let req = self.request(reqwest::Method::GET, url, session_id.as_bytes());
        let answer: DecisionAnswer = call(req, "decision").await?;
        Ok(answer.verification)
    }

    /// The session's attempts, oldest first (where the session stands before any decision).
    pub async fn attempts(&self, session_id: &str) -> Result<Vec<Attempt>, ProviderError> {
        let url = self.url(&[session_id, "attempts"])?;
        let req = self.request(reqwest::Method::GET, url, session_id.as_bytes());
        let answer: AttemptsAnswer = call(req, "attempts").await?;
        Ok(answer.verifications)
    }
}

/// One attempt of a session, as `GET /v1/sessions/{id}/attempts` lists it.
#[derive(Debug, serde::Deserialize)]
pub(super) struct Attempt {
    /// `created`, `started`, `submitted`, `resubmission_requested`, or a decision's word.
    pub status: String,
}

#[derive(serde::Deserialize)]
struct AttemptsAnswer {
    #[serde(default)]
    verifications: Vec<Attempt>,
}

/// Send, refuse what is not a success, read the JSON answer.
pub(super) async fn call<T: DeserializeOwned>(
    req: reqwest::RequestBuilder,
    what: &'static str,
) -> Result<T, ProviderError> {
    let resp = req.send().await.map_err(ProviderError::transport)?;
    let status = resp.status();
    let bytes = resp.bytes().await.map_err(ProviderError::transport)?;
    refusal(status, &bytes)?;
    serde_json::from_slice(&bytes).map_err(ProviderError::unreadable(what))
}

/// A 5xx or 429 is `Unavailable` (retry later); another 4xx is a refusal of this request, told
/// with its status and Veriff's error code only (Veriff's message may echo what we sent).
pub(super) fn refusal(status: reqwest::StatusCode, body: &[u8]) -> Result<(), ProviderError> {
    if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        tracing::warn!(
            status = status.as_u16(),
            "veriff answered with a server error"
        );
        return Err(ProviderError::Unavailable(format!(
            "veriff answered {status}"
        )));
    }
    if status.is_client_error() {
        let code = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| match v.get("code") {
                Some(Value::String(s)) if s.len() <= 8 && s.bytes().all(|b| b.is_ascii_digit()) => {
                    Some(s.clone())
                }
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            });
        tracing::warn!(
            status = status.as_u16(),
            code = code.as_deref().unwrap_or("-"),
            "veriff refused a request"
        );
        let message = match code {
            Some(code) => format!(
                "veriff refused the request ({}, code {code})",
                status.as_u16()
            ),
            None => format!("veriff refused the request ({})", status.as_u16()),
        };
        return Err(ProviderError::Rejected {
            message,
            fields: Default::default(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fake::{client, serve};
    use super::*;

    const SESSION: &str = "f04bdb47-d3be-4b28-b028-a652feb060b5";

    #[tokio::test]
    async fn a_session_is_created_with_the_key_and_the_signature_of_the_exact_body() {
        let fake = serve(vec![(
            201,
            json!({"status": "success", "verification": {"id": SESSION, "url": "https://veriff.example/v/token",
                   "vendorData": "ver_1", "host": "https://veriff.example", "status": "created", "sessionToken": "token"}})
            .to_string(),
        )]);
        let c = client(&fake);
        let body = json!({"verification": {"vendorData": "ver_01JD6Z3Q9P8X7W6V5T4S3R2Q1P"}});
        let created = c.create_session(&body).await.unwrap();
        assert_eq!(
            (created.id.as_str(), created.url.as_str()),
            (SESSION, "https://veriff.example/v/token")
        );
        let seen = fake.seen();
        assert_eq!(
            (seen[0].method.as_str(), seen[0].path.as_str()),
            ("POST", "/veriff/v1/sessions")
        );
        assert_eq!(
            seen[0].header("x-auth-client"),
            Some("local-veriff-api-key")
        );
        assert_eq!(seen[0].header("content-type"), Some("application/json"));
        let expected = sign(b"local-veriff-shared-secret", &seen[0].body);
        assert_eq!(seen[0].header("x-hmac-signature"), Some(expected.as_str()));
        assert_eq!(
            serde_json::from_slice::<Value>(&seen[0].body).unwrap(),
            body
        );
    }

    #[tokio::test]
    async fn a_decision_is_read_with_the_session_id_signed_and_null_is_none() {
        let decision = json!({"status": "success", "verification": {"id": SESSION, "attemptId": "a-1",
            "vendorData": "ver_1", "status": "declined", "code": 9102, "reason": "Suspected document tampering",
            "reasonCode": "102", "decisionTime": "2026-01-02T03:04:05.678Z", "person": {"firstName": "Ada"}}});
        let fake = serve(vec![
            (200, decision.to_string()),
            (
                200,
                json!({"status": "success", "verification": null}).to_string(),
            ),
        ]);
        let c = client(&fake);
        let d = c.decision(SESSION).await.unwrap().unwrap();
        assert_eq!(
            (d.status.as_str(), d.code, d.reason_code),
            ("declined", Some(9102), Some(102))
        );
        assert!(!format!("{d:?}").contains("Ada"), "the person is not read");
        assert!(c.decision(SESSION).await.unwrap().is_none());
        let seen = fake.seen();
        assert_eq!(seen[0].method, "GET");
        assert_eq!(
            seen[0].path,
            format!("/veriff/v1/sessions/{SESSION}/decision")
        );
        let expected = sign(b"local-veriff-shared-secret", SESSION.as_bytes());
        assert_eq!(seen[0].header("x-hmac-signature"), Some(expected.as_str()));
    }

    #[tokio::test]
    async fn server_errors_and_throttling_are_unavailable_other_4xx_a_safe_rejection() {
        let fake = serve(vec![
            (500, "oops".into()),
            (429, "{}".into()),
            (401, json!({"status": "fail", "code": "1801", "message": "Mandatory X-AUTH-CLIENT header is missing"}).to_string()),
            (404, "not json".into()),
            (200, "not json".into()),
        ]);
        let c = client(&fake);
        for _ in 0..2 {
            let e = c.decision(SESSION).await.unwrap_err();
            assert!(matches!(e, ProviderError::Unavailable(_)), "{e:?}");
        }
        match c.decision(SESSION).await.unwrap_err() {
            ProviderError::Rejected { message, .. } => {
                assert_eq!(message, "veriff refused the request (401, code 1801)");
            }
            other => panic!("{other:?}"),
        }
        match c.decision(SESSION).await.unwrap_err() {
            ProviderError::Rejected { message, .. } => {
                assert_eq!(message, "veriff refused the request (404)")
            }
            other => panic!("{other:?}"),
        }
        let e = c.decision(SESSION).await.unwrap_err();
        assert!(
            matches!(
                e,
                ProviderError::Unreadable {
                    what: "decision",
                    ..
                }
            ),
            "{e:?}"
        );
        fake.seen();
    }

    #[tokio::test]
    async fn an_id_cannot_leave_its_path_segment() {
        let fake = serve(vec![(
            200,
            json!({"status": "success", "verification": null}).to_string(),
        )]);
        client(&fake).decision("../../admin?x=1").await.unwrap();
        let seen = fake.seen();
        assert_eq!(
            seen[0].path,
            "/veriff/v1/sessions/..%2F..%2Fadmin%3Fx=1/decision"
        );
    }

    #[tokio::test]
    async fn an_unreachable_api_is_unreachable_without_its_url() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = super::super::fake::config(&format!("http://127.0.0.1:{port}/veriff"));
        let c = VeriffClient::new(config, super::super::fake::http());
        match c.decision(SESSION).await.unwrap_err() {
            ProviderError::Unreachable(e) => assert!(e.url().is_none()),
            other => panic!("{other:?}"),
        }
    }
}
