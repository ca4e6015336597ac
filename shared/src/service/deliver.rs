//! deliver: one attempt per queued event. Each attempt is signed with its own timestamp; a 2xx
//! ends it; anything else hides the message until the next step of the retry schedule (or the
//! endpoint's `Retry-After`, when longer), so the queue hands it back then. After the last
//! attempt the message is left to the queue, whose `maxReceiveCount` moves it to the dead-letter
//! queue. Messages of one batch are attempted at once: a slow endpoint delays none of the others
//! by more than one attempt's timeout.

use std::sync::Arc;

use crate::clock::Clock;
use crate::events::retry::RetrySchedule;
use crate::events::signature::KeyRing;
use crate::events::EventId;
use crate::outbound::{Attempt, DeliveryRetry, Endpoint, SignedDelivery};

/// One message of the delivery queue.
#[derive(Debug, Clone)]
pub struct QueuedDelivery {
    pub message_id: String,
    pub receipt: String,
    /// The event's JSON, exactly as it is to be delivered.
    pub body: String,
    /// Which attempt this is (the queue's receive count, from 1).
    pub attempt: u32,
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Delivered,
    /// Failed; back in the queue after this wait.
    RetryIn(std::time::Duration),
    /// The last attempt failed, or the message can never be delivered: on to the dead-letter
    /// queue.
    Exhausted,
}

pub struct Deliver {
    pub endpoint: Arc<dyn Endpoint>,
    pub retry: Arc<dyn DeliveryRetry>,
    pub keys: Arc<KeyRing>,
    pub schedule: RetrySchedule,
    pub clock: Arc<dyn Clock>,
}

/// The event id a queued body carries (its `webhook-id`).
fn event_id(body: &str) -> Option<EventId> {
    #[derive(serde::Deserialize)]
    struct Head {
        id: String,
    }
    let head: Head = serde_json::from_str(body).ok()?;
    EventId::parse(&head.id).ok()
}

impl Deliver {
    /// Attempt every message at once; the outcome of each, in order.
    pub async fn run(&self, batch: &[QueuedDelivery]) -> Vec<DeliveryOutcome> {
        futures::future::join_all(batch.iter().map(|m| self.attempt(m))).await
    }

    async fn attempt(&self, m: &QueuedDelivery) -> DeliveryOutcome {
        let Some(id) = event_id(&m.body) else {
            tracing::error!(message_id = %m.message_id, "a queued message is not an event: left for the dead-letter queue");
            return self.give_up(m).await;
        };
        let timestamp = self.clock.now().timestamp();
        let delivery = SignedDelivery {
            id: id.as_str(),
            timestamp,
            signature: self.keys.sign(id.as_str(), timestamp, &m.body),
            body: &m.body,
        };
        match self.endpoint.deliver(&delivery).await {
            Attempt::Delivered { status } => {
                tracing::info!(event_id = %id, attempt = m.attempt, status, "event delivered");
                DeliveryOutcome::Delivered
            }
            Attempt::Failed {
                status,
                retry_after,
            } => {
                let unit = f64::from(ulid::Ulid::new().random() as u16) / 65_536.0;
                match self.schedule.after_failed(m.attempt, unit) {
                    Some(step) => {
                        let wait = retry_after.map_or(step, |asked| asked.max(step));
                        tracing::warn!(event_id = %id, attempt = m.attempt, status, retry_in_s = wait.as_secs(), "delivery failed; tried again later");
                        if let Err(e) = self.retry.retry_in(&m.receipt, wait).await {
                            // The queue's own visibility timeout applies instead.
                            tracing::error!(event_id = %id, error = %crate::telemetry::chain(&e), "could not schedule the next attempt");
                        }
                        DeliveryOutcome::RetryIn(wait)
                    }
                    None => {
                        tracing::error!(event_id = %id, attempt = m.attempt, status, "last delivery attempt failed: the event goes to the dead-letter queue");
                        self.give_up(m).await
                    }
                }
            }
        }
    }

