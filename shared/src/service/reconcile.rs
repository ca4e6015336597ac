//! The scheduled reconciler: refresh every open verification quiet for longer than a threshold
//! (at most a batch per run), so a dropped webhook is repaired within one schedule period.
//!
//! A run queries the open index's partitions at once, then refreshes the verifications found,
//! the quietest first, a few at a time, and takes no new one once its time budget (the Lambda
//! deadline minus a margin) is spent: those are left to the next run and counted as `deferred`.
//! A verification whose provider fails is backed off (15 min, doubling, at most 24 h, stored on
//! the item and cleared by the next answer), so it cannot take a batch slot every run.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use tokio::time::Instant;

use super::refresh::RefreshVerification;
use crate::domain::{Source, Transition, Verification, VerificationId};
use crate::error::{ApiError, ErrorCode};
use crate::store::{OpenVerifications, SaveOutcome, StoreError};

/// What one reconciler run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReconcileReport {
    /// Verifications taken up this run.
    pub checked: usize,
    /// Of those, the ones whose status changed.
    pub changed: usize,
    /// Of those, the ones that could not be refreshed (provider or store failure).
    pub failed: usize,
    /// Found but not taken up: the time budget ran out. The next run starts with them.
    pub deferred: usize,
}

impl ReconcileReport {
    /// Every verification taken up failed: the providers or the store are down, worth an alarm.
    /// A run with some failures among successes is not: those are backed off and retried.
    pub fn all_failed(&self) -> bool {
        self.checked > 0 && self.failed == self.checked
    }
}

/// How the reconciler spreads its work.
#[derive(Debug, Clone, Copy)]
pub struct ReconcileSettings {
    /// Refresh open verifications quiet for longer than this.
    pub quiet: std::time::Duration,
    /// At most this many per run.
    pub batch: usize,
    /// At most this many refreshes at once.
    pub concurrency: usize,
    /// Take no new verification closer than this to the run's deadline.
    pub margin: std::time::Duration,
}

/// What refreshing one verification came to.
enum Outcome {
    Changed,
    Unchanged,
    Failed,
}

pub struct Reconcile {
    open: Arc<dyn OpenVerifications>,
    refresh: RefreshVerification,
    clock: Arc<dyn crate::clock::Clock>,
    quiet: chrono::Duration,
    batch: usize,
    concurrency: usize,
    margin: std::time::Duration,
}

impl Reconcile {
    pub fn new(
        open: Arc<dyn OpenVerifications>,
        refresh: RefreshVerification,
        clock: Arc<dyn crate::clock::Clock>,
        settings: ReconcileSettings,
    ) -> Self {
        Self {
            open,
            refresh,
            clock,
            quiet: chrono::Duration::from_std(settings.quiet)
                .unwrap_or(chrono::Duration::minutes(15)),
            batch: settings.batch,
            concurrency: settings.concurrency.max(1),
            margin: settings.margin,
        }
    }

    /// One run without a deadline (the batch alone bounds it).
    pub async fn run(&self) -> Result<ReconcileReport, ApiError> {
        self.run_before(None).await
    }

    /// One run that takes no new verification after `deadline` minus the margin (wall-clock
    /// time, as Lambda gives its deadline). Failures are counted and logged; the next run tries
    /// again. An error only when the open index cannot be read.
    pub async fn run_before(
        &self,
        deadline: Option<DateTime<Utc>>,
    ) -> Result<ReconcileReport, ApiError> {
        let stop_at = deadline.map(|d| stop_at(d, Utc::now(), self.margin, Instant::now()));
        let cutoff = self.clock.now() - self.quiet;
        let ids = self
            .open
            .quiet_open_verifications(cutoff, self.batch)
            .await?;
        let found = ids.len();
        let outcomes: Vec<Outcome> = futures::stream::iter(ids)
            .take_while(|_| std::future::ready(stop_at.is_none_or(|t| Instant::now() < t)))
            .map(|id| self.reconcile_one(id))
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        let report = ReconcileReport {
            checked: outcomes.len(),
            changed: outcomes
                .iter()
                .filter(|o| matches!(o, Outcome::Changed))
                .count(),
            failed: outcomes
                .iter()
                .filter(|o| matches!(o, Outcome::Failed))
                .count(),
            deferred: found - outcomes.len(),
        };
        tracing::info!(
            checked = report.checked,
            changed = report.changed,
            failed = report.failed,
            deferred = report.deferred,
            "reconciler run"
        );
        Ok(report)
    }

