//! Ondato (providers.md §1): OAuth2 client credentials, the IDV API, the KYC identifications API,
//! the hosted page the person is sent to, and webhooks authenticated with Basic auth.
//!
//! Ondato does not sign webhook bodies, so a webhook is only a hint: the adapter re-fetches the IDV
//! and its KYC identification and reports what Ondato says now, never what the body claims.

mod client;
mod config;
mod kyc_data;
mod mapping;
mod verdict;
mod webhook;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::json;

pub use config::OndatoConfig;

use self::client::OndatoClient;
use self::verdict::Refused;
use self::webhook::Hint;
use super::{
    AuthError, InterpretError, Interpreted, KycProvider, Locator, Peek, Plugin, ProviderError,
    ProviderEvent, RawWebhook, StartRequest, Started,
};
use crate::domain::request::{Applicant, ApplicantField};
use crate::domain::{Observation, ProviderName, Status, Verification, VerificationId};

pub const NAME: ProviderName = ProviderName::from_static("ondato");

/// The registry's entry.
pub const PLUGIN: Plugin = Plugin {
    name: NAME,
    configure: config::configure,
    secrets: config::SECRETS,
};

pub struct OndatoAdapter {
    client: OndatoClient,
}

impl OndatoAdapter {
    pub fn new(config: OndatoConfig, http: reqwest::Client) -> Self {
        Self {
            client: OndatoClient::new(config, http),
        }
    }

    /// Open an IDV with this prefill; with a return URL, point every exit of the page at it.
    async fn create_idv(
        &self,
        verification_id: &VerificationId,
        applicant: &Applicant,
        return_url: Option<&url::Url>,
    ) -> Result<String, ProviderError> {
        let body = json!({
            "externalReferenceId": verification_id.as_str(),
            "setupId": self.client.config().setup_id,
            "registration": mapping::registration(applicant),
        });
        let created = self
            .client
            .call(
                reqwest::Method::POST,
                self.client.idv_url(None, "")?,
                Some(&body),
            )
            .await?;
        let idv_id = created
            .as_ref()
            .and_then(|c| c.get("id"))
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| {
                ProviderError::Unavailable("ondato created an IDV without an id".into())
            })?
            .to_owned();
        if let Some(return_url) = return_url {
            let settings = json!({
                "defaultLanguage": "en-GB",
                "localisationSettings": [{
                    "language": "en-GB",
                    "successRedirectUrl": return_url.as_str(),
                    "failureRedirectUrl": return_url.as_str(),
                    "consentDeclinedRedirectUrl": return_url.as_str(),
                }],
            });
            let url = self.client.idv_url(Some(&idv_id), "setup-localisations")?;
            self.client
                .call(reqwest::Method::PUT, url, Some(&settings))
                .await?;
        }
        Ok(idv_id)
    }

    /// What the IDV and its identification say now. The identification is the one the IDV
    /// links to (else `recorded`, the one the verification last decided with); one the body
    /// `named` must be that one, and the identification must link back to the IDV (see
    /// [`verdict`]).
    async fn observe_idv(
        &self,
        event_type: &str,
        idv_id: &str,
        named: Option<&str>,
        recorded: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(client::Idv, Observation), Refused> {
        let idv = self.client.fetch_idv(idv_id).await?;
        let foreign = |why| Refused::Foreign {
            why,
            verification_id: idv
                .external_reference_id
                .as_deref()
                .and_then(|r| VerificationId::parse(r).ok())
                .map(|id| id.as_str().to_owned()),
        };
        let kyc_id = match verdict::deciding(named, idv.kyc_id().as_deref(), recorded) {
            Err(Refused::Foreign { why, .. }) => return Err(foreign(why)),
            other => other?,
        };
        let kyc = match &kyc_id {
            Some(id) => Some(self.client.fetch_kyc(id).await?),
            None => None,
        };
        if let Some(k) = &kyc {
            verdict::links_back(idv_id, k.identity_verification_id.as_deref()).map_err(foreign)?;
        }
        let observation = mapping::observe(event_type, &idv, kyc.as_ref(), kyc_id.as_deref(), at);
        Ok((idv, observation))
    }
}

#[async_trait]
impl KycProvider for OndatoAdapter {
    fn name(&self) -> ProviderName {
        NAME
    }

