//! The catch-up feed's items: `FEED#<shard>` / `<publication ms>#<ordinal>#<event id>`, the event's JSON in
//! `body`, `expires_at` (TTL). Written in batches of 25 by notify; read by a Query per shard, the
//! shards at once, merged in feed order.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use chrono::{DateTime, Utc};

use super::codec::{get_n, get_s, key, n, s, Item, SK, TTL_ATTRIBUTE};
use super::{unavailable, DynamoDbStore};
use crate::events::feed::{FeedPosition, SHARDS};
use crate::store::{EventFeedReader, EventFeedWriter, FeedEntry, StoreError};

/// BatchWriteItem takes at most 25 items.
const BATCH: usize = 25;
/// Items DynamoDB left unprocessed (throttling) are sent again at most this many times.
const UNPROCESSED_RETRIES: u32 = 5;

fn feed_pk(shard: u8) -> String {
    format!("FEED#{shard}")
}

fn entry_item(e: &FeedEntry) -> Item {
    let mut item = key(feed_pk(e.shard), &e.position.sort_key());
    item.extend([
        ("kind".to_owned(), s("feed_event")),
        ("body".to_owned(), s(&e.body)),
        (TTL_ATTRIBUTE.to_owned(), n(e.expires_at.timestamp())),
    ]);
    item
}

fn entry_from_item(shard: u8, item: &Item) -> Result<FeedEntry, StoreError> {
    let corrupt = || StoreError::corrupt("feed event");
    Ok(FeedEntry {
        shard,
        position: get_s(item, SK)
            .and_then(|k| FeedPosition::from_sort_key(k).ok())
            .ok_or_else(corrupt)?,
        body: get_s(item, "body").ok_or_else(corrupt)?.to_owned(),
        expires_at: get_n(item, TTL_ATTRIBUTE)
            .and_then(|t| DateTime::from_timestamp(t, 0))
            .ok_or_else(corrupt)?,
    })
}

impl DynamoDbStore {
    async fn write_batch(&self, mut requests: Vec<WriteRequest>) -> Result<(), StoreError> {
        for attempt in 0..=UNPROCESSED_RETRIES {
            let out = self
                .client
                .batch_write_item()
                .request_items(&self.table, requests)
                .send()
                .await
                .map_err(unavailable("BatchWriteItem"))?;
            requests = out
                .unprocessed_items
                .and_then(|mut u| u.remove(&self.table))
                .unwrap_or_default();
            if requests.is_empty() {
                return Ok(());
            }
            crate::store::backoff(attempt).await;
        }
        Err(StoreError::Unfinished {
            operation: "BatchWriteItem",
            why: "items stayed unprocessed",
        })
    }

    async fn read_shard(
        &self,
        shard: u8,
        after: Option<&FeedPosition>,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<FeedEntry>, StoreError> {
        // BETWEEN is inclusive: the cursor's own entry is read (one more) and left out.
        let lower = after.map_or_else(|| "0".to_owned(), FeedPosition::sort_key);
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :p AND sk BETWEEN :after AND :before")
            .expression_attribute_values(":p", s(feed_pk(shard)))
            .expression_attribute_values(":after", s(lower))
            .expression_attribute_values(":before", s(FeedPosition::bound(before)))
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX))
            // What a write acknowledged is read (stable cursors).
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable("Query"))?;
        out.items()
            .iter()
            .filter(|i| after.is_none_or(|a| get_s(i, SK) != Some(a.sort_key().as_str())))
            .map(|i| entry_from_item(shard, i))
            .collect()
    }
}

#[async_trait]
impl EventFeedWriter for DynamoDbStore {
    async fn append(&self, entries: &[FeedEntry]) -> Result<(), StoreError> {
        for chunk in entries.chunks(BATCH) {
            let requests = chunk
                .iter()
                .map(|e| {
                    PutRequest::builder()
                        .set_item(Some(entry_item(e)))
                        .build()
                        .map(|put| WriteRequest::builder().put_request(put).build())
                        .map_err(StoreError::build)
                })
                .collect::<Result<Vec<_>, _>>()?;
            self.write_batch(requests).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl EventFeedReader for DynamoDbStore {
    async fn read(
        &self,
        after: Option<&FeedPosition>,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<FeedEntry>, StoreError> {
        let shards = (0..SHARDS).map(|shard| self.read_shard(shard, after, before, limit));
        let mut merged: Vec<FeedEntry> = futures::future::try_join_all(shards)
            .await?
            .into_iter()
            .flatten()
            .collect();
        merged.sort_by(|a, b| a.position.cmp(&b.position));
        merged.truncate(limit);
        Ok(merged)
    }
}
