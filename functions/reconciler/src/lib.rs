//! `reconciler`: run by an EventBridge schedule (default every 15 minutes), it refreshes every
//! open verification that has been quiet longer than `RECONCILE_QUIET_SECONDS` from its provider,
//! so a dropped webhook is repaired within one period.

use serde_json::{json, Value};
use shared::wiring::ReconcilerDeps;

/// One run. The schedule's event carries nothing we need; the answer is the run's counts.
pub async fn handle(deps: &ReconcilerDeps) -> Result<Value, shared::ApiError> {
    Ok(json!(deps.reconcile.run().await?))
}
