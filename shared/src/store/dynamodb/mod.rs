//! The DynamoDB adapter of every storage port: one table, string keys `pk`/`sk`, conditional
//! writes and transactions. [`codec`] maps items and keys; `claims` holds a create's conditional
//! writes, `keys` the idempotency records, `writes` the versioned saves, `events` the webhook
//! path, `queries` the reads.

mod claims;
pub mod codec;
mod events;
mod feed;
mod keys;
mod queries;
mod redaction;
pub mod stream;
mod writes;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;

pub use codec::{
    verification_from_item, verification_from_items, verification_items, verification_to_item,
    OPEN_INDEX, PERSONAL_SK, PK, SK, TTL_ATTRIBUTE,
};

use self::codec::{key, Item};
use super::StoreError;
use crate::domain::VerificationId;

#[derive(Clone)]
pub struct DynamoDbStore {
    client: Client,
    table: String,
    /// Provider reference → verification id. The mapping never changes once written, so a warm
    /// function resolves repeated webhooks of one provider record without a round trip.
    refs: Arc<Mutex<HashMap<String, VerificationId>>>,
    /// How long the personal fields of an ended verification are kept (their item's TTL).
    personal_retention: chrono::Duration,
}

/// The personal fields' retention unless configured (`PERSONAL_DATA_RETENTION_DAYS`).
pub const DEFAULT_PERSONAL_RETENTION_DAYS: u32 = 90;

/// How long the init-time pre-warm read may take before init goes on without it.
const PREWARM_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

type Response = aws_smithy_runtime_api::http::Response;

/// A failed call as a [`StoreError`] with the SDK's error as its cause.
fn unavailable<E: std::error::Error + Send + Sync + 'static>(
    operation: &'static str,
) -> impl Fn(SdkError<E, Response>) -> StoreError {
    move |e| StoreError::Unavailable {
        operation,
        source: Box::new(e),
    }
}

/// Why a transaction was canceled: per item, the reason code (`None` where the item was fine)
/// and the item as it was, where the condition asked for it.
type Reasons = Vec<(Option<String>, Option<Item>)>;

fn cancellation(err: &SdkError<TransactWriteItemsError, Response>) -> Option<Reasons> {
    let TransactWriteItemsError::TransactionCanceledException(canceled) = err.as_service_error()?
    else {
        return None;
    };
    Some(
        canceled
            .cancellation_reasons()
            .iter()
            .map(|r| {
                (
                    r.code().filter(|c| *c != "None").map(str::to_owned),
                    r.item().cloned(),
                )
            })
            .collect(),
    )
}

/// The old item of entry `i` when its condition failed (an empty item if none was returned).
fn failed_condition(reasons: &Reasons, i: usize) -> Option<&Item> {
    static EMPTY: std::sync::OnceLock<Item> = std::sync::OnceLock::new();
    match reasons.get(i) {
        Some((Some(code), item)) if code == "ConditionalCheckFailed" => Some(
            item.as_ref()
                .unwrap_or_else(|| EMPTY.get_or_init(Item::new)),
        ),
        _ => None,
    }
}

/// Another transaction held one of the items: worth trying again.
fn contended(reasons: &Reasons) -> bool {
    reasons
        .iter()
        .any(|(code, _)| code.as_deref() == Some("TransactionConflict"))
}

impl DynamoDbStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            refs: Default::default(),
            personal_retention: chrono::Duration::days(DEFAULT_PERSONAL_RETENTION_DAYS.into()),
        }
    }

    /// The same store keeping the personal fields of ended verifications this many days.
    pub fn with_personal_retention(mut self, days: u32) -> Self {
        self.personal_retention = chrono::Duration::days(days.into());
        self
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Open the connection (TCP, TLS, credentials, endpoint) at init with one cheap read that
    /// finds nothing (an eventually consistent `GetItem` of a key no item has: half a read unit,
    /// no IAM beyond `GetItem`), so that the first request does not pay for it. Bounded, so a
    /// slow network cannot stall init; a failure is logged and left to the first request.
    pub async fn prewarm(&self) {
        let read = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key("PREWARM".to_owned(), "PREWARM")))
            .projection_expression("pk")
            .send();
        match tokio::time::timeout(PREWARM_TIMEOUT, read).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(
                error = %crate::telemetry::chain(&e),
                "pre-warm read failed"
            ),
            Err(_) => tracing::warn!(
                timeout_ms = PREWARM_TIMEOUT.as_millis() as u64,
                "pre-warm read timed out"
            ),
        }
    }

    /// One `TransactWriteItems` round trip.
    async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<(), SdkError<TransactWriteItemsError, Response>> {
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map(|_| ())
    }

    /// An unconditional put as one item of a transaction.
    fn put_always(&self, item: Item) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .map_err(StoreError::build)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// A conditional put as one item of a transaction.
    fn put(&self, item: Item, condition: &str) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .build()
            .map_err(StoreError::build)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}
