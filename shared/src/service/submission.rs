//! The second step of a create with a data-submission provider: the applicant's data goes out
//! only once our record is durable, and a keyed retry of a submission that failed resumes the
//! same verification under the same provider attempt, so it never runs twice.

use super::create::CreateVerification;
use super::keys::{answer, concurrent_update, kept_answer, refused_claim};
use super::{verification_json, Reply, RequestCtx};
use crate::domain::idempotency::StoredResponse;
use crate::domain::request::Applicant;
use crate::domain::{Observation, Source, Status, Transition, Verification, VerificationId};
use crate::error::ApiError;
use crate::store::{backoff, IdempotencyLock, SaveOutcome};

/// Attempts at recording a submission while webhooks keep changing the verification.
const SAVE_ATTEMPTS: u32 = 3;

impl CreateVerification {
    /// A keyed retry of a create whose data submission failed: the same verification (created
    /// with this key and body, never submitted) is submitted again.
    pub(super) async fn resume(
        &self,
        active: &str,
        applicant: &Applicant,
        lock: &IdempotencyLock,
        ctx: &RequestCtx,
    ) -> Result<Option<Reply>, ApiError> {
        let now = self.clock.now();
        let Ok(id) = VerificationId::parse(active) else {
            return Ok(None);
        };
        let Some(v) = self.store.get_verification(&id).await? else {
            return Ok(None);
        };
        let ours = v.data_submitted_at.is_none()
            && v.created_with_key.as_deref() == Some(lock.key.as_str())
            && v.created_fingerprint.as_deref() == Some(lock.fingerprint.0.as_str());
        if !ours {
            return Ok(None);
        }
        let mut lock = lock.clone();
        lock.owner = v.id.to_string();
        if let Err(e) = self.store.lock_key(&lock, now).await {
            return refused_claim(e, Some(&lock), now).map(Some);
        }
        tracing::info!(verification_id = %v.id, request_id = %ctx.request_id, "resuming the submission of a verification");
        self.submit_and_answer(v, applicant, Some(&lock), ctx)
            .await
            .map(Some)
    }

    /// Submit the applicant's data, record it, complete the key with the answer.
    pub(super) async fn submit_and_answer(
        &self,
        v: Verification,
        applicant: &Applicant,
        lock: Option<&IdempotencyLock>,
        ctx: &RequestCtx,
    ) -> Result<Reply, ApiError> {
        let provider = self
            .providers
            .get(&v.provider)
            .ok_or_else(ApiError::internal)?;
        match ctx
            .provider_call(self.budget, provider.submit(&v, applicant))
            .await
        {
            Ok(observation) => self.record_submission(v, observation, lock, ctx).await,
            Err(e) => {
                // The verification stays, not submitted: a retry with the same key resumes it
                // and a PATCH can correct it. A 5xx releases the key; a refusal is final.
                let err = ApiError::from(e);
                let stored = kept_answer(&err, &ctx.request_id);
                if let Some(lock) = lock {
                    if let Err(e) = self.store.finish_key(lock, stored.as_ref()).await {
                        tracing::error!(error = %crate::telemetry::chain(&e), "could not finish an idempotency key; it lapses at the deadline");
                    }
                }
                tracing::warn!(verification_id = %v.id, code = err.code.as_str(), "data submission failed");
                answer(stored, err)
            }
        }
    }

    /// Record that the data went out (and what the provider answered) on top of whatever
    /// webhooks already said, completing the key with the response.
    async fn record_submission(
        &self,
        mut v: Verification,
        observation: Option<Observation>,
        lock: Option<&IdempotencyLock>,
        ctx: &RequestCtx,
    ) -> Result<Reply, ApiError> {
        let now = self.clock.now();
        for attempt in 0..SAVE_ATTEMPTS {
            v.data_submitted_at = Some(now);
            let transition = match &observation {
                // "Submitted" never overrides what a webhook already said.
                Some(o) if o.status != Status::Pending || v.last_event_at.is_none() => {
                    let mut o = o.clone();
                    if o.status == Status::Pending {
                        o.occurred_at = now;
                    }
                    v.apply(&o, Source::Api, None, now)
                }
                _ => Transition::Refreshed,
            };
            let effect = v.customer_effect(transition);
            let mut shown = v.clone();
            shown.version += 1;
            let response = StoredResponse {
                status: 201,
                body: verification_json(&shown).to_string(),
            };
            let saved = self
                .store
                .save_verification(&v, effect, None, lock.map(|l| (l, &response)))
                .await?;
            if saved == SaveOutcome::Saved {
                tracing::info!(verification_id = %v.id, status = %v.status, request_id = %ctx.request_id, "verification created and submitted");
                return Ok(Reply::fresh(response.status, response.body));
            }
            // A webhook landed between the insert and now: record the submission on top.
            backoff(attempt).await;
            v = self
                .store
                .get_verification(&v.id)
                .await?
                .ok_or_else(ApiError::internal)?;
        }
        Err(concurrent_update(
            "the verification is being updated concurrently; retry",
        ))
    }
}
