//! Reads: a verification (its record and personal item, one Query on its key) or a customer by
//! key (strongly consistent), and the quiet open verifications through the sparse `open` index
//! (a Query per shard, never a Scan).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::codec::{
    customer_from_item, customer_key, get_s, s, time, verification_from_items, Item, OPEN_INDEX,
    OPEN_PK, OPEN_SHARDS, OPEN_SK, PERSONAL_SK, PK, SK,
};
use super::{unavailable, DynamoDbStore};
use crate::domain::{CustomerId, Verification, VerificationId};
use crate::store::{
    Customer, CustomerReader, OpenVerifications, SaveOutcome, StoreError, VerificationReader,
};

impl DynamoDbStore {
    pub(super) async fn get(&self, key: Item) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable("GetItem"))?;
        Ok(out.item)
    }

    /// The items under a verification's key (strongly consistent), every page: with
    /// `only_verification` its record and personal item (one round trip), else also its events.
    pub(super) async fn verification_partition(
        &self,
        id: &VerificationId,
        only_verification: bool,
    ) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .expression_attribute_names("#pk", PK)
                .expression_attribute_values(":pk", s(format!("VER#{id}")))
                .set_exclusive_start_key(start);
            query = if only_verification {
                query
                    .key_condition_expression("#pk = :pk AND begins_with(#sk, :v)")
                    .expression_attribute_names("#sk", SK)
                    .expression_attribute_values(":v", s("VERIFICATION"))
            } else {
                query.key_condition_expression("#pk = :pk")
            };
            let out = query.send().await.map_err(unavailable("Query"))?;
            found.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(found),
            }
        }
    }

    /// One shard's quiet open verifications (with their last activity, as the index sorts
    /// them), the quietest first, up to `wanted`, page by page.
    async fn quiet_in_shard(
        &self,
        shard: u32,
        quiet_since: DateTime<Utc>,
        wanted: usize,
    ) -> Result<Vec<(String, VerificationId)>, StoreError> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(OPEN_INDEX)
                .key_condition_expression("#p = :p AND #s < :cutoff")
                .expression_attribute_names("#p", OPEN_PK)
                .expression_attribute_names("#s", OPEN_SK)
                .expression_attribute_values(":p", s(format!("OPEN#{shard}")))
                .expression_attribute_values(":cutoff", time(quiet_since))
                .set_exclusive_start_key(start)
                .limit(i32::try_from(wanted.saturating_sub(found.len()).max(1)).unwrap_or(100))
                .send()
                .await
                .map_err(unavailable("Query"))?;
            found.extend(out.items().iter().filter_map(|i| {
                let id = get_s(i, PK)?
                    .strip_prefix("VER#")
                    .and_then(|id| VerificationId::parse(id).ok())?;
                Some((get_s(i, OPEN_SK)?.to_owned(), id))
            }));
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() && found.len() < wanted => start = Some(k),
                _ => return Ok(found),
            }
        }
    }
}

#[async_trait]
impl VerificationReader for DynamoDbStore {
    async fn get_verification(
        &self,
        id: &VerificationId,
    ) -> Result<Option<Verification>, StoreError> {
        let items = self.verification_partition(id, true).await?;
        split_verification(items)
            .map(|(record, personal)| verification_from_items(record, personal))
            .transpose()
    }
}

/// The record and the personal item among a verification's items (`None`: no record).
pub(super) fn split_verification(items: Vec<Item>) -> Option<(Item, Option<Item>)> {
    let (mut record, mut personal) = (None, None);
    for item in items {
        match get_s(&item, SK) {
            Some("VERIFICATION") => record = Some(item),
            Some(PERSONAL_SK) => personal = Some(item),
            _ => {}
        }
    }
    record.map(|r| (r, personal))
}

#[async_trait]
impl CustomerReader for DynamoDbStore {
    async fn get_customer(&self, id: &CustomerId) -> Result<Option<Customer>, StoreError> {
        self.get(customer_key(id))
            .await?
            .as_ref()
            .map(customer_from_item)
            .transpose()
    }
}

#[async_trait]
impl OpenVerifications for DynamoDbStore {
    async fn quiet_open_verifications(
        &self,
        quiet_since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<VerificationId>, StoreError> {
        // Every partition at once; each may hold all of the quietest, so each is asked for
        // `limit` (keys only, a fraction of a read unit each) and the quietest `limit` are kept.
        let shards = futures::future::try_join_all(
            (0..OPEN_SHARDS).map(|shard| self.quiet_in_shard(shard, quiet_since, limit)),
        )
        .await?;
        let mut found: Vec<(String, VerificationId)> = shards.into_iter().flatten().collect();
        // RFC 3339 UTC times with milliseconds sort as text.
        found.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        found.truncate(limit);
        Ok(found.into_iter().map(|(_, id)| id).collect())
    }

    async fn record_reconcile_backoff(
        &self,
        v: &Verification,
        listed_at: DateTime<Utc>,
    ) -> Result<SaveOutcome, StoreError> {
        self.update_reconcile_backoff(v, listed_at).await
    }
}
