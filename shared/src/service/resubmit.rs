//! `PATCH /v1/verifications/{id}`: correct the applicant's data and resubmit it while the
//! provider can still use it (`pending`, `action_required`); refused once approved.

use chrono::Duration;
use serde_json::Value;

use super::create::{provider_error, store_error};
use super::{verification_json, App, Reply, RequestCtx};
use crate::domain::idempotency::{IdempotencyKey, StoredResponse};
use crate::domain::request::PatchRequest;
use crate::domain::{EditRefusal, VerificationId};
use crate::error::{ApiError, ErrorCode};
use crate::store::{IdempotencyLock, SaveOutcome};

const DEFAULT_HOLD: i64 = 30;

impl App {
    pub async fn resubmit_verification(
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
                let hold_until = ctx
                    .deadline
                    .unwrap_or(now + Duration::seconds(DEFAULT_HOLD));
                let scope = format!("PATCH /v1/verifications/{id}");
                let lock = self.lock_for(
                    &scope,
                    k,
                    body,
                    &format!("run_{}", ulid::Ulid::new()),
                    hold_until,
                    now,
                );
                if let Err(e) = self.store.lock_key(&lock, now).await {
                    return self.refused_claim(e, Some(&lock), now);
                }
                Some(lock)
            }
            None => None,
        };
        let result = self.resubmit_locked(&id, body, lock.as_ref(), ctx).await;
        if let (Some(lock), Err(_)) = (&lock, &result) {
            // Refusals and failures are not kept: the same key may try again.
            if let Err(e) = self.store.finish_key(lock, None).await {
                tracing::error!(error = %e, "could not release an idempotency key; it lapses at the deadline");
            }
        }
        result
    }

    async fn resubmit_locked(
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
            .await
            .map_err(store_error)?
            .ok_or_else(|| ApiError::not_found("verification"))?;
        let provider = self.providers.get(verification.provider).ok_or_else(|| {
            ApiError::new(
                ErrorCode::InternalError,
                "the verification's provider is not configured",
            )
        })?;
        let request = PatchRequest::parse(
            body,
            verification.provider,
            provider.required_fields(),
            now.date_naive(),
        )
        .map_err(ApiError::validation)?;
        verification.editable().map_err(|refusal| match refusal {
            EditRefusal::Locked { verified_at } => ApiError::new(
                ErrorCode::VerificationLocked,
                "the customer passed KYC with this verification; their data can no longer change",
            )
            .with_detail("verification_id", verification.id.as_str())
            .with_time("verified_at", verified_at),
            EditRefusal::InProgress => ApiError::new(
                ErrorCode::VerificationInProgress,
                "the provider is checking the submitted data; it can be corrected only if the provider asks for it",
            ),
            EditRefusal::Ended => ApiError::new(
                ErrorCode::VerificationEnded,
                "this verification has ended; start a new verification instead",
            ),
        })?;

        // A correction is a new attempt: data-submission providers get a new submission key.
        verification.attempt += 1;
        let started = provider
            .resubmit(
                &verification,
                &request.applicant,
                request.return_url.as_ref(),
            )
            .await
            .map_err(provider_error)?;
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
        let response = StoredResponse {
            status: 200,
            body: verification_json(&shown).to_string(),
        };
        match self
            .store
            .save_verification(
                &verification,
                effect,
                new_ref.as_deref(),
                lock.map(|l| (l, &response)),
            )
            .await
            .map_err(store_error)?
        {
            SaveOutcome::Saved => {
                tracing::info!(verification_id = %verification.id, status = %verification.status, request_id = %ctx.request_id, "verification resubmitted");
                Ok(Reply {
                    status: response.status,
                    body: response.body,
                    replayed: false,
                })
            }
            _ => Err(ApiError::new(
                ErrorCode::ConcurrentUpdate,
                "the verification changed while it was being corrected; retry",
            )
            .with_retry_after(1)),
        }
    }
}
