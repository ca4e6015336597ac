//! notify: the table's change stream → events. For each changed verification, the events of the
//! change ([`crate::events::events_of_change`]) are appended to the catch-up feed, queued for
//! delivery and, when a bus is configured, put on it, in that order. What fails is reported from
//! the first record not fully published on, so the stream hands that record and the ones after it
//! again (ids never change: a consumer sees a repeat, never a loss).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::clock::Clock;
use crate::domain::Verification;
use crate::events::feed::{shard_of, FeedPosition};
use crate::events::{events_of_change, OutboundEvent};
use crate::outbound::{DeliveryQueue, EventBus, OutgoingEvent};
use crate::store::{EventFeedWriter, FeedEntry};

/// One record of the stream: a verification item's images before and after a write.
#[derive(Debug, Clone)]
pub struct StreamChange {
    /// The record's stream sequence number (what a batch failure names).
    pub record_id: String,
    pub old: Option<Verification>,
    /// `None` for a deleted item (no event).
    pub new: Option<Verification>,
}

/// What a batch did: how many events it published and, when something failed, the record from
/// which the stream must hand the batch again.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct NotifyReport {
    pub events: usize,
    pub retry_from: Option<String>,
}

pub struct Notify {
    pub feed: Arc<dyn EventFeedWriter>,
    /// The delivery queue, when a webhook endpoint is configured.
    pub queue: Option<Arc<dyn DeliveryQueue>>,
    pub bus: Option<Arc<dyn EventBus>>,
    pub clock: Arc<dyn Clock>,
    /// How long the feed keeps an event (30 days by default).
    pub feed_retention: Duration,
}

impl Notify {
    pub async fn run(&self, changes: &[StreamChange]) -> NotifyReport {
        // Each event with the index of the record it came from.
        let events: Vec<(usize, OutboundEvent)> = changes
            .iter()
            .enumerate()
            .filter_map(|(i, c)| Some((i, c.new.as_ref()?, c.old.as_ref())))
            .flat_map(|(i, new, old)| events_of_change(old, new).into_iter().map(move |e| (i, e)))
            .collect();
        let published = self.publish(&events, self.clock.now()).await;
        let retry_from = published.err().map(|failed_event| {
            let record = events.get(failed_event).map_or(0, |(i, _)| *i);
            changes[record].record_id.clone()
        });
        NotifyReport {
            events: events.len(),
            retry_from,
        }
    }

    /// Feed, queue, bus; `Err(i)`: events from `i` on may not have gone everywhere.
    async fn publish(
        &self,
        events: &[(usize, OutboundEvent)],
        now: DateTime<Utc>,
    ) -> Result<(), usize> {
        if events.is_empty() {
            return Ok(());
        }
        let bodies: Vec<String> = events.iter().map(|(_, e)| e.to_json()).collect();
        let entries: Vec<FeedEntry> = events
            .iter()
            .zip(&bodies)
            .map(|((_, e), body)| FeedEntry {
                shard: shard_of(&e.verification_id),
                position: FeedPosition::new(now, e.id.clone()),
                body: body.clone(),
                expires_at: now + self.feed_retention,
            })
            .collect();
        if let Err(e) = self.feed.append(&entries).await {
            tracing::error!(error = %crate::telemetry::chain(&e), "events could not be appended to the feed");
            return Err(0);
        }
        let outgoing: Vec<OutgoingEvent<'_>> = events
            .iter()
            .zip(&bodies)
            .map(|((_, e), body)| OutgoingEvent {
                id: e.id.as_str(),
                event_type: e.event_type(),
                body,
            })
            .collect();
        let queued = match &self.queue {
            Some(queue) => queue.enqueue(&outgoing).await,
            None => Ok(()),
        };
        let put = match &self.bus {
            Some(bus) => bus.publish(&outgoing).await,
            None => Ok(()),
        };
        let first_failed = [queued, put]
            .into_iter()
            .filter_map(|r| {
                r.map_err(|e| {
                    tracing::error!(error = %crate::telemetry::chain(&e), "events could not be published");
                    e.first_failed
                })
                .err()
            })
            .min();
        for (_, e) in events.iter().take(first_failed.unwrap_or(events.len())) {
            tracing::info!(event_id = %e.id, verification_id = %e.verification_id, status = e.status.as_str(), sequence = e.sequence, "event published");
        }
        first_failed.map_or(Ok(()), Err)
    }
}
