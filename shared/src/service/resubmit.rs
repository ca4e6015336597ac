//! `PATCH /v1/verifications/{id}`: correct the applicant's data and resubmit it while the
//! provider can still use it (`pending`, `action_required`); refused once approved.

use std::sync::Arc;

use serde_json::Value;

use super::keys::{concurrent_update, refused_claim, IdempotencySecret};
use super::{verification_json, Reply, RequestCtx};
use crate::clock::Clock;
use crate::domain::idempotency::{IdempotencyKey, StoredResponse};
use crate::domain::request::{PatchProblems, PatchRequest};
use crate::domain::{EditRefusal, Verification, VerificationId};
use crate::error::{ApiError, ErrorCode};
use crate::provider::{KycProvider, Providers};
use crate::store::{
    IdempotencyKeys, IdempotencyLock, SaveOutcome, VerificationReader, VerificationWriter,
};

/// What a resubmission may do to the table.
pub trait ResubmitStore: IdempotencyKeys + VerificationReader + VerificationWriter {}

impl<T> ResubmitStore for T where
    T: IdempotencyKeys + VerificationReader + VerificationWriter + ?Sized
{
}

/// Built by the composition root ([`crate::wiring`]).
pub struct ResubmitVerification {
    pub(crate) store: Arc<dyn ResubmitStore>,
    pub(crate) providers: Providers,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) secret: IdempotencySecret,
    /// How long all provider calls of one request may take together.
    pub(crate) budget: std::time::Duration,
}

impl ResubmitVerification {
    pub async fn run(
        &self,
        raw_id: &str,
        body: &Value,
        key: Option<&IdempotencyKey>,
        ctx: &RequestCtx,
    ) -> Result<Reply, ApiError> {
        let now = self.clock.now();
        let id = VerificationId::parse(raw_id).map_err(|_| ApiError::not_found("verification"))?;
        // The key comes first: a replay answers what the first PATCH answered, whatever the
        // verification's status is now.
        let lock = match key {
            Some(k) => {
                let scope = format!("PATCH /v1/verifications/{id}");
                let owner = format!("run_{}", ulid::Ulid::new());
                let lock = self
                    .secret
                    .lock(&scope, k, body, &owner, ctx.hold_until(now), now);
                if let Err(e) = self.store.lock_key(&lock, now).await {
                    return refused_claim(e, Some(&lock), now);
                }
                Some(lock)
            }
            None => None,
        };
        let result = self.resubmit(&id, body, lock.as_ref(), ctx).await;
        if let (Some(lock), Err(_)) = (&lock, &result) {
            // Refusals and failures are not kept: the same key may try again.
            if let Err(e) = self.store.finish_key(lock, None).await {
                tracing::error!(error = %crate::telemetry::chain(&e), "could not release an idempotency key; it lapses at the deadline");
            }
        }
        result
    }

    async fn resubmit(
        &self,
        id: &VerificationId,
        body: &Value,
        lock: Option<&IdempotencyLock>,
        ctx: &RequestCtx,
    ) -> Result<Reply, ApiError> {
        let now = self.clock.now();
        let mut verification = self
            .store
            .get_verification(id)
            .await?
            .ok_or_else(|| ApiError::not_found("verification"))?;
        let provider = self
            .providers
            .get(&verification.provider)
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InternalError,
                    "the verification's provider is not configured",
                )
            })?
            .clone();
        let request = PatchRequest::parse(
            body,
            &verification.provider,
            provider.required_fields(),
            now.date_naive(),
        )
        .map_err(|problems| match problems {
            PatchProblems::Invalid(fields) => ApiError::validation(fields),
            PatchProblems::Incomplete(fields) => ApiError::incomplete(fields),
        })?;
        verification
            .editable()
            .map_err(|r| refusal(&verification, r))?;
        let response = self
            .correct(&mut verification, provider.as_ref(), &request, ctx)
            .await?;
        if let Some(lock) = lock {
            // A redaction finds the response stored under this key through it.
            verification.remember_patch_key(&lock.key);
        }
        let saved = self
            .store
            .save_verification(
                &verification,
                response.effect,
                response.new_ref.as_deref(),
                lock.map(|l| (l, &response.stored)),
            )
            .await?;
        if saved != SaveOutcome::Saved {
            return Err(concurrent_update(
                "the verification changed while it was being corrected; retry",
            ));
        }
        tracing::info!(verification_id = %verification.id, status = %verification.status, request_id = %ctx.request_id, "verification resubmitted");
        Ok(Reply::fresh(response.stored.status, response.stored.body))
    }

    /// Send the correction to the provider (a new attempt) and apply what it answers.
    async fn correct(
        &self,
        verification: &mut Verification,
        provider: &dyn KycProvider,
        request: &PatchRequest,
        ctx: &RequestCtx,
    ) -> Result<Corrected, ApiError> {
        // A correction is a new attempt: data-submission providers get a new submission key.
        verification.attempt += 1;
        let started = ctx
            .provider_call(
                self.budget,
                provider.resubmit(
                    verification,
                    &request.applicant,
                    request.return_url.as_ref(),
                ),
            )
            .await?;
        // Times after the provider answered, so what it said is not older than the record.
        let now = self.clock.now();
        let new_ref = (Some(&started.provider_ref) != verification.provider_ref.as_ref())
            .then(|| started.provider_ref.clone());
        let mut initial = started.initial;
        if !initial.status.is_terminal() {
            initial.occurred_at = now;
        }
        if provider.submits_data() {
            verification.data_submitted_at = Some(now);
        }
        let transition =
            verification.resubmitted(new_ref.clone(), started.verification_url, &initial, now);
        let effect = verification.customer_effect(transition);
        let mut shown = verification.clone();
        shown.version += 1;
        Ok(Corrected {
            new_ref,
            effect,
            stored: StoredResponse {
                status: 200,
                body: verification_json(&shown).to_string(),
            },
        })
    }
}

/// A correction applied in memory, ready to be stored.
struct Corrected {
    new_ref: Option<String>,
    effect: crate::domain::CustomerEffect,
    stored: StoredResponse,
}

fn refusal(verification: &Verification, refusal: EditRefusal) -> ApiError {
    match refusal {
        EditRefusal::Locked { verified_at } => ApiError::new(
            ErrorCode::VerificationLocked,
            "the customer passed KYC with this verification; their data can no longer change",
        )
        .with_detail("verification_id", verification.id.as_str())
        .with_time("verified_at", verified_at),
        EditRefusal::InProgress => ApiError::new(
            ErrorCode::VerificationInProgress,
            "the provider is checking the submitted data; it can be corrected only if the provider asks for it",
        )
        .with_detail("verification_id", verification.id.as_str())
        .with_detail("attempt", verification.attempt),
        EditRefusal::Ended => ApiError::new(
            ErrorCode::VerificationEnded,
            "this verification has ended; start a new verification instead",
        ),
    }
}
