//! `POST /v1/webhooks/{provider}`: authenticate over the raw bytes, interpret (re-fetching where
//! the body is not signed), deduplicate, apply the transition rules, acknowledge once durable.
//!
//! DynamoDB round trips: 2 (one BatchGetItem for the verification and the event's dedupe record,
//! one write), plus one GetItem when the provider does not echo our id back. Where the body names
//! its event and verification (see `KycProvider::peek`), that BatchGetItem is made before the
//! provider is called, so a redelivery costs no provider call, and reused when it applies.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::keys::concurrent_update;
use super::RequestCtx;
use crate::clock::Clock;
use crate::domain::{ProviderName, Source, Transition, Verification, VerificationId};
use crate::error::{ApiError, ErrorCode};
use crate::provider::{
    AuthError, InterpretError, Interpreted, KycProvider, Locator, ProviderEvent, Providers,
    RawWebhook,
};
use crate::store::{backoff, EventContext, EventLog, EventRecord, SaveOutcome};

/// Attempts at applying one event when concurrent writers keep winning the version race.
const MAX_ATTEMPTS: u32 = 5;

/// What a webhook did; every variant is acknowledged with 200.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookAck {
    Applied {
        verification_id: VerificationId,
        outcome: &'static str,
    },
    Duplicate,
    Ignored,
    /// Authentic but never processable (malformed, or about another provider's verification):
    /// acknowledged so the provider stops retrying, logged and counted.
    Unprocessable,
    /// Too old to wait for: the verification never appeared within the grace period.
    Orphaned,
}

impl WebhookAck {
    pub fn label(&self) -> &'static str {
        match self {
            Self::Applied { outcome, .. } => outcome,
            Self::Duplicate => "duplicate",
            Self::Ignored => "ignored",
            Self::Unprocessable => "unprocessable",
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

pub struct IngestWebhook {
    events: Arc<dyn EventLog>,
    providers: Providers,
    clock: Arc<dyn Clock>,
    /// How long an event for a verification we cannot find is answered 5xx (so it is retried).
    grace: Duration,
    /// How far in the future a body's event time may lie before the receive time replaces it.
    max_skew: Duration,
    /// How long processed events are kept for deduplication and audit.
    retention: Duration,
    /// How long the provider calls of one delivery (the re-fetch) may take together.
    budget: std::time::Duration,
}

/// What was read for the event and verification a body names, before the provider was called.
struct Preloaded {
    verification_id: VerificationId,
    /// The provider reference it was found by, when the body did not name our id.
    provider_ref: Option<String>,
    event_id: String,
    context: EventContext,
}

/// One event's facts while it is applied.
struct Applying<'a> {
    provider: &'a ProviderName,
    event: &'a ProviderEvent,
    verification_id: &'a VerificationId,
    now: DateTime<Utc>,
}

impl Applying<'_> {
    fn record(&self, outcome: &'static str, retention: Duration) -> EventRecord {
        EventRecord {
            provider: self.provider.clone(),
            event_id: self.event.event_id.clone(),
            event_type: self.event.event_type.clone(),
            verification_id: self.verification_id.clone(),
            occurred_at: self.event.occurred_at,
            outcome,
            audit: Some(self.event.audit.to_string()),
            received_at: self.now,
            expires_at: self.now + retention,
        }
    }
}

impl IngestWebhook {
    pub fn new(
        events: Arc<dyn EventLog>,
        providers: Providers,
        clock: Arc<dyn Clock>,
        grace: std::time::Duration,
        max_skew: std::time::Duration,
        retention: std::time::Duration,
    ) -> Self {
        Self {
            events,
            providers,
            clock,
            grace: Duration::from_std(grace).unwrap_or(Duration::hours(1)),
            max_skew: Duration::from_std(max_skew).unwrap_or(Duration::minutes(5)),
            retention: Duration::from_std(retention).unwrap_or(Duration::days(7)),
            budget: super::DEFAULT_PROVIDER_BUDGET,
        }
    }

    /// How long the provider calls of one delivery may take together.
    pub fn with_budget(mut self, budget: std::time::Duration) -> Self {
        self.budget = budget;
        self
    }

