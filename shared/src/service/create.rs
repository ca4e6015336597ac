//! `POST /v1/verifications`: claim the customer's slot (and the idempotency key), open the
//! provider record, store it and the response to replay, atomically.
//!
//! DynamoDB round trips: 2 on success (the claim, then one transaction that stores the
//! verification, its provider reference, confirms the claim and completes the key), plus the
//! provider call(s); a replay is 1 (the claim's failed condition returns the stored response).

use chrono::Duration;
use serde_json::Value;

use super::{App, Reply, RequestCtx};
use crate::domain::idempotency::{self, Decision, IdempotencyKey, StoredResponse};
use crate::domain::request::CreateRequest;
use crate::domain::{NewVerification, Source, Status, Transition, Verification, VerificationId};
use crate::error::{ApiError, ErrorCode};
use crate::provider::{ProviderError, StartRequest};
use crate::service::verification_json;
use crate::store::{Claim, ClaimError, IdempotencyLock, SaveOutcome};

/// How long an unconfirmed claim or key lock lasts when the invocation has no deadline.
const DEFAULT_HOLD: i64 = 30;

/// The idempotency scope of creates.
pub(crate) const CREATE_SCOPE: &str = "POST /v1/verifications";

impl App {
    pub async fn create_verification(
        &self,
        body: &Value,
        key: Option<&IdempotencyKey>,
        ctx: &RequestCtx,
    ) -> Result<Reply, ApiError> {
        let now = self.clock.now();
        let enabled = self.providers.names();
        let request = CreateRequest::parse(
            body,
            self.settings.default_provider,
            &enabled,
            |name| {
                self.providers
                    .get(name)
                    .map_or(&[][..], |p| p.required_fields())
            },
            now.date_naive(),
        )
        .map_err(ApiError::validation)?;
        let provider = self.providers.get(request.provider).ok_or_else(|| {
            ApiError::new(ErrorCode::ValidationFailed, "provider is not configured")
        })?;

        let id = VerificationId::generate();
        // A crashed run's claim and lock lapse at its Lambda deadline, so a retry is not blocked long.
        let hold_until = ctx
            .deadline
            .unwrap_or(now + Duration::seconds(DEFAULT_HOLD));
        let lock = key.map(|k| self.lock_for(CREATE_SCOPE, k, body, id.as_str(), hold_until, now));
        let claim = Claim {
            customer: &request.customer_id,
            provider: request.provider,
            verification: &id,
            now,
            claim_until: hold_until,
            lock: lock.as_ref(),
        };
        if let Err(e) = self.store.claim(&claim).await {
            if let (ClaimError::AlreadyActive { verification_id }, Some(lock)) = (&e, &lock) {
                if provider.submits_data() {
                    if let Some(reply) = self
                        .resume(verification_id, &request.applicant, lock, ctx)
                        .await?
                    {
                        return Ok(reply);
                    }
                }
            }
            return self.refused_claim(e, lock.as_ref(), now);
        }

        let started = provider
            .start(StartRequest {
                verification_id: &id,
                customer_id: &request.customer_id,
                applicant: &request.applicant,
                return_url: request.return_url.as_ref(),
            })
            .await;
        let mut started = match started {
            Ok(started) => started,
            Err(e) => {
                let err = provider_error(e);
                // 5xx: release the key so a retry runs again; 4xx: the answer is final, keep it.
                let stored = kept_answer(&err, ctx);
                self.release_quietly(
                    &request.customer_id,
                    request.provider,
                    &id,
                    lock.as_ref().map(|l| (l, stored.as_ref())),
                )
                .await;
                return match stored {
                    Some(r) => Ok(Reply {
                        status: r.status,
                        body: r.body,
                        replayed: false,
                    }),
                    None => Err(err),
                };
            }
        };

        // Our clock orders the creation; provider events order everything after it.
        started.initial.occurred_at = now;
        let mut verification = Verification::start(
            NewVerification {
                id,
                customer_id: request.customer_id.clone(),
                provider: request.provider,
                provider_ref: Some(started.provider_ref),
                verification_url: started.verification_url,
                metadata: request.metadata,
                initial: started.initial,
            },
            now,
        );
        verification.version = 1;
        if let Some(lock) = &lock {
            verification.created_with_key = Some(lock.key.clone());
            verification.created_fingerprint = Some(lock.fingerprint.0.clone());
        }
        // Data-submission providers: our record is durable before the data leaves, and the key
        // completes with the submission's answer; otherwise it completes with this one.
        let response = StoredResponse {
            status: 201,
            body: verification_json(&verification).to_string(),
        };
        let completion = lock
            .as_ref()
            .filter(|_| !provider.submits_data())
            .map(|l| (l, &response));
        if let Err(e) = self
            .store
            .insert_verification(&verification, completion)
            .await
        {
            self.release_quietly(
                &request.customer_id,
                request.provider,
                &verification.id,
                lock.as_ref().map(|l| (l, None)),
            )
            .await;
            return Err(store_error(e));
        }
        if provider.submits_data() {
            return self
                .submit_and_answer(verification, &request.applicant, lock.as_ref(), ctx)
                .await;
        }
        tracing::info!(
            verification_id = %verification.id,
            provider = %verification.provider,
            status = %verification.status,
            request_id = %ctx.request_id,
            "verification created"
        );
        Ok(Reply {
            status: response.status,
            body: response.body,
            replayed: false,
        })
    }