    /// Refresh one verification; on a provider failure, back it off.
    async fn reconcile_one(&self, id: VerificationId) -> Outcome {
        let read = match self.refresh.read(&id).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(verification_id = %id, code = e.code.as_str(), "reconciling a verification failed");
                return Outcome::Failed;
            }
        };
        if !read.reconcile_due(self.clock.now()) {
            // Listed again before its backoff ran out (the quiet threshold was lowered).
            return Outcome::Unchanged;
        }
        let backing_off = read.backing_off();
        match self
            .refresh
            .refresh_read(read.clone(), Source::Reconcile)
            .await
        {
            Ok((_, Transition::Changed { .. })) => Outcome::Changed,
            Ok((mut v, _)) => {
                if backing_off && v.version == read.version {
                    // Answered without a write (nothing newer): end the backoff here.
                    v.reconcile_failures = 0;
                    v.reconcile_after = None;
                    let listed_at = v.updated_at;
                    self.record(&v, listed_at).await;
                }
                Outcome::Unchanged
            }
            Err(e) => {
                tracing::warn!(verification_id = %id, code = e.code.as_str(), "reconciling a verification failed");
                if provider_failed(&e) {
                    let mut v = read;
                    let after = v.reconcile_failed(self.clock.now());
                    tracing::info!(verification_id = %id, failures = v.reconcile_failures, reconcile_after = %after, "verification backed off");
                    self.record(&v, after - self.quiet).await;
                }
                Outcome::Failed
            }
        }
    }

    /// Store a verification's backoff; a concurrent write wins (it is fresher news).
    async fn record(&self, v: &Verification, listed_at: DateTime<Utc>) {
        match self.open.record_reconcile_backoff(v, listed_at).await {
            Ok(SaveOutcome::Saved) => {}
            Ok(_) => {
                tracing::info!(verification_id = %v.id, "backoff not stored: the verification changed meanwhile");
            }
            Err(e) => {
                tracing::warn!(verification_id = %v.id, error = %crate::telemetry::chain(&e), "backoff not stored");
            }
        }
    }
}

/// Whether a refresh failed because of the provider (its error, refusal, timeout, or a record
/// it does not know), not because of the store or a concurrent writer: only those back off.
fn provider_failed(e: &ApiError) -> bool {
    let store = std::error::Error::source(e).is_some_and(|c| c.is::<StoreError>());
    !store && e.code != ErrorCode::ConcurrentUpdate
}

/// When to stop taking new work: `margin` before `deadline`, as an instant of the monotonic
/// clock (`now` is the wall clock at `now_instant`); at once when that is already past.
fn stop_at(
    deadline: DateTime<Utc>,
    now: DateTime<Utc>,
    margin: std::time::Duration,
    now_instant: Instant,
) -> Instant {
    let left = (deadline - now).to_std().unwrap_or_default();
    now_instant + left.saturating_sub(margin)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_budget_is_the_deadline_minus_the_margin_and_never_negative() {
        let now = Utc::now();
        let at = Instant::now();
        let margin = Duration::from_secs(30);
        let deadline = now + chrono::Duration::seconds(300);
        assert_eq!(
            stop_at(deadline, now, margin, at),
            at + Duration::from_secs(270)
        );
        let close = now + chrono::Duration::seconds(10);
        assert_eq!(stop_at(close, now, margin, at), at);
        let past = now - chrono::Duration::seconds(10);
        assert_eq!(stop_at(past, now, margin, at), at);
    }

    #[test]
    fn only_provider_failures_back_off() {
        let timeout = ApiError::new(ErrorCode::ProviderTimeout, "t");
        let down = ApiError::new(ErrorCode::ProviderUnavailable, "d");
        let gone = ApiError::not_found("verification");
        let store: ApiError = StoreError::corrupt("x").into();
        let raced = ApiError::new(ErrorCode::ConcurrentUpdate, "c");
        assert!(provider_failed(&timeout) && provider_failed(&down) && provider_failed(&gone));
        assert!(!provider_failed(&store) && !provider_failed(&raced));
    }

    #[test]
    fn a_run_alarms_only_when_everything_it_took_failed() {
        let report = |checked, failed| ReconcileReport {
            checked,
            failed,
            ..ReconcileReport::default()
        };
        assert!(report(3, 3).all_failed());
        assert!(!report(3, 2).all_failed());
        assert!(!report(0, 0).all_failed());
    }
}
