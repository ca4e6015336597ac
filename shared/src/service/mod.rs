//! The use cases the handlers call, one small service each, holding only the ports it uses:
//! [`CreateVerification`], [`ResubmitVerification`], [`RedactVerification`], [`IngestWebhook`],
//! [`FetchVerification`], [`RefreshVerification`] and [`Reconcile`]; for outbound events
//! [`Notify`], [`Deliver`] and [`ListEvents`]. Rules live in the domain; I/O goes through ports;
//! errors come back as [`ApiError`](crate::ApiError)s that keep their cause.

mod create;
mod deliver;
mod events_feed;
mod fetch;
mod keys;
mod kyc_data;
mod notify;
mod reconcile;
mod redact;
mod refresh;
mod resubmit;
mod submission;
mod view;
mod webhook;

use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Duration, Utc};

use crate::provider::ProviderError;

pub use create::{CreateStore, CreateVerification};
pub use deliver::{Deliver, DeliveryOutcome, QueuedDelivery};
pub use events_feed::{FeedQuery, ListEvents};
pub use fetch::{CustomerView, FetchStore, FetchVerification};
pub use keys::IdempotencySecret;
pub use kyc_data::{unavailable_before_decision, verification_with_kyc_data_json, ReadKycData};
pub use notify::{Notify, NotifyReport, StreamChange};
pub use reconcile::{Reconcile, ReconcileReport, ReconcileSettings};
pub use redact::RedactVerification;
pub use refresh::{RefreshStore, RefreshVerification};
pub use resubmit::{ResubmitStore, ResubmitVerification};
pub use view::{customer_json, verification_json};
pub(crate) use view::{decision_json, ts};
pub use webhook::{IngestWebhook, WebhookAck};

/// Per-request facts the services need from the edge.
#[derive(Debug, Clone)]
pub struct RequestCtx {
    pub request_id: String,
    /// When the invocation will be killed (Lambda deadline); bounds locks and claims.
    pub deadline: Option<DateTime<Utc>>,
    /// The one deadline every provider call of this request shares, fixed at the first call.
    provider_deadline: Arc<OnceLock<tokio::time::Instant>>,
}

/// How long an unconfirmed claim or key lock lasts when the invocation has no deadline.
const DEFAULT_HOLD_SECONDS: i64 = 30;

/// How long the provider calls of one request may take together, unless configured otherwise
/// (`PROVIDER_BUDGET_MS`): below the functions' 25 s timeout, so a slow provider is our `504`,
/// never a bare Lambda timeout.
pub const DEFAULT_PROVIDER_BUDGET: std::time::Duration = std::time::Duration::from_secs(20);

/// Kept free before the invocation's deadline to release claims, record what is known and answer.
const ANSWER_MARGIN: std::time::Duration = std::time::Duration::from_secs(2);

impl RequestCtx {
    pub fn new(request_id: impl Into<String>, deadline: Option<DateTime<Utc>>) -> Self {
        Self {
            request_id: request_id.into(),
            deadline,
            provider_deadline: Arc::default(),
        }
    }

    /// Until when this request may hold a claim or a key: its deadline, so a crashed run's
    /// claim and lock lapse then and a retry is not blocked long.
    pub fn hold_until(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.deadline
            .unwrap_or(now + Duration::seconds(DEFAULT_HOLD_SECONDS))
    }

    /// The request's provider deadline: `budget` after its first provider call, and never later
    /// than the answer margin before the invocation's deadline.
    fn provider_deadline(&self, budget: std::time::Duration) -> tokio::time::Instant {
        *self.provider_deadline.get_or_init(|| {
            let to_deadline = self.deadline.map(|d| {
                (d - Utc::now())
                    .to_std()
                    .unwrap_or_default()
                    .saturating_sub(ANSWER_MARGIN)
            });
            tokio::time::Instant::now() + to_deadline.map_or(budget, |left| left.min(budget))
        })
    }

    /// Run provider calls (a token, a create, an update…) within the request's one provider
    /// deadline; past it they are abandoned as a provider timeout (`504`).
    pub(crate) async fn provider_call<T, E: From<ProviderError>>(
        &self,
        budget: std::time::Duration,
        calls: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let until = self.provider_deadline(budget);
        match tokio::time::timeout_at(until, calls).await {
            Ok(result) => result,
            Err(_) => {
                tracing::warn!(request_id = %self.request_id, "provider calls ran out of the request's time");
                Err(ProviderError::Timeout.into())
            }
        }
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