    /// Hand the message straight back, so the queue's next receive moves it to the dead-letter
    /// queue.
    async fn give_up(&self, m: &QueuedDelivery) -> DeliveryOutcome {
        if let Err(e) = self
            .retry
            .retry_in(&m.receipt, std::time::Duration::ZERO)
            .await
        {
            tracing::error!(message_id = %m.message_id, error = %crate::telemetry::chain(&e), "could not hand the message back");
        }
        DeliveryOutcome::Exhausted
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use async_trait::async_trait;

    use super::*;
    use crate::clock::ManualClock;
    use crate::domain::verification::fixtures::{fresh, t};
    use crate::events::events_of_change;
    use crate::events::signature::SigningKeys;
    use crate::outbound::PublishError;

    struct Answers(Attempt);

    #[async_trait]
    impl Endpoint for Answers {
        async fn deliver(&self, _: &SignedDelivery<'_>) -> Attempt {
            self.0.clone()
        }
    }

    #[derive(Default)]
    struct Hidden(Mutex<Vec<Duration>>);

    #[async_trait]
    impl DeliveryRetry for Hidden {
        async fn retry_in(&self, _: &str, delay: Duration) -> Result<(), PublishError> {
            self.0.lock().unwrap().push(delay);
            Ok(())
        }
    }

    fn deliver(answer: Attempt, hidden: Arc<Hidden>) -> Deliver {
        let key = secrecy::SecretString::from("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned());
        Deliver {
            endpoint: Arc::new(Answers(answer)),
            retry: hidden,
            keys: Arc::new(KeyRing::new(SigningKeys::parse(&key).unwrap())),
            schedule: RetrySchedule::default(),
            clock: Arc::new(ManualClock::new(t(0))),
        }
    }

    fn message(attempt: u32) -> QueuedDelivery {
        QueuedDelivery {
            message_id: "m1".into(),
            receipt: "r1".into(),
            body: events_of_change(None, &fresh())[0].to_json(),
            attempt,
        }
    }

    fn failed(retry_after: Option<Duration>) -> Attempt {
        Attempt::Failed {
            status: Some(500),
            retry_after,
        }
    }

    #[tokio::test]
    async fn a_2xx_delivers_and_hides_nothing() {
        let hidden = Arc::new(Hidden::default());
        let d = deliver(Attempt::Delivered { status: 204 }, hidden.clone());
        assert_eq!(d.run(&[message(1)]).await, [DeliveryOutcome::Delivered]);
        assert!(hidden.0.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_failure_hides_the_message_for_its_step_of_the_schedule() {
        let hidden = Arc::new(Hidden::default());
        let d = deliver(failed(None), hidden.clone());
        let [DeliveryOutcome::RetryIn(wait)] = d.run(&[message(2)]).await[..] else {
            panic!("a retry")
        };
        assert!((270..=330).contains(&wait.as_secs()), "{wait:?}");
        assert_eq!(*hidden.0.lock().unwrap(), [wait]);
    }

    #[tokio::test]
    async fn a_longer_retry_after_is_honoured() {
        let hidden = Arc::new(Hidden::default());
        let d = deliver(failed(Some(Duration::from_secs(3600))), hidden);
        assert_eq!(
            d.run(&[message(1)]).await,
            [DeliveryOutcome::RetryIn(Duration::from_secs(3600))]
        );
    }

    #[tokio::test]
    async fn after_the_last_attempt_the_message_is_handed_back_for_the_dead_letter_queue() {
        let hidden = Arc::new(Hidden::default());
        let d = deliver(failed(None), hidden.clone());
        assert_eq!(d.run(&[message(8)]).await, [DeliveryOutcome::Exhausted]);
        assert_eq!(*hidden.0.lock().unwrap(), [Duration::ZERO]);
    }

    #[tokio::test]
    async fn a_message_that_is_not_an_event_is_never_sent() {
        let hidden = Arc::new(Hidden::default());
        let d = deliver(Attempt::Delivered { status: 200 }, hidden);
        let mut m = message(1);
        m.body = "{\"id\": \"not an event id\"}".into();
        assert_eq!(d.run(&[m]).await, [DeliveryOutcome::Exhausted]);
    }
}
