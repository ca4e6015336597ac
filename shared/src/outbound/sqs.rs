//! The delivery queue on Amazon SQS: events go in with `SendMessageBatch` (10 at a time), and a
//! failed delivery hides its message until its next attempt with `ChangeMessageVisibility`.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use aws_sdk_sqs::Client;

use super::{DeliveryQueue, DeliveryRetry, OutgoingEvent, PublishError};

/// SendMessageBatch takes at most 10 messages.
const BATCH: usize = 10;

#[derive(Clone)]
pub struct SqsDeliveryQueue {
    client: Client,
    queue_url: String,
}

impl SqsDeliveryQueue {
    pub fn new(client: Client, queue_url: String) -> Self {
        Self { client, queue_url }
    }
}

fn failed(operation: &'static str, first_failed: usize) -> impl Fn(super::Cause) -> PublishError {
    move |source| PublishError {
        service: "SQS",
        operation,
        first_failed,
        source: Some(source),
    }
}

#[async_trait]
impl DeliveryQueue for SqsDeliveryQueue {
    async fn enqueue(&self, events: &[OutgoingEvent<'_>]) -> Result<(), PublishError> {
        for (chunk_no, chunk) in events.chunks(BATCH).enumerate() {
            let start = chunk_no * BATCH;
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(e.body)
                        .build()
                        .map_err(|err| failed("SendMessageBatch", start)(Box::new(err)))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .client
                .send_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| failed("SendMessageBatch", start)(Box::new(e)))?;
            // Entries the queue refused: everything from the first of them on is sent again.
            if let Some(first) = out
                .failed()
                .iter()
                .filter_map(|f| f.id().parse::<usize>().ok())
                .min()
            {
                return Err(PublishError {
                    service: "SQS",
                    operation: "SendMessageBatch",
                    first_failed: start + first,
                    source: None,
                });
            }
        }
        Ok(())
    }
}

#[async_trait]
impl DeliveryRetry for SqsDeliveryQueue {
    async fn retry_in(&self, receipt: &str, delay: Duration) -> Result<(), PublishError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt)
            // Whole seconds, rounded up: a wait is never cut short.
            .visibility_timeout(
                i32::try_from(delay.as_secs_f64().ceil() as u64).unwrap_or(i32::MAX),
            )
            .send()
            .await
            .map_err(|e| failed("ChangeMessageVisibility", 0)(Box::new(e)))?;
        Ok(())
    }
}
