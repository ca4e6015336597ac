//! The storage port. One DynamoDB table holds every item (DESIGN §5); the adapter is
//! [`dynamodb::DynamoDbStore`], tested against DynamoDB Local.

pub mod dynamodb;
pub mod metrics;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{CustomerEffect, CustomerId, ProviderName, Verification, VerificationId};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store could not be reached or refused the call; safe to retry.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A stored item could not be read back: a bug or a manual edit.
    #[error("corrupt item: {0}")]
    Corrupt(String),
}

/// Why a customer cannot start a verification.
#[derive(Debug, thiserror::Error)]
pub enum ReserveError {
    #[error("customer already verified")]
    AlreadyVerified {
        verification_id: Option<String>,
        verified_at: Option<DateTime<Utc>>,
    },
    #[error("verification already active")]
    AlreadyActive { verification_id: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The customer record: latest verification and whether the customer passed KYC.
#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    pub customer_id: CustomerId,
    pub latest_verification_id: Option<VerificationId>,
    pub verified_at: Option<DateTime<Utc>>,
    pub verified_verification_id: Option<VerificationId>,
}

/// A processed webhook event, kept for deduplication.
#[derive(Debug, Clone)]
pub struct EventRecord {
    pub provider: ProviderName,
    pub event_id: String,
    pub event_type: String,
    pub verification_id: VerificationId,
    pub occurred_at: DateTime<Utc>,
    /// What the event did (`changed`, `refreshed`, `sticky`, `stale`).
    pub outcome: &'static str,
    pub received_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveOutcome {
    Saved,
    /// The event was already recorded: someone applied it first.
    DuplicateEvent,
    /// The verification changed since it was read: read again and re-apply.
    VersionConflict,
}

/// What the webhook path reads in one round trip.
#[derive(Debug)]
pub struct EventContext {
    pub verification: Option<Verification>,
    pub already_processed: bool,
}

#[async_trait]
pub trait VerificationStore: Send + Sync {
    /// Claim the customer's one active slot for this provider, unless the customer is verified or
    /// has an active verification. The claim lapses at `claim_until` unless confirmed by
    /// [`VerificationStore::insert_verification`].
    async fn reserve_customer(
        &self,
        customer: &CustomerId,
        provider: ProviderName,
        verification: &VerificationId,
        now: DateTime<Utc>,
        claim_until: DateTime<Utc>,
    ) -> Result<(), ReserveError>;

    /// Give an unconfirmed claim back (the provider call failed).
    async fn release_customer(
        &self,
        customer: &CustomerId,
        provider: ProviderName,
        verification: &VerificationId,
    ) -> Result<(), StoreError>;

    /// Store a new verification, its provider reference and confirm the customer's claim, atomically.
    async fn insert_verification(&self, verification: &Verification) -> Result<(), StoreError>;

    async fn get_verification(
        &self,
        id: &VerificationId,
    ) -> Result<Option<Verification>, StoreError>;

    async fn get_customer(&self, id: &CustomerId) -> Result<Option<Customer>, StoreError>;

    async fn find_by_provider_ref(
        &self,
        provider: ProviderName,
        provider_ref: &str,
    ) -> Result<Option<VerificationId>, StoreError>;

    /// The verification and whether this event was processed already, in one round trip.
    async fn load_for_event(
        &self,
        id: &VerificationId,
        provider: ProviderName,
        event_id: &str,
    ) -> Result<EventContext, StoreError>;

    /// Record the event and, when `updated` is given, the new verification state (guarded by the
    /// version it was read at) and its effect on the customer, all or nothing.
    async fn save_event(
        &self,
        event: &EventRecord,
        updated: Option<(&Verification, CustomerEffect)>,
    ) -> Result<SaveOutcome, StoreError>;
}
