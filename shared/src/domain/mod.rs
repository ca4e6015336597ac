//! The domain: identifiers, the status model, the verification aggregate and the create request.

pub mod idempotency;
mod ids;
pub mod kyc_data;
pub mod request;
mod status;
pub(crate) mod verification;

pub use ids::{CustomerId, ProviderName, VerificationId};
pub use status::Status;
pub use verification::{
    reconcile_backoff, CustomerEffect, Decision, EditRefusal, HistoryEntry, Metadata,
    NewVerification, Observation, ProviderCopy, Reason, Redaction, RedactionRefusal,
    RequiredAction, Source, Transition, Verification, HISTORY_CAP, PATCH_KEYS_KEPT, REDACTED,
};
