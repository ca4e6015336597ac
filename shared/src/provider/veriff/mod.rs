//! Veriff (anchors §3): a hosted page per session, and two webhooks signed with the integration's
//! shared secret: progress events (`started`, `submitted`) and decisions.
//!
//! A verdict is never taken from a webhook body, signed or not: a decision webhook only names a
//! session, whose decision is re-read from `GET /v1/sessions/{id}/decision` and applied only when
//! Veriff answers about that very session. Progress events decide nothing and are applied from
//! their signed body, dated against the session's decision (see [`mapping::event_time`]).

mod client;
mod config;
mod erase;
mod kyc_data;
mod mapping;
pub mod signature;
mod webhook;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

pub use config::{VeriffConfig, DEFAULT_BASE_URL};
pub use mapping::{retryable, status_of, FINAL_REASON_CODES, RESUBMISSION_LIMIT};
pub use signature::sign;

use self::client::{Decision, VeriffClient};
use self::webhook::{Hint, Progress};
use super::{
    AuthError, InterpretError, Interpreted, KycProvider, Locator, Plugin, ProviderError,
    ProviderEvent, RawWebhook, StartRequest, Started,
};
use crate::domain::request::{Applicant, ApplicantField};
use crate::domain::{
    Observation, ProviderCopy, ProviderName, Status, Verification, VerificationId,
};

pub const NAME: ProviderName = ProviderName::from_static("veriff");

/// The registry's entry.
pub const PLUGIN: Plugin = Plugin {
    name: NAME,
    configure: config::configure,
    secrets: config::SECRETS,
};

pub struct VeriffAdapter {
    client: VeriffClient,
}

/// Our id where Veriff echoes it in `vendorData`, else the session's.
fn locator(vendor_data: Option<&str>, session_id: &str) -> Locator {
    vendor_data
        .and_then(|v| VerificationId::parse(v).ok())
        .map_or_else(
            || Locator::ProviderRef(session_id.to_owned()),
            Locator::Ours,
        )
}

impl VeriffAdapter {
    pub fn new(config: VeriffConfig, http: reqwest::Client) -> Self {
        Self {
            client: VeriffClient::new(config, http),
        }
    }

    /// Open a session for this verification with this prefill; its page returns to `return_url`.
    async fn open_session(
        &self,
        verification_id: &VerificationId,
        applicant: &Applicant,
        return_url: Option<&url::Url>,
    ) -> Result<Started, ProviderError> {
        let mut verification = Map::new();
        if let Some(url) = return_url {
            verification.insert("callback".into(), url.as_str().into());
        }
        // Our id only: never anything personal in vendorData, which Veriff echoes everywhere.
        verification.insert("vendorData".into(), verification_id.as_str().into());
        if let Some(person) = mapping::person(applicant) {
            verification.insert("person".into(), Value::Object(person));
        }
        let created = self
            .client
            .create_session(&json!({ "verification": verification }))
            .await?;
        // The session id and its URL open the person's session: neither is logged.
        tracing::info!(verification_id = %verification_id, "veriff session created");
        Ok(Started {
            provider_ref: created.id,
            verification_url: Some(created.url),
            initial: Observation {
                status: Status::Pending,
                raw_status: "session created".into(),
                reason: None,
                required_actions: Vec::new(),
                occurred_at: Utc::now(),
                decision_ref: None,
            },
        })
    }

    /// The decision Veriff has now for the session a webhook names. A decision of another
    /// session is a borrowed verdict and a session Veriff does not know a forged name: both
    /// are malformed, and nothing is applied.
    async fn latest_decision(&self, session_id: &str) -> Result<Option<Decision>, InterpretError> {
        match self.client.decision(session_id).await {
            Ok(Some(d)) if d.id != session_id => {
                let theirs = d
                    .vendor_data
                    .as_deref()
                    .and_then(|v| VerificationId::parse(v).ok());
                tracing::error!(
                    other_verification_id = theirs.as_ref().map_or("-", VerificationId::as_str),
                    "veriff answered a decision of another session (a borrowed verdict); not applied"
                );
                Err(InterpretError::Malformed(
                    "the decision Veriff returned belongs to another session".into(),
                ))
            }
            Ok(latest) => Ok(latest),
            Err(ProviderError::Rejected { .. }) => Err(InterpretError::Malformed(
                "the webhook names a session Veriff does not know".into(),
            )),
            Err(other) => Err(InterpretError::Provider(other)),
        }
    }

    /// A progress event, dated against the decision Veriff has now (see [`mapping::event_time`]).
    async fn progress(
        &self,
        p: Progress,
        event_id: String,
        audit: Value,
    ) -> Result<Interpreted, InterpretError> {
        let latest = self.latest_decision(&p.session_id).await?;
        let ours = p
            .vendor_data
            .as_deref()
            .and_then(|v| VerificationId::parse(v).ok());
        let at = mapping::event_time(
            &p.action,
            p.attempt_id.as_deref(),
            latest.as_ref(),
            ours.as_ref().and_then(mapping::created_at),
            Utc::now(),
        );
        let Some(observation) = mapping::observe_event(&p.action, p.code, at) else {
            return Ok(Interpreted::Ignored {
                event_type: p.action,
            });
        };
        Ok(Interpreted::Event(Box::new(ProviderEvent {
            event_id,
            event_type: p.action,
            locator: locator(p.vendor_data.as_deref(), &p.session_id),
            provider_ref: Some(p.session_id),
            audit,
            occurred_at: at,
            observation,
        })))
    }

