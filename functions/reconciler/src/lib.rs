//! `reconciler`: run by an EventBridge schedule (default every 15 minutes), it refreshes every
//! open verification that has been quiet longer than `RECONCILE_QUIET_SECONDS` from its provider,
//! so a dropped webhook is repaired within one period. It takes no new verification within
//! `RECONCILE_MARGIN_SECONDS` of the invocation's deadline; those are reported as `deferred`.

use chrono::{DateTime, Utc};
use lambda_runtime::LambdaEvent;
use serde_json::{json, Value};
use shared::error::{ApiError, ErrorCode};
use shared::wiring::ReconcilerDeps;

/// One run. The schedule's event carries nothing we need beyond its time, which is logged; the
/// answer is the run's counts. The run fails (so the function's failure alarm and destination
/// fire) when the open index cannot be read or every verification it took up failed; some
/// failures among successes are only counted: those verifications are backed off and retried.
pub async fn handle(deps: &ReconcilerDeps, event: LambdaEvent<Value>) -> Result<Value, ApiError> {
    deps.secrets.refresh_if_stale().await;
    let scheduled = event.payload.get("time").and_then(Value::as_str);
    tracing::info!(scheduled_at = scheduled.unwrap_or("-"), request_id = %event.context.request_id, "reconciler run starts");
    let report = deps.reconcile.run_before(deadline(&event.context)).await?;
    if report.all_failed() {
        return Err(ApiError::new(
            ErrorCode::ProviderUnavailable,
            format!(
                "every one of the {} verifications the reconciler took up failed",
                report.checked
            ),
        ));
    }
    Ok(json!(report))
}

/// The invocation's deadline (Lambda gives milliseconds since the epoch; 0 when there is none,
/// as in a bare test context).
fn deadline(context: &lambda_runtime::Context) -> Option<DateTime<Utc>> {
    i64::try_from(context.deadline)
        .ok()
        .filter(|ms| *ms > 0)
        .and_then(DateTime::from_timestamp_millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deadline_is_read_from_the_context_and_absent_when_zero() {
        let mut context = lambda_runtime::Context::default();
        assert_eq!(deadline(&context), None);
        context.deadline = 1_790_000_000_123;
        assert_eq!(
            deadline(&context).map(|d| d.timestamp_millis()),
            Some(1_790_000_000_123)
        );
    }
}