    fn required_fields(&self) -> &'static [ApplicantField] {
        &[]
    }

    async fn start(&self, request: StartRequest<'_>) -> Result<Started, ProviderError> {
        let idv_id = self
            .create_idv(
                request.verification_id,
                request.applicant,
                request.return_url,
            )
            .await?;
        // The IDV id is as good as the hosted URL (whoever has it can complete the check): not logged.
        tracing::info!(verification_id = %request.verification_id, "ondato IDV created");
        Ok(Started {
            verification_url: Some(self.client.hosted_url(&idv_id)),
            initial: Observation {
                status: Status::Pending,
                raw_status: "IDV Pending".into(),
                reason: None,
                required_actions: Vec::new(),
                occurred_at: Utc::now(),
                decision_ref: None,
            },
            provider_ref: idv_id,
        })
    }

    /// An IDV cannot be edited and is single-use: a correction opens a new one with the new
    /// prefill, and the verification continues on its hosted page.
    async fn resubmit(
        &self,
        verification: &Verification,
        applicant: &Applicant,
        return_url: Option<&url::Url>,
    ) -> Result<Started, ProviderError> {
        self.start(StartRequest {
            verification_id: &verification.id,
            customer_id: &verification.customer_id,
            applicant,
            return_url,
            request_key: None,
        })
        .await
    }

    async fn current_state(
        &self,
        v: &Verification,
        now: DateTime<Utc>,
    ) -> Result<Observation, ProviderError> {
        let idv_id = v
            .provider_ref
            .as_deref()
            .ok_or_else(|| ProviderError::Unavailable("no IDV".into()))?;
        let observed = self
            .observe_idv("", idv_id, None, v.decision_ref.as_deref(), now)
            .await;
        match observed {
            Ok((_, observation)) => Ok(observation),
            Err(Refused::Provider(ProviderError::Rejected { .. })) => {
                Err(ProviderError::Rejected {
                    message: "ondato does not know this verification's IDV".into(),
                    fields: Default::default(),
                })
            }
            Err(Refused::Provider(other)) => Err(other),
            Err(Refused::Foreign { why, .. }) => {
                verdict::report(why, None, Some(v.id.as_str()));
                Err(ProviderError::Unavailable(
                    "ondato linked an identification of another IDV".into(),
                ))
            }
            Err(Refused::NotLinkedYet) => Err(ProviderError::Unavailable(
                "the IDV links no identification yet".into(),
            )),
        }
    }

    fn authenticate(&self, webhook: &RawWebhook<'_>, _now: DateTime<Utc>) -> Result<(), AuthError> {
        webhook::authenticate(self.client.config(), webhook)
    }

    /// The envelope id and what the payload names, so a redelivery costs no re-fetch.
    fn peek(&self, webhook: &RawWebhook<'_>) -> Option<Peek> {
        webhook::peek(self.client.config(), webhook.body)
    }

    async fn interpret(&self, webhook: &RawWebhook<'_>) -> Result<Interpreted, InterpretError> {
        let (event_id, event_type, idv_id, kyc_id, occurred_at, audit) =
            match webhook::read(self.client.config(), webhook.body)? {
                Hint::Ignored { event_type } => return Ok(Interpreted::Ignored { event_type }),
                Hint::Event {
                    event_id,
                    event_type,
                    idv_id,
                    kyc_id,
                    occurred_at,
                    audit,
                } => (event_id, event_type, idv_id, kyc_id, occurred_at, audit),
            };
        // Never trust the body: ask Ondato what the IDV and its identification say now.
        let observed = self
            .observe_idv(&event_type, &idv_id, kyc_id.as_deref(), None, occurred_at)
            .await;
        let (idv, observation) = observed.map_err(|e| refused_event(e, &event_id))?;
        let locator = idv
            .external_reference_id
            .as_deref()
            .and_then(|r| VerificationId::parse(r).ok())
            .map_or_else(|| Locator::ProviderRef(idv_id.clone()), Locator::Ours);
        Ok(Interpreted::Event(Box::new(ProviderEvent {
            event_id,
            event_type,
            locator,
            provider_ref: Some(idv_id),
            audit,
            observation,
            occurred_at,
        })))
    }

    /// The document of the identification the IDV links to (see [`kyc_data`]).
    async fn kyc_data(
        &self,
        v: &Verification,
    ) -> Result<Option<crate::domain::kyc_data::KycData>, ProviderError> {
        kyc_data::read(&self.client, v).await
    }
}

/// What a webhook whose re-reading gave no observation is: a name Ondato does not know or a
/// verdict of another verification is never processable (acknowledged, counted); a provider
/// failure, or a link Ondato does not show yet, is retried.
fn refused_event(e: Refused, event_id: &str) -> InterpretError {
    match e {
        Refused::Provider(ProviderError::Rejected { .. }) => {
            InterpretError::Malformed("the event names a resource Ondato does not know".into())
        }
        Refused::Provider(other) => InterpretError::Provider(other),
        Refused::Foreign {
            why,
            verification_id,
        } => {
            verdict::report(why, Some(event_id), verification_id.as_deref());
            InterpretError::Malformed(
                "the event names another verification's identification".into(),
            )
        }
        Refused::NotLinkedYet => {
            tracing::warn!(event_id = %event_id, "ondato event names an identification its IDV does not link yet; asking for a retry");
            InterpretError::Provider(ProviderError::Unavailable(
                "the IDV links no identification yet".into(),
            ))
        }
    }
}
