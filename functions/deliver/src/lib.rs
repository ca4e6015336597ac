//! `deliver`: the delivery queue → the business's endpoint. Each message is one event; each
//! attempt is signed with its own timestamp. Failed messages are named in the answer
//! (`ReportBatchItemFailures`) after being hidden until their next attempt; delivered ones are
//! deleted by Lambda. The queue's `maxReceiveCount` moves a message to the dead-letter queue
//! after the schedule's last attempt.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use shared::service::{DeliveryOutcome, QueuedDelivery};
use shared::wiring::events::DeliverDeps;

pub async fn handle(deps: &DeliverDeps, event: SqsEvent) -> SqsBatchResponse {
    deps.secrets.refresh_if_stale().await;
    let batch: Vec<QueuedDelivery> = event
        .records
        .into_iter()
        .map(|m| QueuedDelivery {
            attempt: m
                .attributes
                .get("ApproximateReceiveCount")
                .and_then(|n| n.parse().ok())
                .unwrap_or(1),
            message_id: m.message_id.unwrap_or_default(),
            receipt: m.receipt_handle.unwrap_or_default(),
            body: m.body.unwrap_or_default(),
        })
        .collect();
    let outcomes = deps.deliver.run(&batch).await;
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = batch
        .iter()
        .zip(outcomes)
        .filter(|(_, outcome)| *outcome != DeliveryOutcome::Delivered)
        .map(|(m, _)| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier.clone_from(&m.message_id);
            failure
        })
        .collect();
    response
}
