//! `POST /v1/webhooks/{provider}`: authenticate over the raw bytes, interpret (re-fetching where
//! the body is not signed), deduplicate, apply the transition rules, acknowledge once durable.
//!
//! DynamoDB round trips: 2 (one BatchGetItem for the verification and the event's dedupe record,
//! one write), plus one GetItem when the provider does not echo our id back.

use chrono::Duration;

use super::create::{provider_error, store_error};
use super::{App, RequestCtx};
use crate::domain::{ProviderName, Source, Transition, VerificationId};
use crate::error::{ApiError, ErrorCode};
use crate::provider::{AuthError, InterpretError, Interpreted, Locator, ProviderEvent, RawWebhook};
use crate::store::{EventRecord, SaveOutcome};

/// Attempts at applying one event when concurrent writers keep winning the version race.
const MAX_ATTEMPTS: usize = 5;

/// What a webhook did; every variant is acknowledged with 200.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookAck {
    Applied {
        verification_id: VerificationId,
        outcome: &'static str,
    },
    Duplicate,
    Ignored,
    /// Too old to wait for: the verification never appeared within the grace period.
    Orphaned,
}

impl WebhookAck {
    pub fn label(&self) -> &'static str {
        match self {
            Self::Applied { outcome, .. } => outcome,
            Self::Duplicate => "duplicate",
            Self::Ignored => "ignored",
            Self::Orphaned => "orphaned",
        }
    }
}

fn outcome_label(t: Transition) -> &'static str {
    match t {
        Transition::Changed {
            superseded: true, ..
        } => "superseded",
        Transition::Changed { .. } => "changed",
        Transition::Refreshed => "refreshed",
        Transition::Sticky => "sticky",
        Transition::Stale => "stale",
    }
}

impl App {
    fn event_record(
        &self,
        provider: ProviderName,
        event: &ProviderEvent,
        verification_id: &VerificationId,
        outcome: &'static str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> EventRecord {
        EventRecord {
            provider,
            event_id: event.event_id.clone(),
            event_type: event.event_type.clone(),
            verification_id: verification_id.clone(),
            occurred_at: event.occurred_at,
            outcome,
            audit: Some(event.audit.to_string()),
            received_at: now,
            expires_at: now
                + Duration::from_std(self.settings.event_retention).unwrap_or(Duration::days(7)),
        }
    }

    pub async fn ingest_webhook(
        &self,
        provider: &str,
        webhook: RawWebhook<'_>,
        ctx: &RequestCtx,
    ) -> Result<WebhookAck, ApiError> {
        let now = self.clock.now();
        let adapter = ProviderName::parse(provider)
            .and_then(|name| self.providers.get(name))
            .ok_or_else(|| ApiError::not_found("webhook route"))?;
        let name = adapter.name();

        adapter.authenticate(&webhook, now).map_err(|e| {
            tracing::warn!(provider = %name, reason = %e, request_id = %ctx.request_id, "webhook refused");
            let message = match e {
                AuthError::Missing => "webhook credentials are missing",
                AuthError::Invalid => "webhook credentials are invalid",
            };
            ApiError::new(ErrorCode::Unauthorized, message)
        })?;

        let event = match adapter.interpret(&webhook).await {
            Ok(Interpreted::Event(event)) => event,
            Ok(Interpreted::Ignored { event_type }) => {
                tracing::info!(provider = %name, event_type = %event_type, "webhook event type ignored");
                return Ok(WebhookAck::Ignored);
            }
            Err(InterpretError::Malformed(why)) => {
                tracing::warn!(provider = %name, reason = %why, "malformed webhook");
                return Err(ApiError::new(
                    ErrorCode::MalformedJson,
                    "the webhook body is not a valid event",
                ));
            }
            Err(InterpretError::Provider(e)) => return Err(provider_error(e)),
        };

        let verification_id = match &event.locator {
            Locator::Ours(id) => Some(id.clone()),
            Locator::ProviderRef(r) => self
                .store
                .find_by_provider_ref(name, r)
                .await
                .map_err(store_error)?,
        };
        let within_grace = now - event.occurred_at
            < Duration::from_std(self.settings.webhook_grace).unwrap_or(Duration::hours(1));
        let not_found_yet = || {
            if within_grace {
                tracing::warn!(provider = %name, event_id = %event.event_id, "webhook for a verification not found yet; asking for a retry");
                Err(ApiError::new(
                    ErrorCode::VerificationNotFoundYet,
                    "the verification is not known yet; retry later",
                )
                .with_retry_after(30))
            } else {
                tracing::error!(provider = %name, event_id = %event.event_id, "webhook for an unknown verification after the grace period; dropped");
                Ok(WebhookAck::Orphaned)
            }
        };
        let Some(verification_id) = verification_id else {
            return not_found_yet();
        };

        for attempt in 0..MAX_ATTEMPTS {
            let loaded = self
                .store
                .load_for_event(&verification_id, name, &event.event_id)
                .await
                .map_err(store_error)?;
            if loaded.already_processed {
                tracing::info!(provider = %name, event_id = %event.event_id, verification_id = %verification_id, "duplicate webhook");
                return Ok(WebhookAck::Duplicate);
            }
            let Some(mut verification) = loaded.verification else {
                return not_found_yet();
            };
            if verification.provider != name {
                tracing::error!(provider = %name, verification_id = %verification_id, "webhook names a verification of another provider");
                return Err(ApiError::new(
                    ErrorCode::MalformedJson,
                    "the event does not belong to this provider",
                ));
            }
            if event.provider_ref.is_some() && event.provider_ref != verification.provider_ref {
                // An event of a provider record the verification has left (a PATCH opened a new
                // one): kept for deduplication, never applied.
                let record =
                    self.event_record(name, &event, &verification_id, "other_attempt", now);
                return match self
                    .store
                    .save_event(&record, None)
                    .await
                    .map_err(store_error)?
                {
                    SaveOutcome::DuplicateEvent => Ok(WebhookAck::Duplicate),
                    _ => Ok(WebhookAck::Applied {
                        verification_id,
                        outcome: "other_attempt",
                    }),
                };
            }
            let transition = verification.apply(
                &event.observation,
                Source::Webhook,
                Some(&event.event_id),
                now,
            );
            let outcome = outcome_label(transition);
            let record = self.event_record(name, &event, &verification_id, outcome, now);
            let effect = verification.customer_effect(transition);
            let updated = transition.writes().then_some((&verification, effect));
            match self
                .store
                .save_event(&record, updated)
                .await
                .map_err(store_error)?
            {
                SaveOutcome::Saved => {
                    tracing::info!(
                        provider = %name,
                        event_type = %event.event_type,
                        verification_id = %verification_id,
                        status = %verification.status,
                        outcome,
                        "webhook applied"
                    );
                    return Ok(WebhookAck::Applied {
                        verification_id,
                        outcome,
                    });
                }
                SaveOutcome::DuplicateEvent => return Ok(WebhookAck::Duplicate),
                SaveOutcome::VersionConflict => crate::store::backoff(attempt as u32).await,
            }
        }
        tracing::warn!(verification_id = %verification_id, "webhook lost the version race repeatedly; asking for a retry");
        Err(ApiError::new(
            ErrorCode::ConcurrentUpdate,
            "the verification is being updated concurrently; retry",
        )
        .with_retry_after(1))
    }
}
