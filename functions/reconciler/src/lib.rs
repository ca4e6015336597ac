//! `reconciler`: run by an EventBridge schedule (default every 15 minutes), it refreshes every
//! open verification that has been quiet longer than `RECONCILE_QUIET_SECONDS` from its provider,
//! so a dropped webhook is repaired within one period.

use lambda_runtime::LambdaEvent;
use serde_json::{json, Value};
use shared::wiring::ReconcilerDeps;

/// One run. The schedule's event carries nothing we need beyond its time, which is logged; the
/// answer is the run's counts.
pub async fn handle(
    deps: &ReconcilerDeps,
    event: LambdaEvent<Value>,
) -> Result<Value, shared::ApiError> {
    deps.secrets.refresh_if_stale().await;
    let scheduled = event.payload.get("time").and_then(Value::as_str);
    tracing::info!(scheduled_at = scheduled.unwrap_or("-"), request_id = %event.context.request_id, "reconciler run starts");
    Ok(json!(deps.reconcile.run().await?))
}
