//! The storage ports and the DynamoDB adapter. One DynamoDB table holds every item (DESIGN §5).
//!
//! The ports are narrow, and each one stands for the DynamoDB actions its adapter needs ([`Port`]),
//! so a function's code can reach only what its IAM role in `template.yaml` allows: fetch-result
//! holds a [`VerificationReader`], a [`CustomerReader`] and (for `?refresh=true`) a
//! [`VerificationWriter`], never the claims of a create. The adapter is [`dynamodb::DynamoDbStore`],
//! tested against DynamoDB Local.

pub mod dynamodb;
#[cfg(any(test, feature = "test-util"))]
pub mod metrics;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::idempotency::{Fingerprint, IdempotencyRecord, StoredResponse};
use crate::domain::{CustomerEffect, CustomerId, ProviderName, Verification, VerificationId};
use crate::events::feed::FeedPosition;

/// Wait a little before retrying a write that collided with a concurrent one: 10, 20, 40 … ms
/// (capped), with jitter so colliding requests spread out.
pub async fn backoff(attempt: u32) {
    let base = 10u64 << attempt.min(5);
    let jitter = u64::from(ulid::Ulid::new().random() as u16) % base;
    tokio::time::sleep(std::time::Duration::from_millis(base + jitter)).await;
}

/// A failure's cause, kept for the logs.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store could not be reached or refused the call; safe to retry.
    #[error("DynamoDB {operation} failed")]
    Unavailable {
        operation: &'static str,
        #[source]
        source: Cause,
    },
    /// The store kept answering in a way that left the operation unfinished; safe to retry.
    #[error("DynamoDB {operation} did not finish: {why}")]
    Unfinished {
        operation: &'static str,
        why: &'static str,
    },
    /// A stored item could not be read back, or a request could not be built: a bug or a manual
    /// edit.
    #[error("corrupt item: {what}")]
    Corrupt {
        what: String,
        #[source]
        source: Option<Cause>,
    },
}

impl StoreError {
    pub fn corrupt(what: impl Into<String>) -> Self {
        Self::Corrupt {
            what: what.into(),
            source: None,
        }
    }

    /// A request that could not be built, with the builder's reason.
    pub fn build(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Corrupt {
            what: "a request could not be built".into(),
            source: Some(Box::new(e)),
        }
    }
}

/// Why a create (or PATCH) cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    /// The idempotency key has a live record: replay it, or refuse.
    #[error("idempotency key already used")]
    KeyTaken(IdempotencyRecord),
    /// Concurrent requests kept colliding on the same items.
    #[error("contended")]
    Contended,
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

/// The idempotency lock a request takes, folded into its first write.
#[derive(Debug, Clone)]
pub struct IdempotencyLock {
    /// Route scope and client key (`POST /v1/verifications` + key).
    pub scope: String,
    pub key: String,
    pub fingerprint: Fingerprint,
    /// The run holding the lock; only it may complete or release it.
    pub owner: String,
    /// The holder's Lambda deadline: after it, the lock no longer blocks a retry.
    pub locked_until: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What the first write of a create claims: the customer's slot, and the key when one is sent.
#[derive(Debug, Clone)]
pub struct Claim<'a> {
    pub customer: &'a CustomerId,
    pub provider: &'a ProviderName,
    pub verification: &'a VerificationId,
    pub now: DateTime<Utc>,
    /// An unconfirmed claim lapses at this time (the Lambda deadline).
    pub claim_until: DateTime<Utc>,
    pub lock: Option<&'a IdempotencyLock>,
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
    /// What the event did (`changed`, `refreshed`, `sticky`, `stale`, `other_attempt`).
    pub outcome: &'static str,
    /// The authenticated event minus anything personal, for audit; expires with the record.
    pub audit: Option<String>,
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

/// The IAM-visible side of a port: which DynamoDB actions its adapter calls, on the table or on
/// one of its indexes. Each function's set of ports must match its policy in `template.yaml`
/// (checked by a test that reads the template).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Port {
    VerificationReader,
    CustomerReader,
    VerificationWriter,
    CreateClaims,
    IdempotencyKeys,
    EventLog,
    OpenVerifications,
    EventFeedWriter,
    EventFeedReader,
    Redactions,
}

