//! The provider port: what every KYC provider adapter offers the services.
//!
//! A verification starts in two steps so that data-submission providers fit beside hosted-page
//! ones: [`KycProvider::start`] opens the provider-side record (for example a hosted page),
//! the service persists our verification, then [`KycProvider::submit`] sends the applicant's data
//! for checking where the provider works that way (a no-op for hosted-page providers).

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use http::HeaderMap;

use crate::domain::kyc_data::KycData;
use crate::domain::request::{Applicant, ApplicantField};
use crate::domain::{
    CustomerId, Observation, ProviderCopy, ProviderName, Verification, VerificationId,
};

/// Why a provider call failed, in terms the API maps to its error codes. Messages name no
/// person and no provider record: they go to logs and, for `Rejected`, to the client.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The provider answered 5xx, 429 or something we cannot use.
    #[error("provider unavailable: {0}")]
    Unavailable(String),
    /// The provider could not be reached (connection refused, reset, TLS); the request's URL is
    /// stripped from the cause, since it can hold provider ids.
    #[error("could not reach the provider")]
    Unreachable(#[source] reqwest::Error),
    /// The provider's answer could not be read.
    #[error("unreadable answer from the provider: {what}")]
    Unreadable {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("provider timed out")]
    Timeout,
    /// The provider refused the request (4xx); the message is safe to show (no PII).
    #[error("provider rejected the request: {message}")]
    Rejected {
        message: String,
        fields: BTreeMap<String, Vec<String>>,
    },
}

impl ProviderError {
    /// A transport failure: a timeout, or the provider unreachable (URL removed from the cause).
    pub fn transport(e: reqwest::Error) -> Self {
        if e.is_timeout() {
            Self::Timeout
        } else {
            Self::Unreachable(e.without_url())
        }
    }

    pub fn unreadable(what: &'static str) -> impl FnOnce(serde_json::Error) -> Self {
        move |source| Self::Unreadable { what, source }
    }
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
    /// The same for every retry of one keyed create (derived from the client's key and body,
    /// never the key itself); `None` without a key. Providers that take idempotency keys build
    /// theirs from it, so a retry after a lost answer is never a second provider record.
    pub request_key: Option<&'a str>,
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
    /// The provider echoed our verification id back.
    Ours(VerificationId),
    /// Only the provider's own id is known.
    ProviderRef(String),
}

/// What an authenticated body says about itself before anything is fetched: its event identity
/// and the verification it names. Only a hint (an unsigned body may lie): it lets a redelivery
/// be recognised before `interpret` calls the provider, and decides nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peek {
    pub event_id: String,
    pub locator: Locator,
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

impl RawWebhook<'_> {
    /// The one value of a credentials header. Sent twice it is refused, whether it arrives as two
    /// headers or joined with a comma by the gateway (the caller's parser refuses the joined form:
    /// a comma never belongs in a Basic credential or a hex digest, and a repeated `t=` is refused).
    pub fn single_header(&self, name: &str) -> Result<Option<&str>, AuthError> {
        let mut values = self.headers.get_all(name).iter();
        let first = values.next();
        if values.next().is_some() {
            return Err(AuthError::Invalid);
        }
        first
            .map(|v| v.to_str().map_err(|_| AuthError::Invalid))
            .transpose()
    }

    /// Whether it came from an allowed source address (an empty allowlist allows any; an
    /// unknown source is not allowed by a non-empty one).
    pub fn source_allowed(&self, allowed: &[std::net::IpAddr]) -> bool {
        allowed.is_empty() || self.source_ip.is_some_and(|ip| allowed.contains(&ip))
    }
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

    /// Ask the provider to delete its copy of this verification's personal data (redaction).
    /// By default the provider offers no deletion API, and nothing is called.
    async fn erase(&self, _verification: &Verification) -> Result<ProviderCopy, ProviderError> {
        Ok(ProviderCopy::NotSupported)
    }

    /// Check a webhook's credentials over the raw bytes, in constant time, before parsing.
    fn authenticate(&self, webhook: &RawWebhook<'_>, now: DateTime<Utc>) -> Result<(), AuthError>;

    /// The event identity and verification an authenticated body names, when reading them
    /// costs nothing and `interpret` would call the provider: a redelivery is then recognised
    /// first. The event id must be the one `interpret` reports.
    fn peek(&self, _webhook: &RawWebhook<'_>) -> Option<Peek> {
        None
    }

    /// Parse an authenticated webhook and establish the provider's authoritative state
    /// (re-fetched from the provider where the body is not signed).
    async fn interpret(&self, webhook: &RawWebhook<'_>) -> Result<Interpreted, InterpretError>;

    /// The provider's identification data for this verification, read now and minimised
    /// (`GET …?include=kyc_data`): never stored, never logged. `None` when the provider holds
    /// none for it (yet), or offers no such read.
    async fn kyc_data(
        &self,
        _verification: &Verification,
    ) -> Result<Option<KycData>, ProviderError> {
        Ok(None)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InterpretError {
    #[error("malformed webhook body: {0}")]
    Malformed(String),
    #[error(transparent)]
    Provider(#[from] ProviderError),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(headers: &HeaderMap) -> RawWebhook<'_> {
        RawWebhook {
            headers,
            body: b"{}",
            source_ip: None,
        }
    }

    #[test]
    fn a_credentials_header_sent_twice_is_refused_and_a_single_one_read() {
        let mut h = HeaderMap::new();
        assert_eq!(hook(&h).single_header("x-signature"), Ok(None));
        h.insert("x-signature", "t=1,v1=aa".parse().unwrap());
        assert_eq!(hook(&h).single_header("x-signature"), Ok(Some("t=1,v1=aa")));
        h.append("x-signature", "t=1,v1=aa".parse().unwrap());
        assert_eq!(
            hook(&h).single_header("x-signature"),
            Err(AuthError::Invalid)
        );
        let mut odd = HeaderMap::new();
        odd.insert(
            "x-signature",
            http::HeaderValue::from_bytes(b"\xff").unwrap(),
        );
        assert_eq!(
            hook(&odd).single_header("x-signature"),
            Err(AuthError::Invalid)
        );
    }
}
