//! `POST /v1/verifications`: claim the customer's slot, open the provider record, store it.
//!
//! DynamoDB round trips on success: 2 (the claim, then one transaction that stores the
//! verification, its provider reference and confirms the claim), plus the provider call(s).

use chrono::Duration;
use serde_json::Value;

use super::{App, RequestCtx};
use crate::domain::request::CreateRequest;
use crate::domain::{NewVerification, Verification, VerificationId};
use crate::error::{ApiError, ErrorCode};
use crate::provider::{ProviderError, StartRequest};
use crate::store::ReserveError;

/// How long an unconfirmed claim lasts when the invocation has no deadline (local runs).
const DEFAULT_CLAIM: i64 = 30;

impl App {
    pub async fn create_verification(
        &self,
        body: &Value,
        ctx: &RequestCtx,
    ) -> Result<Verification, ApiError> {
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
        // A crashed run's claim lapses at the Lambda deadline, so a retry is never blocked for long.
        let claim_until = ctx
            .deadline
            .unwrap_or(now + Duration::seconds(DEFAULT_CLAIM));
        self.store
            .reserve_customer(
                &request.customer_id,
                request.provider,
                &id,
                now,
                claim_until,
            )
            .await
            .map_err(|e| match e {
                ReserveError::AlreadyVerified {
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
                    err
                }
                ReserveError::AlreadyActive { verification_id } => ApiError::new(
                    ErrorCode::VerificationAlreadyActive,
                    "the customer already has a verification in progress with this provider",
                )
                .with_detail("verification_id", verification_id),
                ReserveError::Store(e) => store_error(e),
            })?;

        let mut started = match provider
            .start(StartRequest {
                verification_id: &id,
                customer_id: &request.customer_id,
                applicant: &request.applicant,
                return_url: request.return_url.as_ref(),
            })
            .await
        {
            Ok(started) => started,
            Err(e) => {
                if let Err(release) = self
                    .store
                    .release_customer(&request.customer_id, request.provider, &id)
                    .await
                {
                    tracing::error!(verification_id = %id, error = %release, "could not release the customer claim; it lapses at the deadline");
                }
                return Err(provider_error(e));
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
        if let Err(e) = self.store.insert_verification(&verification).await {
            if let Err(release) = self
                .store
                .release_customer(&request.customer_id, request.provider, &verification.id)
                .await
            {
                tracing::error!(verification_id = %verification.id, error = %release, "could not release the customer claim; it lapses at the deadline");
            }
            return Err(store_error(e));
        }
        verification.version = 1;
        tracing::info!(
            verification_id = %verification.id,
            provider = %verification.provider,
            status = %verification.status,
            request_id = %ctx.request_id,
            "verification created"
        );
        Ok(verification)
    }
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
