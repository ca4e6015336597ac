//! The event bus on Amazon EventBridge: each event is one entry (`PutEvents`, 10 at a time) with
//! source `kyc.onboarding`, detail type `verification.<status>` and the event as its detail, so
//! rules match on `detail-type` or on any field of `detail.data`.

use async_trait::async_trait;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;

use super::{EventBus, OutgoingEvent, PublishError};

/// The `source` of every entry.
pub const SOURCE: &str = "kyc.onboarding";
/// PutEvents takes at most 10 entries.
const BATCH: usize = 10;

#[derive(Clone)]
pub struct EventBridgeBus {
    client: Client,
    bus: String,
}

impl EventBridgeBus {
    pub fn new(client: Client, bus: String) -> Self {
        Self { client, bus }
    }
}

#[async_trait]
impl EventBus for EventBridgeBus {
    async fn publish(&self, events: &[OutgoingEvent<'_>]) -> Result<(), PublishError> {
        for (chunk_no, chunk) in events.chunks(BATCH).enumerate() {
            let start = chunk_no * BATCH;
            let entries = chunk
                .iter()
                .map(|e| {
                    PutEventsRequestEntry::builder()
                        .event_bus_name(&self.bus)
                        .source(SOURCE)
                        .detail_type(&e.event_type)
                        .detail(e.body)
                        .build()
                })
                .collect();
            let out = self
                .client
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| PublishError {
                    service: "EventBridge",
                    operation: "PutEvents",
                    first_failed: start,
                    source: Some(Box::new(e)),
                })?;
            // Entries come back in order; one with an error code was not put.
            if let Some(first) = out.entries().iter().position(|r| r.error_code().is_some()) {
                return Err(PublishError {
                    service: "EventBridge",
                    operation: "PutEvents",
                    first_failed: start + first,
                    source: None,
                });
            }
        }
        Ok(())
    }
}
