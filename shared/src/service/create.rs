//! `POST /v1/verifications`: claim the customer's slot (and the idempotency key), open the
//! provider record, store it and the response to replay, atomically.
//!
//! DynamoDB round trips: 2 on success (the claim, then one transaction that stores the
//! verification, its provider reference, confirms the claim and completes the key), plus the
//! provider call(s); 3 with a data-submission provider, whose answer is stored after the data
//! went out (`submission.rs`); a replay is 1 (the claim's failed condition returns the stored
//! response).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::keys::{answer, kept_answer, refused_claim, IdempotencySecret};
use super::{verification_json, Reply, RequestCtx};
use crate::clock::Clock;
use crate::domain::idempotency::{self, IdempotencyKey, StoredResponse};
use crate::domain::request::CreateRequest;
use crate::domain::{CustomerId, NewVerification, ProviderName, Verification, VerificationId};
use crate::error::{ApiError, ErrorCode};
use crate::provider::{KycProvider, Providers, StartRequest, Started};
use crate::store::{
    Claim, ClaimError, CreateClaims, IdempotencyKeys, IdempotencyLock, VerificationReader,
    VerificationWriter,
};

/// What a create may do to the table: create-verification's IAM actions, no more.
pub trait CreateStore:
    CreateClaims + IdempotencyKeys + VerificationReader + VerificationWriter
{
}

impl<T> CreateStore for T where
    T: CreateClaims + IdempotencyKeys + VerificationReader + VerificationWriter + ?Sized
{
}

/// The idempotency scope of creates.
pub(super) const CREATE_SCOPE: &str = "POST /v1/verifications";

/// Built by the composition root ([`crate::wiring`]).
pub struct CreateVerification {
    pub(crate) store: Arc<dyn CreateStore>,
    pub(crate) providers: Providers,
    pub(crate) clock: Arc<dyn Clock>,
    /// The provider a request that names none is sent to.
    pub(crate) default_provider: ProviderName,
    pub(crate) secret: IdempotencySecret,
    /// How long all provider calls of one request may take together.
    pub(crate) budget: std::time::Duration,
}

impl CreateVerification {
    pub async fn run(
        &self,
        body: &Value,
        key: Option<&IdempotencyKey>,
        ctx: &RequestCtx,
    ) -> Result<Reply, ApiError> {
        let now = self.clock.now();
        let request = self.parse(body, now)?;
        let provider = self
            .providers
            .get(&request.provider)
            .ok_or_else(|| {
                ApiError::new(ErrorCode::ValidationFailed, "provider is not configured")
            })?
            .clone();
        let id = VerificationId::generate();
        let lock = key.map(|k| {
            let hold_until = ctx.hold_until(now);
            self.secret
                .lock(CREATE_SCOPE, k, body, id.as_str(), hold_until, now)
        });
        let claim = Claim {
            customer: &request.customer_id,
            provider: &request.provider,
            verification: &id,
            now,
            claim_until: ctx.hold_until(now),
            lock: lock.as_ref(),
        };
        if let Err(e) = self.store.claim(&claim).await {
            return self
                .refused(e, provider.as_ref(), &request, lock.as_ref(), ctx, now)
                .await;
        }
        let token = lock
            .as_ref()
            .map(|l| idempotency::request_token(&l.key, &l.fingerprint));
        let started = ctx
            .provider_call(
                self.budget,
                provider.start(StartRequest {
                    verification_id: &id,
                    customer_id: &request.customer_id,
                    applicant: &request.applicant,
                    return_url: request.return_url.as_ref(),
                    request_key: token.as_deref(),
                }),
            )
            .await;
        match started {
            Ok(started) => {
                let v = new_verification(id, &request, started, lock.as_ref(), now);
                self.store_new(v, provider.as_ref(), &request, lock.as_ref(), ctx)
                    .await
            }
            Err(e) => {
                self.start_failed(e.into(), &request, &id, lock.as_ref(), ctx)
                    .await
            }
        }
    }

    fn parse(&self, body: &Value, now: DateTime<Utc>) -> Result<CreateRequest, ApiError> {
        let enabled = self.providers.names();
        CreateRequest::parse(
            body,
            &self.default_provider,
            &enabled,
            |name| {
                self.providers
                    .get(name)
                    .map_or(&[][..], |p| p.required_fields())
            },
            now.date_naive(),
        )
        .map_err(ApiError::validation)
    }