    pub async fn run(
        &self,
        provider: &str,
        webhook: RawWebhook<'_>,
        ctx: &RequestCtx,
    ) -> Result<WebhookAck, ApiError> {
        let now = self.clock.now();
        let adapter = self
            .providers
            .find(provider)
            .ok_or_else(|| ApiError::not_found("webhook route"))?;
        let name = adapter.name();
        authenticate(adapter.as_ref(), &webhook, now, ctx)?;
        let preloaded = self.preload(adapter.as_ref(), &name, &webhook).await?;
        if let Some(p) = preloaded.as_ref().filter(|p| p.context.already_processed) {
            tracing::info!(provider = %name, event_id = %p.event_id, verification_id = %p.verification_id, "duplicate webhook");
            return Ok(WebhookAck::Duplicate);
        }
        let mut event = match interpret(adapter.as_ref(), &webhook, ctx, self.budget).await? {
            Reading::Event(event) => event,
            Reading::Ignored => return Ok(WebhookAck::Ignored),
            Reading::Unprocessable => return Ok(unprocessable(&name)),
        };
        if clamp_future(&mut event, now, self.max_skew) {
            tracing::warn!(provider = %name, event_id = %event.event_id, "webhook event time in the future; the receive time is used");
        }
        // A reference the preload already looked up is not looked up again.
        let known = |r: &String| {
            preloaded
                .as_ref()
                .filter(|p| p.provider_ref.as_ref() == Some(r))
                .map(|p| p.verification_id.clone())
        };
        let found = match &event.locator {
            Locator::Ours(id) => Some(id.clone()),
            Locator::ProviderRef(r) => match known(r) {
                Some(id) => Some(id),
                None => self.events.find_by_provider_ref(&name, r).await?,
            },
        };
        let Some(verification_id) = found else {
            return self.not_found_yet(&name, &event, now);
        };
        let applying = Applying {
            provider: &name,
            event: &event,
            verification_id: &verification_id,
            now,
        };
        self.apply(&applying, preloaded).await
    }

    /// The dedupe record and verification of the event the body names, when the provider can
    /// say which without a call: read before `interpret` calls the provider.
    async fn preload(
        &self,
        adapter: &dyn KycProvider,
        name: &ProviderName,
        webhook: &RawWebhook<'_>,
    ) -> Result<Option<Preloaded>, ApiError> {
        let Some(peek) = adapter.peek(webhook) else {
            return Ok(None);
        };
        let (found, provider_ref) = match peek.locator {
            Locator::Ours(id) => (Some(id), None),
            Locator::ProviderRef(r) => (self.events.find_by_provider_ref(name, &r).await?, Some(r)),
        };
        let Some(verification_id) = found else {
            return Ok(None);
        };
        let context = self
            .events
            .load_for_event(&verification_id, name, &peek.event_id)
            .await?;
        Ok(Some(Preloaded {
            verification_id,
            provider_ref,
            event_id: peek.event_id,
            context,
        }))
    }

