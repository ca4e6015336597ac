//! The verification aggregate and its transition rules (DESIGN §3): pure, no I/O.
//!
//! Providers deliver at least once and in any order. The rules here decide what an observed
//! provider state does to a stored verification:
//! - an observation older than the newest applied one never changes anything (`Stale`);
//! - a terminal status changes only through a newer, different provider decision, recorded as
//!   `superseded` in the history;
//! - everything else that differs from the current status is applied and recorded once.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

mod bounds;
#[cfg(test)]
pub(crate) mod fixtures;
mod redaction;
mod transitions;

pub use bounds::{reconcile_backoff, HISTORY_CAP};
pub use redaction::{ProviderCopy, Redaction, RedactionRefusal, PATCH_KEYS_KEPT, REDACTED};

use super::{CustomerId, ProviderName, Status, VerificationId};

/// Where a status change came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Api,
    Webhook,
    Reconcile,
}

/// A non-PII map the business attaches to a verification.
pub type Metadata = BTreeMap<String, String>;

/// Something the applicant must do before the provider can decide (for example upload a document).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequiredAction {
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload_url: Option<String>,
}

/// Why the provider decided what it did, normalised beside the raw provider word.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// Our snake_case code (`poor_photo_quality`).
    pub code: String,
    /// The provider's own word, kept as an opaque string (`PoorPhotoQuality`).
    pub provider_reason: String,
    /// Whether a new attempt can succeed (false for fraud, sanctions, underage, ...).
    pub retryable: bool,
}

/// The outcome of a terminal status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub outcome: Status,
    pub reason_code: Option<String>,
    pub provider_reason: Option<String>,
    pub retryable: bool,
    pub decided_at: DateTime<Utc>,
}

/// What a provider says about a verification at one moment: the input of every transition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observation {
    pub status: Status,
    /// The provider's raw status words (`IDV Completed / KYC Approved`).
    pub raw_status: String,
    pub reason: Option<Reason>,
    pub required_actions: Vec<RequiredAction>,
    /// When the provider says this happened (event time); orders observations.
    pub occurred_at: DateTime<Utc>,
    /// The provider's id of the identification behind a decision, when it has one.
    pub decision_ref: Option<String>,
}

/// One status change, as kept in `history`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Status>,
    pub source: Source,
    /// Provider time of the change.
    pub at: DateTime<Utc>,
    /// When we recorded it.
    pub recorded_at: DateTime<Utc>,
    pub raw_status: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub superseded: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
}

/// One verification of one customer with one provider.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    pub id: VerificationId,
    pub customer_id: CustomerId,
    pub provider: ProviderName,
    pub status: Status,
    /// The provider's id for this verification (its hosted session or its customer record).
    pub provider_ref: Option<String>,
    /// The provider's id of the identification that decided, where the provider has one.
    pub decision_ref: Option<String>,
    /// Hosted page for the applicant (hosted-UI providers only). Never logged.
    pub verification_url: Option<String>,
    pub raw_status: Option<String>,
    pub decision: Option<Decision>,
    /// Personal (upload links) like `verification_url` and `metadata`: stored apart from the
    /// decision record, with its own TTL (see `store::dynamodb::codec`).
    #[serde(default)]
    pub required_actions: Vec<RequiredAction>,
    #[serde(default)]
    pub metadata: Metadata,
    /// The first entry (how the verification started) and the newest ones, at most
    /// [`HISTORY_CAP`] in all, so the item stays far below DynamoDB's 400 KB whatever the number
    /// of events.
    pub history: Vec<HistoryEntry>,
    /// How many older entries were dropped from `history` (between its first and the rest).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub history_dropped: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Provider time of the newest applied observation.
    pub last_event_at: Option<DateTime<Utc>>,
    /// Optimistic-concurrency version: every stored write increments it.
    pub version: u64,
    /// Which submission of the applicant's data this is (1, then +1 per correction).
    #[serde(default = "first_attempt")]
    pub attempt: u32,
    /// When the applicant's data reached a data-submission provider; `None` until then.
    #[serde(default)]
    pub data_submitted_at: Option<DateTime<Utc>>,
    /// The idempotency key (and request fingerprint) the verification was created with, so a
    /// retry of a create whose submission failed resumes it instead of being refused.
    #[serde(default)]
    pub created_with_key: Option<String>,
    #[serde(default)]
    pub created_fingerprint: Option<String>,
    /// Reconciler refreshes that failed in a row (the provider erred or timed out); cleared by
    /// any applied observation.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reconcile_failures: u32,
    /// The reconciler leaves the verification alone until then (capped exponential backoff).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconcile_after: Option<DateTime<Utc>>,
    /// The idempotency keys of the PATCHes that corrected it (the newest
    /// [`PATCH_KEYS_KEPT`]), so a redaction can reach the responses stored under them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patched_with_keys: Vec<String>,
    /// Set once the personal data was removed (`POST /v1/verifications/{id}/redact`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redaction: Option<Redaction>,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes a reference
fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn first_attempt() -> u32 {
    1
}

/// What applying an observation did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// The status changed; `superseded` when a terminal decision was replaced by a newer one.
    Changed { from: Status, superseded: bool },
    /// Same status; details (raw words, required actions, event time) may have been refreshed.
    Refreshed,
    /// Nothing changes: a terminal status only moves through a newer, different decision.
    Sticky,
    /// Older than the newest applied observation: ignored.
    Stale,
}

impl Transition {
    /// Whether the stored verification must be written.
    pub fn writes(self) -> bool {
        matches!(self, Self::Changed { .. } | Self::Refreshed)
    }
}

/// What a transition means for the customer record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CustomerEffect {
    None,
    /// The attempt ended: the customer may start another one with this provider.
    Ended,
    /// The customer is verified from now on (approval, or a superseding approval).
    Verified {
        at: DateTime<Utc>,
    },
    /// An approval was superseded by a rejection: the customer is no longer verified.
    Unverified,
}

/// Why a verification cannot be corrected and resubmitted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EditRefusal {
    /// Approved: the customer passed KYC; nothing about them can change.
    Locked { verified_at: DateTime<Utc> },
    /// The provider is checking what was submitted.
    InProgress,
    /// The attempt is over (rejected, expired, canceled, failed): start a new verification.
    Ended,
}

pub struct NewVerification {
    pub id: VerificationId,
    pub customer_id: CustomerId,
    pub provider: ProviderName,
    pub provider_ref: Option<String>,
    pub verification_url: Option<String>,
    pub metadata: Metadata,
    pub initial: Observation,
}
