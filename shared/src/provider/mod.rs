//! The provider port: what every KYC provider adapter offers the services.
//!
//! A verification starts in two steps so that data-submission providers fit beside hosted-page
//! ones: [`KycProvider::start`] opens the provider-side record (Ondato: an IDV and its hosted page),
//! the service persists our verification, then [`KycProvider::submit`] sends the applicant's data
//! for checking where the provider works that way (a no-op for hosted-page providers).

pub mod bond;
pub mod ondato;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use http::HeaderMap;

use crate::domain::request::{Applicant, ApplicantField};
use crate::domain::{CustomerId, Observation, ProviderName, Verification, VerificationId};

/// Why a provider call failed, in terms the API maps to its error codes.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// Could not reach the provider, or it answered 5xx / nonsense.
    #[error("provider unavailable: {0}")]
    Unavailable(String),
    #[error("provider timed out")]
    Timeout,
    /// The provider refused the request (4xx); the message is safe to show (no PII).
    #[error("provider rejected the request: {message}")]
    Rejected {
        message: String,
        fields: BTreeMap<String, Vec<String>>,
    },
}

/// Why a webhook was not accepted as authentic. Never says which part failed to the caller.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("missing credentials")]
    Missing,
    #[error("bad credentials")]
    Invalid,
}

/// What the service passes to a provider to open a verification.
pub struct StartRequest<'a> {
    pub verification_id: &'a VerificationId,
    pub customer_id: &'a CustomerId,
    pub applicant: &'a Applicant,
    pub return_url: Option<&'a url::Url>,
}

/// The provider-side record that was opened.
#[derive(Debug, Clone)]
pub struct Started {
    pub provider_ref: String,
    pub verification_url: Option<String>,
    pub initial: Observation,
}

/// How a webhook names the verification it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Locator {
    /// The provider echoed our id back (Ondato `externalReferenceId`).
    Ours(VerificationId),
    /// Only the provider's own id is known.
    ProviderRef(String),
}

/// An authenticated webhook, interpreted.
#[derive(Debug, Clone)]
pub enum Interpreted {
    /// An event type we do not act on: acknowledged and logged.
    Ignored {
        event_type: String,
    },
    Event(Box<ProviderEvent>),
}

#[derive(Debug, Clone)]
pub struct ProviderEvent {
    /// The provider's event identity, for deduplication.
    pub event_id: String,
    pub event_type: String,
    pub locator: Locator,
    /// The provider record the event is about; events of a replaced record are not applied.
    pub provider_ref: Option<String>,
    /// The event as received, minus anything personal, kept for audit (never for decisions).
    pub audit: serde_json::Value,
    /// The provider's authoritative state (re-fetched where the body is not signed).
    pub observation: Observation,
    pub occurred_at: DateTime<Utc>,
}

/// A webhook as it arrived: raw bytes, before anything trusted it.
pub struct RawWebhook<'a> {
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub source_ip: Option<std::net::IpAddr>,
}

#[async_trait]
pub trait KycProvider: Send + Sync {
    fn name(&self) -> ProviderName;

    /// Applicant fields this provider cannot work without.
    fn required_fields(&self) -> &'static [ApplicantField];

    /// Open the provider-side record.
    async fn start(&self, request: StartRequest<'_>) -> Result<Started, ProviderError>;

    /// Correct the applicant's data and have the provider check again (PATCH). Returns the
    /// provider record the verification continues with (for hosted pages, a new page).
    async fn resubmit(
        &self,
        verification: &Verification,
        applicant: &Applicant,
        return_url: Option<&url::Url>,
    ) -> Result<Started, ProviderError>;

    /// Whether the applicant's data is submitted server to server after the record is stored
    /// (data-submission providers); hosted-page providers collect it themselves.
    fn submits_data(&self) -> bool {
        false
    }

    /// Submit the applicant's data for checking, once our record is durable.
    async fn submit(
        &self,
        _verification: &Verification,
        _applicant: &Applicant,
    ) -> Result<Option<Observation>, ProviderError> {
        Ok(None)
    }

    /// What the provider says about this verification now (reconciliation: `?refresh=true` and
    /// the scheduled reconciler). `occurred_at` is the time of asking.
    async fn current_state(
        &self,
        verification: &Verification,
        now: DateTime<Utc>,
    ) -> Result<Observation, ProviderError>;

    /// Check a webhook's credentials over the raw bytes, in constant time, before parsing.
    fn authenticate(&self, webhook: &RawWebhook<'_>, now: DateTime<Utc>) -> Result<(), AuthError>;

    /// Parse an authenticated webhook and establish the provider's authoritative state.
    /// `Err(None)` means the body is malformed; `Err(Some(e))` that the provider could not be asked.
    async fn interpret(&self, webhook: &RawWebhook<'_>) -> Result<Interpreted, InterpretError>;
}

#[derive(Debug, thiserror::Error)]
pub enum InterpretError {
    #[error("malformed webhook body: {0}")]
    Malformed(String),
    #[error(transparent)]
    Provider(#[from] ProviderError),
}

/// The providers this deployment has configured.
#[derive(Clone, Default)]
pub struct Providers {
    by_name: BTreeMap<ProviderName, Arc<dyn KycProvider>>,
}

impl Providers {
    pub fn with(mut self, provider: Arc<dyn KycProvider>) -> Self {
        self.by_name.insert(provider.name(), provider);
        self
    }

    pub fn get(&self, name: ProviderName) -> Option<&Arc<dyn KycProvider>> {
        self.by_name.get(&name)
    }

    pub fn names(&self) -> Vec<ProviderName> {
        self.by_name.keys().copied().collect()
    }
}
