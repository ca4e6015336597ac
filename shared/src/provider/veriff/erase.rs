//! Redaction at Veriff: `DELETE /v1/sessions/{id}` (anchors.md §3, Veriff's "Delete session"),
//! signed over the session id like the reads. Veriff offers it only when enabled for the
//! integration and only for sessions in a final or early status; Veriff deletes the data within
//! 12 hours.

use super::client::{refusal, VeriffClient};
use crate::domain::ProviderCopy;
use crate::provider::ProviderError;

impl VeriffClient {
    /// Ask Veriff to delete the session. A refusal (deletion not enabled, a status it cannot be
    /// deleted in) is reported, not retried; gone already (`404`) counts as deleted; 5xx, 429
    /// and transport failures are errors, so the redaction is retried.
    pub async fn delete_session(&self, session_id: &str) -> Result<ProviderCopy, ProviderError> {
        let url = self.url(&[session_id])?;
        let resp = self
            .request(reqwest::Method::DELETE, url, session_id.as_bytes())
            .send()
            .await
            .map_err(ProviderError::transport)?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(ProviderError::transport)?;
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(ProviderCopy::Deleted);
        }
        match refusal(status, &body) {
            Ok(()) => Ok(ProviderCopy::Deleted),
            Err(ProviderError::Rejected { .. }) => Ok(ProviderCopy::Refused),
            Err(e) => Err(e),
        }
    }
}
