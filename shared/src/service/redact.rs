//! `POST /v1/verifications/{id}/redact`: remove every personal value held for an ended
//! verification and keep its decision record (DESIGN §6). The provider is asked to delete its
//! copy first (where its API allows); a provider failure (5xx, timeout) redacts nothing, so the
//! call can simply be repeated. A redacted verification answers the same on every later call.

use std::sync::Arc;

use super::create::CREATE_SCOPE;
use super::keys::concurrent_update;
use super::{verification_json, Reply, RequestCtx};
use crate::clock::Clock;
use crate::domain::{RedactionRefusal, Verification, VerificationId};
use crate::error::{ApiError, ErrorCode};
use crate::provider::Providers;
use crate::store::{backoff, Redactions, SaveOutcome, StoredReplay};

/// Attempts at storing the redaction while webhooks keep changing the verification.
const SAVE_ATTEMPTS: u32 = 3;

/// Built by the composition root ([`crate::wiring`]).
pub struct RedactVerification {
    pub(crate) store: Arc<dyn Redactions>,
    pub(crate) providers: Providers,
    pub(crate) clock: Arc<dyn Clock>,
    /// How long all provider calls of one request may take together.
    pub(crate) budget: std::time::Duration,
}

/// The stored responses that may still replay the verification's personal values: the keyed
/// create's and the keyed PATCHes'.
fn replays(v: &Verification) -> Vec<StoredReplay> {
    let patch_scope = format!("PATCH /v1/verifications/{}", v.id);
    v.created_with_key
        .iter()
        .map(|key| StoredReplay {
            scope: CREATE_SCOPE.to_owned(),
            key: key.clone(),
        })
        .chain(v.patched_with_keys.iter().map(|key| StoredReplay {
            scope: patch_scope.clone(),
            key: key.clone(),
        }))
        .collect()
}

fn refusal(v: &Verification, refusal: RedactionRefusal) -> ApiError {
    match refusal {
        RedactionRefusal::InProgress => ApiError::new(
            ErrorCode::VerificationInProgress,
            "the verification has not ended; it can be redacted once it has",
        )
        .with_detail("verification_id", v.id.as_str()),
    }
}

impl RedactVerification {
    pub async fn run(&self, raw_id: &str, ctx: &RequestCtx) -> Result<Reply, ApiError> {
        let id = VerificationId::parse(raw_id).map_err(|_| ApiError::not_found("verification"))?;
        for attempt in 0..SAVE_ATTEMPTS {
            let target = self
                .store
                .load_for_redaction(&id)
                .await?
                .ok_or_else(|| ApiError::not_found("verification"))?;
            let mut v = target.verification;
            if v.redaction.is_some() {
                return Ok(Reply::fresh(200, verification_json(&v).to_string()));
            }
            v.redactable().map_err(|r| refusal(&v, r))?;
            let provider = self.providers.get(&v.provider).ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InternalError,
                    "the verification's provider is not configured",
                )
            })?;
            let copy = ctx.provider_call(self.budget, provider.erase(&v)).await?;
            let replays = replays(&v);
            v.redact(self.clock.now(), copy);
            let mut shown = v.clone();
            shown.version += 1;
            let body = verification_json(&shown).to_string();
            match self
                .store
                .save_redaction(&v, &target.events, &replays, &body)
                .await?
            {
                SaveOutcome::Saved => {
                    tracing::info!(verification_id = %v.id, request_id = %ctx.request_id, provider_copy = ?copy, "verification redacted");
                    return Ok(Reply::fresh(200, body));
                }
                SaveOutcome::VersionConflict | SaveOutcome::DuplicateEvent => {
                    backoff(attempt).await;
                }
            }
        }
        Err(concurrent_update(
            "the verification is being updated concurrently; retry",
        ))
    }
}
