//! Where outbound events go, as ports named for what they do, with one adapter each, named for
//! its technology: the delivery queue ([`sqs::SqsDeliveryQueue`], `sqs:SendMessage` and
//! `sqs:ChangeMessageVisibility`), the event bus ([`eventbridge::EventBridgeBus`],
//! `events:PutEvents`) and the business's endpoint ([`endpoint::HttpEndpoint`], HTTPS).

use std::time::Duration;

use async_trait::async_trait;

pub mod endpoint;
pub mod eventbridge;
pub mod sqs;

/// A failure's cause, kept for the logs.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// A call to an AWS service failed: the events from `first_failed` on are not published.
#[derive(Debug, thiserror::Error)]
#[error("{service} {operation} failed from event {first_failed} on")]
pub struct PublishError {
    pub service: &'static str,
    pub operation: &'static str,
    /// Index (in the events given) of the first event not published; all before it were.
    pub first_failed: usize,
    #[source]
    pub source: Option<Cause>,
}

/// One event on its way out: its id and its JSON, exactly as delivered.
#[derive(Debug, Clone)]
pub struct OutgoingEvent<'a> {
    pub id: &'a str,
    pub event_type: String,
    pub body: &'a str,
}

/// Queue events for delivery to the business's endpoint (`sqs:SendMessage`).
#[async_trait]
pub trait DeliveryQueue: Send + Sync {
    async fn enqueue(&self, events: &[OutgoingEvent<'_>]) -> Result<(), PublishError>;
}

/// Put events on the event bus (`events:PutEvents`).
#[async_trait]
pub trait EventBus: Send + Sync {
    async fn publish(&self, events: &[OutgoingEvent<'_>]) -> Result<(), PublishError>;
}

/// Hide a message whose delivery failed until its next attempt
/// (`sqs:ChangeMessageVisibility`).
#[async_trait]
pub trait DeliveryRetry: Send + Sync {
    async fn retry_in(&self, receipt: &str, delay: Duration) -> Result<(), PublishError>;
}

/// One delivery attempt's request: the Standard Webhooks headers and the body.
#[derive(Debug, Clone)]
pub struct SignedDelivery<'a> {
    pub id: &'a str,
    pub timestamp: i64,
    pub signature: String,
    pub body: &'a str,
}

/// What the endpoint made of an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// A 2xx answer.
    Delivered { status: u16 },
    /// Any other answer (with the wait it asked for, `Retry-After` in seconds), or none at all
    /// (`status: None`: refused, timed out).
    Failed {
        status: Option<u16>,
        retry_after: Option<Duration>,
    },
}

/// The business's webhook endpoint.
#[async_trait]
pub trait Endpoint: Send + Sync {
    async fn deliver(&self, delivery: &SignedDelivery<'_>) -> Attempt;
}