/// Where an action applies: the table, or an index of it (`index/<name>`).
pub type Grant = (&'static str, &'static str);

pub const TABLE: &str = "table";

impl Port {
    pub fn grants(self) -> &'static [Grant] {
        match self {
            // A verification's record and personal item in one Query on its key; `GetItem` for
            // the init pre-warm read.
            Self::VerificationReader => &[("dynamodb:GetItem", TABLE), ("dynamodb:Query", TABLE)],
            Self::CustomerReader => &[("dynamodb:GetItem", TABLE)],
            // The Query of everything under the verification's key; the audit copies stripped
            // and the replayed responses rewritten (`UpdateItem`), the record put and the
            // personal item deleted in one transaction.
            Self::Redactions => &[
                ("dynamodb:Query", TABLE),
                ("dynamodb:PutItem", TABLE),
                ("dynamodb:UpdateItem", TABLE),
                ("dynamodb:DeleteItem", TABLE),
            ],
            // One transaction of puts and updates (the verification, a provider reference, the
            // customer, an idempotency record).
            Self::VerificationWriter => {
                &[("dynamodb:PutItem", TABLE), ("dynamodb:UpdateItem", TABLE)]
            }
            Self::CreateClaims | Self::IdempotencyKeys => &[
                ("dynamodb:PutItem", TABLE),
                ("dynamodb:UpdateItem", TABLE),
                ("dynamodb:DeleteItem", TABLE),
            ],
            Self::EventLog => &[
                ("dynamodb:GetItem", TABLE),
                ("dynamodb:BatchGetItem", TABLE),
                ("dynamodb:PutItem", TABLE),
                ("dynamodb:UpdateItem", TABLE),
            ],
            // The Query, and the one UpdateItem that records a failed refresh's backoff.
            Self::OpenVerifications => &[
                ("dynamodb:Query", "index/open"),
                ("dynamodb:UpdateItem", TABLE),
            ],
            Self::EventFeedWriter => &[("dynamodb:BatchWriteItem", TABLE)],
            Self::EventFeedReader => &[("dynamodb:Query", TABLE)],
        }
    }
}

/// Read one verification: its record and its personal item (one `Query` on its key, strongly
/// consistent).
#[async_trait]
pub trait VerificationReader: Send + Sync {
    async fn get_verification(
        &self,
        id: &VerificationId,
    ) -> Result<Option<Verification>, StoreError>;
}

/// Read one customer record (`GetItem`).
#[async_trait]
pub trait CustomerReader: Send + Sync {
    async fn get_customer(&self, id: &CustomerId) -> Result<Option<Customer>, StoreError>;
}

/// Store a changed verification (`PutItem`/`UpdateItem` in one transaction).
#[async_trait]
pub trait VerificationWriter: Send + Sync {
    /// Store a verification changed by an API call or a refresh, guarded by the version it was
    /// read at, with its effect on the customer, the reference of a new provider record, and the
    /// key's completion, atomically.
    async fn save_verification(
        &self,
        verification: &Verification,
        effect: CustomerEffect,
        new_ref: Option<&str>,
        completion: Option<(&IdempotencyLock, &StoredResponse)>,
    ) -> Result<SaveOutcome, StoreError>;
}

/// The writes of a create: the customer's slot, the new verification, the failure path.
#[async_trait]
pub trait CreateClaims: Send + Sync {
    /// Claim the customer's one active slot for this provider (unless the customer is verified or
    /// has an active verification) and, with a key, lock it, in one round trip. The claim lapses
    /// at `claim_until` unless confirmed by [`CreateClaims::insert_verification`].
    async fn claim(&self, claim: &Claim<'_>) -> Result<(), ClaimError>;

    /// Give an unconfirmed claim back (the provider call failed), and either release the key so
    /// a retry runs again (`response: None`) or keep the final response for replays.
    async fn release(
        &self,
        customer: &CustomerId,
        provider: &ProviderName,
        verification: &VerificationId,
        lock: Option<(&IdempotencyLock, Option<&StoredResponse>)>,
    ) -> Result<(), StoreError>;

    /// Store a new verification and its provider reference, confirm the customer's claim and
    /// complete the key with the response, atomically.
    async fn insert_verification(
        &self,
        verification: &Verification,
        completion: Option<(&IdempotencyLock, &StoredResponse)>,
    ) -> Result<(), StoreError>;
}

/// Idempotency keys on their own (PATCH, a resumed create).
#[async_trait]
pub trait IdempotencyKeys: Send + Sync {
    /// Lock a key alone: one conditional write.
    async fn lock_key(&self, lock: &IdempotencyLock, now: DateTime<Utc>) -> Result<(), ClaimError>;

