//! notify: the table's change stream → events. For each changed verification, the events of the
//! change ([`crate::events::events_of_change`]) are appended to the catch-up feed, queued for
//! delivery and, when a bus is configured, put on it, in that order. What fails is reported from
//! the first record not fully published on, so the stream hands that record and the ones after it
//! again (ids never change: a consumer sees a repeat, never a loss).

use std::sync::Arc;

use chrono::Duration;

use crate::clock::Clock;
use crate::domain::Verification;
use crate::events::feed::{shard_of, FeedPosition, SETTLE, WRITE_BATCH};
use crate::events::{events_of_change, OutboundEvent};
use crate::outbound::{DeliveryQueue, EventBus, OutgoingEvent};
use crate::store::{EventFeedWriter, FeedEntry, StoreError};

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
        let published = self.publish(&events).await;
        let retry_from = published.err().map(|failed_event| {
            let record = events.get(failed_event).map_or(0, |(i, _)| *i);
            changes[record].record_id.clone()
        });
        NotifyReport {
            events: events.len(),
            retry_from,
        }
    }

    /// Append events to the feed at the time of the write. A write that took longer than half
    /// the feed's settle window may have landed behind a cursor already handed out: it is made
    /// again at a later position (readers dedupe on the event id), at most three times.
    async fn append_in_time(
        &self,
        events: &[(usize, OutboundEvent)],
        bodies: &[String],
    ) -> Result<(), StoreError> {
        let in_time = Duration::from_std(SETTLE / 2).unwrap_or_else(|_| Duration::zero());
        for _ in 0..3 {
            let at = self.clock.now();
            let entries: Vec<FeedEntry> = events
                .iter()
                .zip(bodies)
                .enumerate()
                .map(|(ordinal, ((_, e), body))| FeedEntry {
                    shard: shard_of(&e.verification_id),
                    position: FeedPosition::new(
                        at,
                        u16::try_from(ordinal).unwrap_or(u16::MAX),
                        e.id.clone(),
                    ),
                    body: body.clone(),
                    expires_at: at + self.feed_retention,
                })
                .collect();
            self.feed.append(&entries).await?;
            if self.clock.now() - at < in_time {
                return Ok(());
            }
            tracing::warn!(
                events = entries.len(),
                "a feed write outlasted half the settle window: written again"
            );
        }
        Err(StoreError::Unfinished {
            operation: "BatchWriteItem",
            why: "the feed writes kept outlasting the settle window",
        })
    }

    /// Feed, queue, bus; `Err(i)`: events from `i` on may not have gone everywhere.
    async fn publish(&self, events: &[(usize, OutboundEvent)]) -> Result<(), usize> {
        if events.is_empty() {
            return Ok(());
        }
        let bodies: Vec<String> = events.iter().map(|(_, e)| e.to_json()).collect();
        for (chunk, (events, bodies)) in events
            .chunks(WRITE_BATCH)
            .zip(bodies.chunks(WRITE_BATCH))
            .enumerate()
        {
            if let Err(e) = self.append_in_time(events, bodies).await {
                tracing::error!(error = %crate::telemetry::chain(&e), "events could not be appended to the feed");
                return Err(chunk * WRITE_BATCH);
            }
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;

    use super::*;
    use crate::clock::ManualClock;
    use crate::domain::verification::fixtures::{fresh, obs, t};
    use crate::domain::{Source, Status};
    use crate::outbound::PublishError;

    /// Records what it is given; fails from the `fail_from`th event of a call on.
    #[derive(Default)]
    struct Sink {
        got: Mutex<Vec<String>>,
        fail_from: Option<usize>,
    }

    impl Sink {
        fn take(&self, ids: Vec<String>) -> Result<(), usize> {
            let n = self.fail_from.map_or(ids.len(), |f| f.min(ids.len()));
            self.got.lock().unwrap().extend(ids.into_iter().take(n));
            self.fail_from.map_or(Ok(()), Err)
        }
    }

    #[async_trait]
    impl EventFeedWriter for Sink {
        async fn append(&self, entries: &[FeedEntry]) -> Result<(), StoreError> {
            let ids = entries.iter().map(|e| e.body.clone()).collect();
            self.take(ids).map_err(|_| StoreError::corrupt("feed down"))
        }
    }

    #[async_trait]
    impl DeliveryQueue for Sink {
        async fn enqueue(&self, events: &[OutgoingEvent<'_>]) -> Result<(), PublishError> {
            self.take(events.iter().map(|e| e.id.to_owned()).collect())
                .map_err(|first_failed| PublishError {
                    service: "test",
                    operation: "enqueue",
                    first_failed,
                    source: None,
                })
        }
    }

    /// Two records of one verification (created, then in review), then an approval of another.
    fn changes() -> Vec<StreamChange> {
        let a = fresh();
        let mut a2 = a.clone();
        a2.apply(&obs(Status::InReview, 5), Source::Webhook, None, t(6));
        let mut b = fresh();
        let b_old = b.clone();
        b.apply(&obs(Status::Approved, 7), Source::Webhook, None, t(8));
        [(None, a.clone()), (Some(a), a2), (Some(b_old), b)]
            .into_iter()
            .enumerate()
            .map(|(i, (old, new))| StreamChange {
                record_id: format!("seq-{i}"),
                old,
                new: Some(new),
            })
            .collect()
    }

    fn notify(feed: Arc<Sink>, queue: Arc<Sink>) -> Notify {
        Notify {
            feed,
            queue: Some(queue),
            bus: None,
            clock: Arc::new(ManualClock::new(t(100))),
            feed_retention: Duration::days(30),
        }
    }

    #[tokio::test]
    async fn every_change_is_appended_then_queued_in_order() {
        let (feed, queue) = (Arc::new(Sink::default()), Arc::new(Sink::default()));
        let report = notify(feed.clone(), queue.clone()).run(&changes()).await;
        assert_eq!(
            report,
            NotifyReport {
                events: 3,
                retry_from: None
            }
        );
        assert_eq!(feed.got.lock().unwrap().len(), 3);
        assert_eq!(queue.got.lock().unwrap().len(), 3);
    }

    #[tokio::test]
    async fn a_failed_enqueue_hands_the_stream_back_from_the_record_of_the_first_event_not_queued()
    {
        let feed = Arc::new(Sink::default());
        let queue = Arc::new(Sink {
            fail_from: Some(1),
            ..Sink::default()
        });
        let report = notify(feed, queue.clone()).run(&changes()).await;
        assert_eq!(report.retry_from.as_deref(), Some("seq-1"));
        assert_eq!(
            queue.got.lock().unwrap().len(),
            1,
            "the first record's event went out"
        );
    }

    #[tokio::test]
    async fn a_failed_feed_write_queues_nothing_and_hands_back_the_first_record() {
        let feed = Arc::new(Sink {
            fail_from: Some(0),
            ..Sink::default()
        });
        let queue = Arc::new(Sink::default());
        let report = notify(feed, queue.clone()).run(&changes()).await;
        assert_eq!(report.retry_from.as_deref(), Some("seq-0"));
        assert!(queue.got.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn deleted_items_and_refreshes_publish_nothing() {
        let v = fresh();
        let deleted = StreamChange {
            record_id: "seq-0".into(),
            old: Some(v.clone()),
            new: None,
        };
        let same = StreamChange {
            record_id: "seq-1".into(),
            old: Some(v.clone()),
            new: Some(v),
        };
        let (feed, queue) = (Arc::new(Sink::default()), Arc::new(Sink::default()));
        let report = notify(feed.clone(), queue).run(&[deleted, same]).await;
        assert_eq!(report, NotifyReport::default());
        assert!(feed.got.lock().unwrap().is_empty());
    }
}