    /// Give the claim (and the key) back after a failure; if that fails too, both lapse at the
    /// deadline, so it is logged, not returned.
    async fn release_quietly(
        &self,
        customer: &crate::domain::CustomerId,
        provider: crate::domain::ProviderName,
        id: &VerificationId,
        lock: Option<(&IdempotencyLock, Option<&StoredResponse>)>,
    ) {
        if let Err(e) = self.store.release(customer, provider, id, lock).await {
            tracing::error!(verification_id = %id, error = %e, "could not release the claim; it lapses at the deadline");
        }
    }

    /// A keyed retry of a create whose data submission failed: the same verification (created
    /// with this key and body, never submitted) is submitted again, under the same Bond attempt
    /// key, so a submission that did reach the provider is not run twice.
    async fn resume(
        &self,
        active: &str,
        applicant: &crate::domain::request::Applicant,
        lock: &IdempotencyLock,
        ctx: &RequestCtx,
    ) -> Result<Option<Reply>, ApiError> {
        let now = self.clock.now();
        let Ok(id) = VerificationId::parse(active) else {
            return Ok(None);
        };
        let Some(v) = self
            .store
            .get_verification(&id)
            .await
            .map_err(store_error)?
        else {
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
            return self.refused_claim(e, Some(&lock), now).map(Some);
        }
        tracing::info!(verification_id = %v.id, request_id = %ctx.request_id, "resuming the submission of a verification");
        self.submit_and_answer(v, applicant, Some(&lock), ctx)
            .await
            .map(Some)
    }

    /// Submit the applicant's data, record it, complete the key with the answer.
    async fn submit_and_answer(
        &self,
        mut v: Verification,
        applicant: &crate::domain::request::Applicant,
        lock: Option<&IdempotencyLock>,
        ctx: &RequestCtx,
    ) -> Result<Reply, ApiError> {
        let provider = self
            .providers
            .get(v.provider)
            .ok_or_else(ApiError::internal)?;
        let submitted = provider.submit(&v, applicant).await;
        let now = self.clock.now();
        let observation = match submitted {
            Ok(o) => o,
            Err(e) => {
                // The verification stays, not submitted: a retry with the same key resumes it
                // and a PATCH can correct it. A 5xx releases the key; a refusal is final.
                let err = provider_error(e);
                let stored = kept_answer(&err, ctx);
                if let Some(lock) = lock {
                    if let Err(e) = self.store.finish_key(lock, stored.as_ref()).await {
                        tracing::error!(error = %e, "could not finish an idempotency key; it lapses at the deadline");
                    }
                }
                tracing::warn!(verification_id = %v.id, code = err.code.as_str(), "data submission failed");
                return match stored {
                    Some(r) => Ok(Reply {
                        status: r.status,
                        body: r.body,
                        replayed: false,
                    }),
                    None => Err(err),
                };
            }
        };
        for attempt in 0..3u32 {
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
            match self
                .store
                .save_verification(&v, effect, None, lock.map(|l| (l, &response)))
                .await
                .map_err(store_error)?
            {
                SaveOutcome::Saved => {
                    tracing::info!(verification_id = %v.id, status = %v.status, request_id = %ctx.request_id, "verification created and submitted");
                    return Ok(Reply {
                        status: response.status,
                        body: response.body,
                        replayed: false,
                    });
                }
                _ => {
                    // A webhook landed between the insert and now: record the submission on top.
                    crate::store::backoff(attempt).await;
                    v = self
                        .store
                        .get_verification(&v.id)
                        .await
                        .map_err(store_error)?
                        .ok_or_else(ApiError::internal)?;
                }
            }
        }
        Err(ApiError::new(
            ErrorCode::ConcurrentUpdate,
            "the verification is being updated concurrently; retry",
        )
        .with_retry_after(1))
    }

