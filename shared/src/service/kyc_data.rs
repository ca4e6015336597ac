//! `GET /v1/verifications/{id}?include=kyc_data`: the verification (read, or refreshed with
//! `refresh=true`) and the provider's identification data, read live within the request's
//! provider deadline and minimised. Nothing of the data is written anywhere or logged: the
//! verification is read (1 DynamoDB round trip, or a refresh's), the data only answered.

use std::sync::Arc;

use serde_json::Value;

use super::{verification_json, RefreshVerification, RequestCtx};
use crate::domain::kyc_data::{self, KycData};
use crate::domain::{Source, Verification, VerificationId};
use crate::error::{ApiError, ErrorCode};
use crate::provider::Providers;
use crate::store::VerificationReader;

pub struct ReadKycData {
    store: Arc<dyn VerificationReader>,
    providers: Providers,
    refresh: RefreshVerification,
    budget: std::time::Duration,
}

/// Why there is no data to read yet: only a decided verification has identification data the
/// provider stands by.
pub fn unavailable_before_decision(v: &Verification) -> Option<ApiError> {
    (!kyc_data::readable(v)).then(|| {
        ApiError::new(
            ErrorCode::KycDataUnavailable,
            format!(
                "the verification has no decision yet (status {}); its KYC data can be read once the provider decided",
                v.status
            ),
        )
    })
}

/// The provider answered that it holds nothing for the verification.
fn none_at_the_provider() -> ApiError {
    ApiError::new(
        ErrorCode::KycDataUnavailable,
        "the provider holds no identification data for this verification",
    )
}

/// The verification's view with its `kyc_data`.
pub fn verification_with_kyc_data_json(v: &Verification, data: &KycData) -> Value {
    let mut view = verification_json(v);
    view["kyc_data"] = data.to_json();
    view
}

impl ReadKycData {
    pub fn new(
        store: Arc<dyn VerificationReader>,
        providers: Providers,
        refresh: RefreshVerification,
        budget: std::time::Duration,
    ) -> Self {
        Self {
            store,
            providers,
            refresh,
            budget,
        }
    }

    /// The verification (refreshed from the provider first when `refresh`) and its KYC data.
    pub async fn run(
        &self,
        id: &VerificationId,
        refresh: bool,
        ctx: &RequestCtx,
    ) -> Result<(Verification, KycData), ApiError> {
        let verification = if refresh {
            self.refresh.run(id, Source::Reconcile).await?
        } else {
            self.store
                .get_verification(id)
                .await?
                .ok_or_else(|| ApiError::not_found("verification"))?
        };
        if let Some(refusal) = unavailable_before_decision(&verification) {
            return Err(refusal);
        }
        let provider = self.providers.get(&verification.provider).ok_or_else(|| {
            ApiError::new(
                ErrorCode::InternalError,
                "the verification's provider is not configured",
            )
        })?;
        let data = ctx
            .provider_call(self.budget, provider.kyc_data(&verification))
            .await?
            .ok_or_else(none_at_the_provider)?;
        // Ids only: the data itself is never logged.
        tracing::info!(verification_id = %verification.id, request_id = %ctx.request_id, "kyc data read from the provider");
        Ok((verification, data))
    }
}
