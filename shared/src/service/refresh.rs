//! Reconciliation of one verification: apply what the provider says now, for
//! `GET …?refresh=true` and the scheduled reconciler, so a dropped webhook is repaired. Same
//! transition rules as webhooks. Round trips: the read, the provider call(s), and one write
//! unless the answer is older than what is stored or cannot move a terminal status (the same
//! status is written too: its details and event time are refreshed).

use std::sync::Arc;

use super::keys::concurrent_update;
use crate::clock::Clock;
use crate::domain::{Source, Transition, Verification, VerificationId};
use crate::error::{ApiError, ErrorCode};
use crate::provider::{ProviderError, Providers};
use crate::store::{backoff, SaveOutcome, VerificationReader, VerificationWriter};

/// What a refresh may do to the table.
pub trait RefreshStore: VerificationReader + VerificationWriter {}

impl<T> RefreshStore for T where T: VerificationReader + VerificationWriter + ?Sized {}

/// Attempts at storing what the provider said while concurrent writers keep winning.
const SAVE_ATTEMPTS: u32 = 3;

pub struct RefreshVerification {
    store: Arc<dyn RefreshStore>,
    providers: Providers,
    clock: Arc<dyn Clock>,
    budget: std::time::Duration,
}

impl RefreshVerification {
    pub fn new(store: Arc<dyn RefreshStore>, providers: Providers, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            providers,
            clock,
            budget: super::DEFAULT_PROVIDER_BUDGET,
        }
    }

    /// How long the provider calls of one refresh may take together.
    pub fn with_budget(mut self, budget: std::time::Duration) -> Self {
        self.budget = budget;
        self
    }

    /// Ask the provider for the verification's state, apply it, store it.
    pub async fn run(&self, id: &VerificationId, source: Source) -> Result<Verification, ApiError> {
        self.refresh(id, source).await.map(|(v, _)| v)
    }

    pub(super) async fn read(&self, id: &VerificationId) -> Result<Verification, ApiError> {
        self.store
            .get_verification(id)
            .await?
            .ok_or_else(|| ApiError::not_found("verification"))
    }

    /// The refreshed verification and what the provider's answer did to it.
    pub(super) async fn refresh(
        &self,
        id: &VerificationId,
        source: Source,
    ) -> Result<(Verification, Transition), ApiError> {
        let verification = self.read(id).await?;
        self.refresh_read(verification, source).await
    }

    /// [`Self::refresh`] of a verification just read.
    pub(super) async fn refresh_read(
        &self,
        mut verification: Verification,
        source: Source,
    ) -> Result<(Verification, Transition), ApiError> {
        let id = verification.id.clone();
        let provider = self.providers.get(&verification.provider).ok_or_else(|| {
            ApiError::new(
                ErrorCode::InternalError,
                "the verification's provider is not configured",
            )
        })?;
        // One request's provider calls (a token, then reads) share one deadline.
        let observation = tokio::time::timeout(
            self.budget,
            provider.current_state(&verification, self.clock.now()),
        )
        .await
        .unwrap_or(Err(ProviderError::Timeout))?;
        for attempt in 0..SAVE_ATTEMPTS {
            let now = self.clock.now();
            let transition = verification.apply(&observation, source, None, now);
            if !transition.writes() {
                return Ok((verification, transition));
            }
            let effect = verification.customer_effect(transition);
            let saved = self
                .store
                .save_verification(&verification, effect, None, None)
                .await?;
            if saved == SaveOutcome::Saved {
                verification.version += 1;
                tracing::info!(verification_id = %verification.id, status = %verification.status, source = ?source, "verification reconciled");
                return Ok((verification, transition));
            }
            backoff(attempt).await;
            verification = self.read(&id).await?;
        }
        Err(concurrent_update(
            "the verification is being updated concurrently; retry",
        ))
    }
}
