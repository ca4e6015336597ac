//! `notify`: the table's DynamoDB stream (new and old images) → one event per status change of a
//! verification, appended to the catch-up feed, queued for signed delivery and put on the event
//! bus. It answers with the batch's failures (`ReportBatchItemFailures`): the first record not
//! fully published, from which Lambda hands the stream again; nothing before it is lost, nothing
//! after it skipped.

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use shared::service::StreamChange;
use shared::store::dynamodb::stream::stream_change;
use shared::wiring::events::NotifyDeps;

/// Decode the records, publish their events, name the record to start again from.
pub async fn handle(deps: &NotifyDeps, event: Event) -> DynamoDbEventResponse {
    let mut changes: Vec<StreamChange> = Vec::new();
    let mut undecodable = None;
    for record in &event.records {
        let id = record.change.sequence_number.clone().unwrap_or_default();
        match stream_change(&id, &record.change.old_image, &record.change.new_image) {
            Ok(Some(change)) => changes.push(change),
            Ok(None) => {}
            Err(e) => {
                // Stop here: this record and the ones after it come back (bisected, then to the
                // on-failure destination if it never decodes).
                // The error's own text (`e`, not its causes): a decoder's message may quote a value.
                tracing::error!(sequence_number = %id, error = %e, "a stream record could not be read");
                undecodable = Some(id);
                break;
            }
        }
    }
    let report = deps.notify.run(&changes).await;
    tracing::info!(
        records = event.records.len(),
        events = report.events,
        failed = report.retry_from.is_some() || undecodable.is_some(),
        "stream batch handled"
    );
    let first_failure = report.retry_from.or(undecodable);
    let mut response = DynamoDbEventResponse::default();
    if let Some(id) = first_failure {
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = Some(id);
        response.batch_item_failures.push(failure);
    }
    response
}