    /// Release a key (`None`) or complete it with the response to replay.
    async fn finish_key(
        &self,
        lock: &IdempotencyLock,
        response: Option<&StoredResponse>,
    ) -> Result<(), StoreError>;
}

/// What webhook ingestion reads and writes.
#[async_trait]
pub trait EventLog: Send + Sync {
    /// The verification a provider record belongs to (`GetItem`, cached: it never changes).
    async fn find_by_provider_ref(
        &self,
        provider: &ProviderName,
        provider_ref: &str,
    ) -> Result<Option<VerificationId>, StoreError>;

    /// The verification and whether this event was processed already, in one round trip.
    async fn load_for_event(
        &self,
        id: &VerificationId,
        provider: &ProviderName,
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

/// The sparse index of open verifications (`Query` on `index/open`) and the reconciler's
/// per-verification backoff (`UpdateItem`).
#[async_trait]
pub trait OpenVerifications: Send + Sync {
    /// Open (non-terminal) verifications whose last activity is older than `quiet_since`, at most
    /// `limit`, the quietest first (every index partition queried at once).
    async fn quiet_open_verifications(
        &self,
        quiet_since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<VerificationId>, StoreError>;

    /// Store the reconciler's backoff of `v` (its `reconcile_failures` and `reconcile_after`,
    /// removed when there are no failures) and list it in the open index as last active at
    /// `listed_at`, so the Query above skips it until then. One update of those attributes and
    /// the version, on the condition that the verification is still open and at `v.version`: a
    /// concurrent write wins and is never overwritten (`VersionConflict`).
    async fn record_reconcile_backoff(
        &self,
        v: &Verification,
        listed_at: DateTime<Utc>,
    ) -> Result<SaveOutcome, StoreError>;
}

/// One event as the catch-up feed keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry {
    pub shard: u8,
    pub position: FeedPosition,
    /// The event's JSON, exactly as delivered.
    pub body: String,
    /// The feed forgets it then (TTL).
    pub expires_at: DateTime<Utc>,
}

/// Publish events to the catch-up feed (`BatchWriteItem`): all of them, or an error.
#[async_trait]
pub trait EventFeedWriter: Send + Sync {
    async fn append(&self, entries: &[FeedEntry]) -> Result<(), StoreError>;
}

/// Read the catch-up feed (`Query` on each shard's partition).
#[async_trait]
pub trait EventFeedReader: Send + Sync {
    /// The first `limit` entries after `after` and before `before`, in feed order, from every
    /// shard.
    async fn read(
        &self,
        after: Option<&FeedPosition>,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<FeedEntry>, StoreError>;
}

/// What a redaction finds under a verification's key.
#[derive(Debug)]
pub struct RedactionTarget {
    pub verification: Verification,
    /// The sort keys of its processed-event records (their audit copies are removed).
    pub events: Vec<String>,
}

/// A stored response to replay that a redaction rewrites: its idempotency scope and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReplay {
    pub scope: String,
    pub key: String,
}

/// The writes of a redaction (`POST /v1/verifications/{id}/redact`).
#[async_trait]
pub trait Redactions: Send + Sync {
    /// The verification and its event records: one Query on its key (paged), never a Scan.
    async fn load_for_redaction(
        &self,
        id: &VerificationId,
    ) -> Result<Option<RedactionTarget>, StoreError>;

    /// Store the redacted verification `v` (read at `v.version`): first the audit copies of its
    /// `events` are removed and each live response in `replays` is replaced by `body`, then, in
    /// one transaction guarded by the version, the record is put with its markers and the
    /// personal item deleted. Run again after a failure, it finishes the job.
    async fn save_redaction(
        &self,
        v: &Verification,
        events: &[String],
        replays: &[StoredReplay],
        body: &str,
    ) -> Result<SaveOutcome, StoreError>;
}