    /// The lock a keyed request takes: its fingerprint, owner and deadline.
    pub(crate) fn lock_for(
        &self,
        scope: &str,
        key: &IdempotencyKey,
        body: &Value,
        owner: &str,
        hold_until: chrono::DateTime<chrono::Utc>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> IdempotencyLock {
        IdempotencyLock {
            scope: scope.to_owned(),
            key: key.as_str().to_owned(),
            fingerprint: idempotency::fingerprint(
                self.settings.idempotency_secret.as_bytes(),
                scope,
                body,
            ),
            owner: owner.to_owned(),
            locked_until: hold_until,
            expires_at: idempotency::expires_at(now),
        }
    }

    /// What a refused claim answers: a replay, a key conflict, or a customer conflict.
    pub(crate) fn refused_claim(
        &self,
        error: ClaimError,
        lock: Option<&IdempotencyLock>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Reply, ApiError> {
        match error {
            ClaimError::KeyTaken(record) => {
                let fingerprint = lock
                    .map(|l| &l.fingerprint)
                    .ok_or_else(ApiError::internal)?;
                match idempotency::decide(Some(&record), fingerprint, now) {
                    Decision::Replay(r) => Ok(Reply {
                        status: r.status,
                        body: r.body,
                        replayed: true,
                    }),
                    Decision::Reused => Err(ApiError::new(
                        ErrorCode::IdempotencyKeyReused,
                        "this idempotency key was used with a different request",
                    )),
                    Decision::InUse { retry_after } => Err(in_use(retry_after)),
                    // The record lapsed between the write and now: the retry will take it.
                    Decision::Proceed => Err(in_use(1)),
                }
            }
            ClaimError::Contended => Err(in_use(1)),
            ClaimError::AlreadyVerified {
                verification_id,
                verified_at,
            } => {
                let mut err = ApiError::new(
                    ErrorCode::CustomerAlreadyVerified,
                    "the customer has passed KYC and cannot be verified again",
                );
                if let Some(v) = verification_id {
                    err = err.with_detail("verification_id", v);
                }
                if let Some(at) = verified_at {
                    err = err.with_time("verified_at", at);
                }
                Err(err)
            }
            ClaimError::AlreadyActive { verification_id } => Err(ApiError::new(
                ErrorCode::VerificationAlreadyActive,
                "the customer already has a verification in progress with this provider",
            )
            .with_detail("verification_id", verification_id)),
            ClaimError::Store(e) => Err(store_error(e)),
        }
    }
}

/// A provider's refusal is final and kept for replays; a 5xx is not (the key is released so a
/// retry runs again).
fn kept_answer(err: &ApiError, ctx: &RequestCtx) -> Option<StoredResponse> {
    (err.status() < 500).then(|| StoredResponse {
        status: err.status(),
        body: err.to_json(&ctx.request_id).to_string(),
    })
}

fn in_use(retry_after: u64) -> ApiError {
    ApiError::new(
        ErrorCode::IdempotencyKeyInUse,
        "a request with this idempotency key is still being processed",
    )
    .with_retry_after(retry_after)
}

pub(crate) fn store_error(e: crate::store::StoreError) -> ApiError {
    tracing::error!(error = %e, "store failure");
    ApiError::internal()
}

pub(crate) fn provider_error(e: ProviderError) -> ApiError {
    match e {
        ProviderError::Timeout => ApiError::new(
            ErrorCode::ProviderTimeout,
            "the provider did not answer in time; retry later",
        ),
        ProviderError::Unavailable(why) => {
            tracing::warn!(reason = %why, "provider unavailable");
            ApiError::new(
                ErrorCode::ProviderUnavailable,
                "the provider is unavailable; retry later",
            )
        }
        ProviderError::Rejected { message, fields } => {
            let mut err = ApiError::new(ErrorCode::ProviderRejected, message);
            err.fields = fields;
            err
        }
    }
}
