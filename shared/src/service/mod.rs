//! The use cases the handlers call, one small service each, holding only the ports it uses:
//! [`CreateVerification`], [`ResubmitVerification`], [`IngestWebhook`], [`FetchVerification`],
//! [`RefreshVerification`] and [`Reconcile`]. Rules live in the domain; I/O goes through ports;
//! errors come back as [`ApiError`](crate::ApiError)s that keep their cause.

mod create;
mod fetch;
mod keys;
mod reconcile;
mod refresh;
mod resubmit;
mod submission;
mod view;
mod webhook;

use chrono::{DateTime, Duration, Utc};

pub use create::{CreateStore, CreateVerification};
pub use fetch::{CustomerView, FetchStore, FetchVerification};
pub use keys::IdempotencySecret;
pub use reconcile::{Reconcile, ReconcileReport, ReconcileSettings};
pub use refresh::{RefreshStore, RefreshVerification};
pub use resubmit::{ResubmitStore, ResubmitVerification};
pub use view::{customer_json, verification_json};
pub use webhook::{IngestWebhook, WebhookAck};

/// Per-request facts the services need from the edge.
#[derive(Debug, Clone)]
pub struct RequestCtx {
    pub request_id: String,
    /// When the invocation will be killed (Lambda deadline); bounds locks and claims.
    pub deadline: Option<DateTime<Utc>>,
}

/// How long an unconfirmed claim or key lock lasts when the invocation has no deadline.
const DEFAULT_HOLD_SECONDS: i64 = 30;

impl RequestCtx {
    /// Until when this request may hold a claim or a key: its deadline, so a crashed run's
    /// claim and lock lapse then and a retry is not blocked long.
    pub fn hold_until(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.deadline
            .unwrap_or(now + Duration::seconds(DEFAULT_HOLD_SECONDS))
    }
}

/// A response as the services produce it: the exact bytes, so a replay is byte-identical.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    /// Sent again from the idempotency record (`Idempotent-Replayed: true`).
    pub replayed: bool,
}

impl Reply {
    pub fn fresh(status: u16, body: String) -> Self {
        Self {
            status,
            body,
            replayed: false,
        }
    }
}
