//! Reconciliation: apply what the provider says now, for `GET …?refresh=true` and the scheduled
//! reconciler, so a dropped webhook is repaired. Same transition rules as webhooks.

use super::create::{provider_error, store_error};
use super::App;
use crate::domain::{Source, Transition, Verification, VerificationId};
use crate::error::{ApiError, ErrorCode};
use crate::store::SaveOutcome;

/// What one reconciler run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReconcileReport {
    pub checked: usize,
    pub changed: usize,
    pub failed: usize,
}

impl App {
    /// Refresh every open verification quiet for longer than `quiet` (at most `limit`), so a
    /// dropped webhook is repaired within one schedule period. Failures are counted and logged;
    /// the next run tries again.
    pub async fn reconcile(
        &self,
        quiet: std::time::Duration,
        limit: usize,
    ) -> Result<ReconcileReport, ApiError> {
        let cutoff = self.clock.now()
            - chrono::Duration::from_std(quiet).unwrap_or(chrono::Duration::minutes(15));
        let ids = self
            .store
            .quiet_open_verifications(cutoff, limit)
            .await
            .map_err(store_error)?;
        let mut report = ReconcileReport {
            checked: ids.len(),
            ..ReconcileReport::default()
        };
        for id in ids {
            match self.refresh(&id, Source::Reconcile).await {
                Ok((_, Transition::Changed { .. })) => report.changed += 1,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(verification_id = %id, code = e.code.as_str(), "reconciling a verification failed");
                    report.failed += 1;
                }
            }
        }
        tracing::info!(
            checked = report.checked,
            changed = report.changed,
            failed = report.failed,
            "reconciler run"
        );
        Ok(report)
    }

    /// Ask the provider for the verification's state, apply it, store it. Round trips: the read,
    /// the provider call(s), and one write when something changed.
    pub async fn refresh_verification(
        &self,
        id: &VerificationId,
        source: Source,
    ) -> Result<Verification, ApiError> {
        self.refresh(id, source).await.map(|(v, _)| v)
    }

    async fn refresh(
        &self,
        id: &VerificationId,
        source: Source,
    ) -> Result<(Verification, Transition), ApiError> {
        let mut verification = self.fetch_verification(id).await?;
        let provider = self.providers.get(verification.provider).ok_or_else(|| {
            ApiError::new(
                ErrorCode::InternalError,
                "the verification's provider is not configured",
            )
        })?;
        let observation = provider
            .current_state(&verification, self.clock.now())
            .await
            .map_err(provider_error)?;
        for attempt in 0..3u32 {
            let now = self.clock.now();
            let transition = verification.apply(&observation, source, None, now);
            if !transition.writes() {
                return Ok((verification, transition));
            }
            let effect = verification.customer_effect(transition);
            match self
                .store
                .save_verification(&verification, effect, None, None)
                .await
                .map_err(store_error)?
            {
                SaveOutcome::Saved => {
                    verification.version += 1;
                    tracing::info!(verification_id = %verification.id, status = %verification.status, source = ?source, "verification reconciled");
                    return Ok((verification, transition));
                }
                _ => {
                    crate::store::backoff(attempt).await;
                    verification = self.fetch_verification(id).await?;
                }
            }
        }
        Err(ApiError::new(
            ErrorCode::ConcurrentUpdate,
            "the verification is being updated concurrently; retry",
        )
        .with_retry_after(1))
    }
}