    /// A well-formed event for a verification we cannot find: 503 during the grace period so
    /// the provider retries (no event is lost to a create/webhook race), then dropped.
    fn not_found_yet(
        &self,
        name: &ProviderName,
        event: &ProviderEvent,
        now: DateTime<Utc>,
    ) -> Result<WebhookAck, ApiError> {
        if now - event.occurred_at < self.grace {
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
    }

    /// Deduplicate, apply the transition rules and store the event with its effect, re-reading
    /// when a concurrent writer changed the verification first.
    /// The first attempt reuses what was preloaded when it was read for this very event.
    async fn apply(
        &self,
        a: &Applying<'_>,
        preloaded: Option<Preloaded>,
    ) -> Result<WebhookAck, ApiError> {
        let mut preloaded = preloaded
            .filter(|p| p.verification_id == *a.verification_id && p.event_id == a.event.event_id)
            .map(|p| p.context);
        for attempt in 0..MAX_ATTEMPTS {
            let loaded = match preloaded.take() {
                Some(context) => context,
                None => {
                    self.events
                        .load_for_event(a.verification_id, a.provider, &a.event.event_id)
                        .await?
                }
            };
            if loaded.already_processed {
                tracing::info!(provider = %a.provider, event_id = %a.event.event_id, verification_id = %a.verification_id, "duplicate webhook");
                return Ok(WebhookAck::Duplicate);
            }
            let Some(verification) = loaded.verification else {
                return self.not_found_yet(a.provider, a.event, a.now);
            };
            if verification.provider != *a.provider {
                tracing::error!(provider = %a.provider, verification_id = %a.verification_id, "webhook names a verification of another provider");
                return Ok(unprocessable(a.provider));
            }
            match self.save(a, verification).await? {
                (SaveOutcome::Saved, outcome) => {
                    return Ok(WebhookAck::Applied {
                        verification_id: a.verification_id.clone(),
                        outcome,
                    })
                }
                (SaveOutcome::DuplicateEvent, _) => return Ok(WebhookAck::Duplicate),
                (SaveOutcome::VersionConflict, _) => backoff(attempt).await,
            }
        }
        tracing::warn!(verification_id = %a.verification_id, "webhook lost the version race repeatedly; asking for a retry");
        Err(concurrent_update(
            "the verification is being updated concurrently; retry",
        ))
    }

    /// One attempt at storing the event and what it does to the verification.
    async fn save(
        &self,
        a: &Applying<'_>,
        mut verification: Verification,
    ) -> Result<(SaveOutcome, &'static str), ApiError> {
        if a.event.provider_ref.is_some() && a.event.provider_ref != verification.provider_ref {
            // An event of a provider record the verification has left (a PATCH opened a new
            // one): kept for deduplication, never applied.
            let mut record = a.record("other_attempt", self.retention);
            if verification.redaction.is_some() {
                record.audit = None;
            }
            let saved = self.events.save_event(&record, None).await?;
            return Ok((saved, "other_attempt"));
        }
        let transition = verification.apply(
            &a.event.observation,
            Source::Webhook,
            Some(&a.event.event_id),
            a.now,
        );
        let outcome = outcome_label(transition);
        let mut record = a.record(outcome, self.retention);
        if verification.redaction.is_some() {
            // Nothing personal is kept for a redacted verification, not even minimised.
            record.audit = None;
        }
        let effect = verification.customer_effect(transition);
        let updated = transition.writes().then_some((&verification, effect));
        let saved = self.events.save_event(&record, updated).await?;
        if saved == SaveOutcome::Saved {
            tracing::info!(
                provider = %a.provider,
                event_type = %a.event.event_type,
                verification_id = %a.verification_id,
                status = %verification.status,
                outcome,
                "webhook applied"
            );
        }
        Ok((saved, outcome))
    }
}

/// Check the provider's credentials over the raw bytes; a failure is 401 and writes nothing.
fn authenticate(
    adapter: &dyn KycProvider,
    webhook: &RawWebhook<'_>,
    now: DateTime<Utc>,
    ctx: &RequestCtx,
) -> Result<(), ApiError> {
    adapter.authenticate(webhook, now).map_err(|e| {
        tracing::warn!(provider = %adapter.name(), reason = %e, request_id = %ctx.request_id, "webhook refused");
        let message = match e {
            AuthError::Missing => "webhook credentials are missing",
            AuthError::Invalid => "webhook credentials are invalid",
        };
        ApiError::new(ErrorCode::Unauthorized, message)
    })
}

/// An event time more than `max_skew` after `now` is not believed (a body's time is not signed
/// by every provider, and one far in the future would make every later event stale): both the
/// event's and its observation's become `now`. Whether anything was clamped.
fn clamp_future(event: &mut ProviderEvent, now: DateTime<Utc>, max_skew: Duration) -> bool {
    let latest = now + max_skew;
    let mut clamped = false;
    for at in [&mut event.occurred_at, &mut event.observation.occurred_at] {
        if *at > latest {
            *at = now;
            clamped = true;
        }
    }
    clamped
}

/// What an authenticated webhook turned out to be.
enum Reading {
    Event(Box<ProviderEvent>),
    Ignored,
    Unprocessable,
}

/// Counted for the alarm on unprocessable deliveries (an authentic body we cannot read means the
/// provider changed its format, or its credentials leaked).
fn unprocessable(provider: &ProviderName) -> WebhookAck {
    crate::telemetry::count("UnprocessableWebhooks", provider.as_str());
    WebhookAck::Unprocessable
}

/// The provider's reading of an authenticated webhook.
async fn interpret(
    adapter: &dyn KycProvider,
    webhook: &RawWebhook<'_>,
    ctx: &RequestCtx,
    budget: std::time::Duration,
) -> Result<Reading, ApiError> {
    // The re-fetch (a token, then reads) shares the request's one provider deadline.
    match ctx.provider_call(budget, adapter.interpret(webhook)).await {
        Ok(Interpreted::Event(event)) => Ok(Reading::Event(event)),
        Ok(Interpreted::Ignored { event_type }) => {
            tracing::info!(provider = %adapter.name(), event_type = %event_type, "webhook event type ignored");
            Ok(Reading::Ignored)
        }
        Err(InterpretError::Malformed(why)) => {
            // Authentic, so retrying cannot help: acknowledged, logged, counted.
            tracing::error!(provider = %adapter.name(), reason = %why, "authenticated webhook that cannot be processed");
            Ok(Reading::Unprocessable)
        }
        Err(InterpretError::Provider(e)) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::domain::{Observation, Status};

    fn event(at: DateTime<Utc>) -> ProviderEvent {
        ProviderEvent {
            event_id: "e-1".into(),
            event_type: "t".into(),
            locator: Locator::ProviderRef("r".into()),
            provider_ref: None,
            audit: serde_json::Value::Null,
            observation: Observation {
                status: Status::InProgress,
                raw_status: "s".into(),
                reason: None,
                required_actions: Vec::new(),
                occurred_at: at,
                decision_ref: None,
            },
            occurred_at: at,
        }
    }

    #[test]
    fn event_times_beyond_the_skew_become_the_receive_time_and_others_stay() {
        let now = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let skew = Duration::seconds(300);
        let far = Utc.with_ymd_and_hms(2100, 1, 1, 0, 0, 0).unwrap();
        let mut e = event(far);
        assert!(clamp_future(&mut e, now, skew));
        assert_eq!((e.occurred_at, e.observation.occurred_at), (now, now));
        for at in [now - Duration::days(3), now, now + skew] {
            let mut e = event(at);
            assert!(!clamp_future(&mut e, now, skew));
            assert_eq!((e.occurred_at, e.observation.occurred_at), (at, at));
        }
        // Either time alone is clamped too.
        let mut e = event(now);
        e.observation.occurred_at = far;
        assert!(clamp_future(&mut e, now, skew));
        assert_eq!(e.observation.occurred_at, now);
    }
}