    /// A decision webhook: what `GET …/decision` says now, never what the body says.
    ///
    /// When Veriff has no decision to show (`null`), the webhook is acknowledged and ignored,
    /// because every alternative is worse: an `in_review` observation would move a `pending`
    /// or `action_required` verification on the strength of the body alone, and its event id
    /// would be recorded, so Veriff's later redelivery of the same decision would be taken for
    /// a duplicate and never applied; an error would have Veriff retry for a week a body whose
    /// decision may never exist. Nothing is written; the reconciler and `?refresh=true` read
    /// the decision once Veriff has one.
    async fn decision(
        &self,
        session_id: String,
        event_id: String,
        audit: Value,
    ) -> Result<Interpreted, InterpretError> {
        let Some(d) = self.latest_decision(&session_id).await? else {
            tracing::warn!("veriff decision webhook, but no decision readable yet; ignored");
            return Ok(Interpreted::Ignored {
                event_type: "decision (none readable yet)".into(),
            });
        };
        let Some(observation) = mapping::observe_decision(&d, Utc::now()) else {
            return Ok(Interpreted::Ignored {
                event_type: format!("decision {}", d.status.chars().take(40).collect::<String>()),
            });
        };
        Ok(Interpreted::Event(Box::new(ProviderEvent {
            event_id,
            event_type: "decision".into(),
            locator: locator(d.vendor_data.as_deref(), &session_id),
            provider_ref: Some(session_id),
            audit,
            occurred_at: observation.occurred_at,
            observation,
        })))
    }
}

#[async_trait]
impl KycProvider for VeriffAdapter {
    fn name(&self) -> ProviderName {
        NAME
    }

    /// Everything is prefill: the person enters or scans the rest on Veriff's page.
    fn required_fields(&self) -> &'static [ApplicantField] {
        &[]
    }

    async fn start(&self, request: StartRequest<'_>) -> Result<Started, ProviderError> {
        self.open_session(
            request.verification_id,
            request.applicant,
            request.return_url,
        )
        .await
    }

    /// A session's prefill cannot be edited: a correction opens a new session with it, and the
    /// verification continues on the new hosted page.
    async fn resubmit(
        &self,
        verification: &Verification,
        applicant: &Applicant,
        return_url: Option<&url::Url>,
    ) -> Result<Started, ProviderError> {
        self.open_session(&verification.id, applicant, return_url)
            .await
    }

    /// The session's decision; without one, the verification as it stands (no regression).
    async fn current_state(
        &self,
        v: &Verification,
        now: DateTime<Utc>,
    ) -> Result<Observation, ProviderError> {
        let session = v
            .provider_ref
            .as_deref()
            .ok_or_else(|| ProviderError::Unavailable("no Veriff session".into()))?;
        let latest = self.client.decision(session).await.map_err(|e| match e {
            ProviderError::Rejected { .. } => ProviderError::Rejected {
                message: "veriff does not know this verification's session".into(),
                fields: Default::default(),
            },
            other => other,
        })?;
        match latest {
            Some(d) if d.id != session => Err(ProviderError::Unavailable(
                "veriff answered with another session's decision".into(),
            )),
            Some(d) => {
                Ok(mapping::observe_decision(&d, now)
                    .unwrap_or_else(|| mapping::no_decision(v, now)))
            }
            // No decision and a terminal status: nothing Veriff has now could change it.
            None if v.status.is_terminal() => Ok(mapping::no_decision(v, now)),
            None => {
                // No decision: where the person got to, from the session's attempts.
                let attempts = self.client.attempts(session).await?;
                let latest = attempts.last().map(|a| a.status.as_str());
                Ok(mapping::undecided(v, latest, now))
            }
        }
    }

    /// `DELETE /v1/sessions/{id}`, where Veriff enabled it for the integration.
    async fn erase(&self, v: &Verification) -> Result<ProviderCopy, ProviderError> {
        match v.provider_ref.as_deref() {
            Some(session) => self.client.delete_session(session).await,
            None => Ok(ProviderCopy::Deleted),
        }
    }

    fn authenticate(&self, webhook: &RawWebhook<'_>, _now: DateTime<Utc>) -> Result<(), AuthError> {
        webhook::authenticate(self.client.config(), webhook)
    }

    async fn interpret(&self, webhook: &RawWebhook<'_>) -> Result<Interpreted, InterpretError> {
        match webhook::read(webhook.body)? {
            Hint::Ignored { event_type } => Ok(Interpreted::Ignored { event_type }),
            Hint::Event {
                progress,
                event_id,
                audit,
            } => self.progress(progress, event_id, audit).await,
            Hint::Decision {
                session_id,
                event_id,
                audit,
            } => self.decision(session_id, event_id, audit).await,
        }
    }

    /// The person and document of the session's decision (see [`kyc_data`]).
    async fn kyc_data(
        &self,
        v: &Verification,
    ) -> Result<Option<crate::domain::kyc_data::KycData>, ProviderError> {
        kyc_data::read(&self.client, v).await
    }
}
