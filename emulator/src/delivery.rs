//! Webhooks: each one a provider emits is recorded, then sent the way the standing chaos settings
//! say (at once, twice, late, out of order, or never); any can be sent again by hand. The
//! provider decides the body when it emits, and the URL and authentication at each attempt.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::util::iso_millis;
use crate::{Emulator, EmulatorConfig};

/// One webhook the emulator produced, and every attempt to deliver it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Delivery {
    pub seq: usize,
    /// The provider's name: decides the URL and how the delivery is authenticated.
    pub provider: &'static str,
    pub event_id: String,
    pub event_type: String,
    pub resource_id: String,
    pub created_utc: String,
    #[serde(skip)]
    pub body: String,
    pub attempts: Vec<Attempt>,
    /// When the first attempt was made (and signed), for providers that sign retries with it.
    #[serde(skip)]
    pub(crate) first_attempt_at: Option<DateTime<Utc>>,
}

impl Delivery {
    /// The exact body that is sent (tests build forged variants from it).
    pub fn body_for_tests(&self) -> String {
        self.body.clone()
    }
}

/// When an attempt is made: `now`, and when the delivery's first attempt was (`now` itself for
/// the first), so a provider can sign a retry with its first time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttemptTime {
    pub now: DateTime<Utc>,
    pub first: DateTime<Utc>,
}

impl AttemptTime {
    /// An attempt that is its delivery's first.
    pub fn first_at(now: DateTime<Utc>) -> Self {
        Self { now, first: now }
    }

    pub fn is_first(&self) -> bool {
        self.now == self.first
    }
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Attempt {
    pub status: Option<u16>,
    pub at: String,
}

/// A webhook as a provider builds it, in its own envelope.
pub(crate) struct Event {
    pub event_id: String,
    pub event_type: String,
    pub resource_id: String,
    /// The event's time, as the provider writes it.
    pub created_utc: String,
    pub body: String,
}

impl Emulator {
    /// Record a webhook of `provider` and send it the way the settings say. `build` gets the
    /// event's time, strictly after the previous event's (at least `tick` later), as they would
    /// be across real steps; it runs with the state locked, so times and sequence agree.
    pub(crate) async fn emit(
        &self,
        provider: &'static str,
        tick: chrono::Duration,
        build: impl FnOnce(DateTime<Utc>) -> Event,
    ) {
        let seq = {
            let mut inner = self.inner();
            let mut at = Utc::now();
            if let Some(last) = inner.last_event_at {
                if at <= last {
                    at = last + tick;
                }
            }
            inner.last_event_at = Some(at);
            let event = build(at);
            let seq = inner.deliveries.len();
            inner.deliveries.push(Delivery {
                seq,
                provider,
                event_id: event.event_id,
                event_type: event.event_type,
                resource_id: event.resource_id,
                created_utc: event.created_utc,
                body: event.body,
                attempts: Vec::new(),
                first_attempt_at: None,
            });
            seq
        };
        self.dispatch(seq).await;
    }

    /// Send a newly recorded webhook the way the settings say.
    async fn dispatch(&self, seq: usize) {
        let config = self.config();
        if !config.auto_deliver || config.drop_webhooks {
            return;
        }
        if config.reorder_webhooks {
            // Hold this one; the next one goes first. A lone held webhook goes after a moment.
            let previous = self.inner().held.replace(seq);
            match previous {
                Some(prev) => {
                    self.inner().held = None;
                    self.send(seq, &config).await;
                    self.send(prev, &config).await;
                }
                None => {
                    let emu = self.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        let still = emu.inner().held.take_if(|h| *h == seq);
                        if still.is_some() {
                            let config = emu.config();
                            emu.send(seq, &config).await;
                        }
                    });
                }
            }
            return;
        }
        if !config.webhook_delay.is_zero() {
            let emu = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(config.webhook_delay).await;
                emu.send(seq, &config).await;
            });
            return;
        }
        self.send(seq, &config).await;
    }

    async fn send(&self, seq: usize, config: &EmulatorConfig) {
        self.deliver(seq).await;
        if config.duplicate_webhooks {
            self.deliver(seq).await;
        }
    }

    /// Send delivery `seq` (again) to its provider's webhook URL, authenticated the provider's
    /// way; returns the answer's status. `None`: no such delivery, no URL, or no answer.
    pub async fn deliver(&self, seq: usize) -> Option<u16> {
        let config = self.config();
        let now = Utc::now();
        let (provider, body, first) = {
            let mut inner = self.inner();
            let d = inner.deliveries.get_mut(seq)?;
            let first = *d.first_attempt_at.get_or_insert(now);
            (d.provider, d.body.clone(), first)
        };
        let at = AttemptTime { now, first };
        let request = config
            .providers
            .webhook_request(provider, &self.0.http, &body, at)?;
        let status = request
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .ok()
            .map(|r| r.status().as_u16());
        let at = iso_millis(Utc::now());
        if let Some(d) = self.inner().deliveries.get_mut(seq) {
            d.attempts.push(Attempt { status, at });
        }
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(at: DateTime<Utc>) -> Event {
        Event {
            event_id: format!("e-{}", at.timestamp_micros()),
            event_type: "thing.happened".into(),
            resource_id: "r-1".into(),
            created_utc: iso_millis(at),
            body: "{}".into(),
        }
    }

    #[tokio::test]
    async fn when_events_come_in_the_same_instant_should_get_increasing_times_and_sequence() {
        let emu = Emulator::new(EmulatorConfig::default());
        let mut times = Vec::new();
        for _ in 0..5 {
            emu.emit("test", chrono::Duration::milliseconds(1), |at| {
                times.push(at);
                event(at)
            })
            .await;
        }
        assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
        let seqs: Vec<usize> = emu.deliveries().iter().map(|d| d.seq).collect();
        assert_eq!(seqs, [0, 1, 2, 3, 4]);
    }

    #[tokio::test]
    async fn when_a_delivery_has_no_known_provider_should_not_be_attempted() {
        let emu = Emulator::new(EmulatorConfig::default());
        emu.emit("test", chrono::Duration::milliseconds(1), event)
            .await;
        assert_eq!(emu.deliver(0).await, None);
        assert_eq!(emu.deliver(7).await, None);
        assert!(emu.deliveries()[0].attempts.is_empty());
    }
}
