//! The scheduled reconciler: refresh every open verification quiet for longer than a threshold
//! (at most a batch per run), so a dropped webhook is repaired within one schedule period.

use std::sync::Arc;

use super::refresh::RefreshVerification;
use crate::domain::{Source, Transition};
use crate::error::ApiError;
use crate::store::OpenVerifications;

/// What one reconciler run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReconcileReport {
    pub checked: usize,
    pub changed: usize,
    pub failed: usize,
}

pub struct Reconcile {
    open: Arc<dyn OpenVerifications>,
    refresh: RefreshVerification,
    clock: Arc<dyn crate::clock::Clock>,
    quiet: chrono::Duration,
    batch: usize,
}

impl Reconcile {
    pub fn new(
        open: Arc<dyn OpenVerifications>,
        refresh: RefreshVerification,
        clock: Arc<dyn crate::clock::Clock>,
        quiet: std::time::Duration,
        batch: usize,
    ) -> Self {
        Self {
            open,
            refresh,
            clock,
            quiet: chrono::Duration::from_std(quiet).unwrap_or(chrono::Duration::minutes(15)),
            batch,
        }
    }

    /// One run. Failures are counted and logged; the next run tries again.
    pub async fn run(&self) -> Result<ReconcileReport, ApiError> {
        let cutoff = self.clock.now() - self.quiet;
        let ids = self
            .open
            .quiet_open_verifications(cutoff, self.batch)
            .await?;
        let mut report = ReconcileReport {
            checked: ids.len(),
            ..ReconcileReport::default()
        };
        for id in ids {
            match self.refresh.refresh(&id, Source::Reconcile).await {
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
}