    /// A refused claim: a keyed retry of a data submission that never went out resumes it;
    /// everything else is a replay or a conflict.
    async fn refused(
        &self,
        error: ClaimError,
        provider: &dyn KycProvider,
        request: &CreateRequest,
        lock: Option<&IdempotencyLock>,
        ctx: &RequestCtx,
        now: DateTime<Utc>,
    ) -> Result<Reply, ApiError> {
        if let (ClaimError::AlreadyActive { verification_id }, Some(lock)) = (&error, lock) {
            if provider.submits_data() {
                if let Some(reply) = self
                    .resume(verification_id, &request.applicant, lock, ctx)
                    .await?
                {
                    return Ok(reply);
                }
            }
        }
        refused_claim(error, lock, now)
    }

    /// The provider could not open its record: give the claim back; a 5xx releases the key so a
    /// retry runs again, a refusal (4xx) is final and kept for replays.
    async fn start_failed(
        &self,
        err: ApiError,
        request: &CreateRequest,
        id: &VerificationId,
        lock: Option<&IdempotencyLock>,
        ctx: &RequestCtx,
    ) -> Result<Reply, ApiError> {
        let stored = kept_answer(&err, &ctx.request_id);
        self.release_quietly(
            &request.customer_id,
            &request.provider,
            id,
            lock.map(|l| (l, stored.as_ref())),
        )
        .await;
        answer(stored, err)
    }

    /// Store the new verification; data-submission providers then get the applicant's data.
    async fn store_new(
        &self,
        verification: Verification,
        provider: &dyn KycProvider,
        request: &CreateRequest,
        lock: Option<&IdempotencyLock>,
        ctx: &RequestCtx,
    ) -> Result<Reply, ApiError> {
        // Data-submission providers: our record is durable before the data leaves, and the key
        // completes with the submission's answer; otherwise it completes with this one.
        let response = StoredResponse {
            status: 201,
            body: verification_json(&verification).to_string(),
        };
        let completion = lock
            .filter(|_| !provider.submits_data())
            .map(|l| (l, &response));
        if let Err(e) = self
            .store
            .insert_verification(&verification, completion)
            .await
        {
            self.release_quietly(
                &request.customer_id,
                &request.provider,
                &verification.id,
                lock.map(|l| (l, None)),
            )
            .await;
            return Err(e.into());
        }
        if provider.submits_data() {
            return self
                .submit_and_answer(verification, &request.applicant, lock, ctx)
                .await;
        }
        tracing::info!(
            verification_id = %verification.id,
            provider = %verification.provider,
            status = %verification.status,
            request_id = %ctx.request_id,
            "verification created"
        );
        Ok(Reply::fresh(response.status, response.body))
    }

    /// Give the claim (and the key) back after a failure; if that fails too, both lapse at the
    /// deadline, so it is logged, not returned.
    async fn release_quietly(
        &self,
        customer: &CustomerId,
        provider: &ProviderName,
        id: &VerificationId,
        lock: Option<(&IdempotencyLock, Option<&StoredResponse>)>,
    ) {
        if let Err(e) = self.store.release(customer, provider, id, lock).await {
            tracing::error!(verification_id = %id, error = %crate::telemetry::chain(&e), "could not release the claim; it lapses at the deadline");
        }
    }
}

/// The verification a started provider record becomes; our clock orders its creation, provider
/// events order everything after it.
fn new_verification(
    id: VerificationId,
    request: &CreateRequest,
    mut started: Started,
    lock: Option<&IdempotencyLock>,
    now: DateTime<Utc>,
) -> Verification {
    started.initial.occurred_at = now;
    let mut verification = Verification::start(
        NewVerification {
            id,
            customer_id: request.customer_id.clone(),
            provider: request.provider.clone(),
            provider_ref: Some(started.provider_ref),
            verification_url: started.verification_url,
            metadata: request.metadata.clone(),
            initial: started.initial,
        },
        now,
    );
    verification.version = 1;
    if let Some(lock) = lock {
        verification.created_with_key = Some(lock.key.clone());
        verification.created_fingerprint = Some(lock.fingerprint.0.clone());
    }
    verification
}
