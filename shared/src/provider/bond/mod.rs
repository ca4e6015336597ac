//! Bond (providers.md §2): the data-submission KYC flow.
//!
//! A verification opens a Bond customer (`brand_person_id` = our customer id); our verification is
//! stored with the Bond customer id **before** the applicant's data is submitted to
//! `POST /customers/{id}/verification-kyc`, with a Bond `Idempotency-Key` derived from our attempt,
//! so a retried submit is never a second KYC. The result arrives by signed webhook.
//! The SSN is passed through and never stored or logged.

mod client;
mod config;
mod erase;
mod errors;
mod kyc_data;
mod mapping;
pub mod signature;
mod webhook;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

pub use client::attempt_key;
pub use config::BondConfig;
pub use mapping::parse_occurred_at;

use self::client::BondClient;
use super::{
    AuthError, InterpretError, Interpreted, KycProvider, Plugin, ProviderError, RawWebhook,
    StartRequest, Started,
};
use crate::domain::request::{Applicant, ApplicantField};
use crate::domain::{Observation, ProviderCopy, ProviderName, Status, Verification};

pub const NAME: ProviderName = ProviderName::from_static("bond");

/// The registry's entry.
pub const PLUGIN: Plugin = Plugin {
    name: NAME,
    configure: config::configure,
    secrets: config::SECRETS,
};

pub struct BondAdapter {
    client: BondClient,
}

impl BondAdapter {
    pub fn new(config: BondConfig, http: reqwest::Client) -> Self {
        Self {
            client: BondClient::new(config, http),
        }
    }

    fn bond_id(v: &Verification) -> Result<&str, ProviderError> {
        v.provider_ref
            .as_deref()
            .ok_or_else(|| ProviderError::Unavailable("no Bond customer".into()))
    }
}

#[async_trait]
impl KycProvider for BondAdapter {
    fn name(&self) -> ProviderName {
        NAME
    }

    fn required_fields(&self) -> &'static [ApplicantField] {
        &[
            ApplicantField::FirstName,
            ApplicantField::LastName,
            ApplicantField::DateOfBirth,
            ApplicantField::Email,
            ApplicantField::Phone,
            ApplicantField::PhoneCountryCode,
            ApplicantField::Ssn,
            ApplicantField::Address,
        ]
    }

    fn submits_data(&self) -> bool {
        true
    }

    async fn start(&self, request: StartRequest<'_>) -> Result<Started, ProviderError> {
        // A retried keyed create sends the same key; without one, each verification its own.
        let key = format!(
            "{}-customer",
            request
                .request_key
                .unwrap_or(request.verification_id.as_str())
        );
        let bond_id = self
            .client
            .create_customer(request.customer_id.as_str(), request.applicant, &key)
            .await?;
        tracing::info!(verification_id = %request.verification_id, "bond customer created");
        Ok(Started {
            provider_ref: bond_id,
            verification_url: None,
            initial: Observation {
                status: Status::Pending,
                raw_status: "customer created".into(),
                reason: None,
                required_actions: Vec::new(),
                occurred_at: Utc::now(),
                decision_ref: None,
            },
        })
    }

    async fn submit(
        &self,
        verification: &Verification,
        applicant: &Applicant,
    ) -> Result<Option<Observation>, ProviderError> {
        self.client.run_kyc(verification, applicant).await.map(Some)
    }

    /// Update the Bond customer with the corrections, then run KYC again as a new attempt.
    async fn resubmit(
        &self,
        verification: &Verification,
        applicant: &Applicant,
        _return_url: Option<&url::Url>,
    ) -> Result<Started, ProviderError> {
        let bond_id = Self::bond_id(verification)?;
        self.client.update_customer(bond_id, applicant).await?;
        let initial = self.client.run_kyc(verification, applicant).await?;
        Ok(Started {
            provider_ref: bond_id.to_owned(),
            verification_url: None,
            initial,
        })
    }

    /// Bond's KYC state, mapped like its events.
    async fn current_state(
        &self,
        v: &Verification,
        now: DateTime<Utc>,
    ) -> Result<Observation, ProviderError> {
        self.client.kyc_state(Self::bond_id(v)?, now).await
    }

    /// `DELETE /customers/{id}`: the Bond customer (and its KYC data) goes.
    async fn erase(&self, v: &Verification) -> Result<ProviderCopy, ProviderError> {
        match v.provider_ref.as_deref() {
            Some(bond_id) => self.client.delete_customer(bond_id).await,
            // No Bond customer was made: Bond holds nothing.
            None => Ok(ProviderCopy::Deleted),
        }
    }

    fn authenticate(&self, webhook: &RawWebhook<'_>, now: DateTime<Utc>) -> Result<(), AuthError> {
        webhook::authenticate(self.client.config(), webhook, now)
    }

    async fn interpret(&self, webhook: &RawWebhook<'_>) -> Result<Interpreted, InterpretError> {
        match webhook::read(webhook.body)? {
            webhook::Read::Event(interpreted) => Ok(interpreted),
            webhook::Read::Undated { customer_id, word } => {
                let now = Utc::now();
                let state = self.client.kyc_state(&customer_id, now).await?;
                Ok(webhook::undated_event(customer_id, &word, state, now))
            }
        }
    }

    /// The Bond customer record (see [`kyc_data`]).
    async fn kyc_data(
        &self,
        v: &Verification,
    ) -> Result<Option<crate::domain::kyc_data::KycData>, ProviderError> {
        kyc_data::read(&self.client, v).await
    }
}
