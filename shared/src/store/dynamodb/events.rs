//! The webhook path: which verification a provider record belongs to, the verification and the
//! event's dedupe record in one read, and the event recorded together with its effect.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::KeysAndAttributes;

use super::codec::{
    event_item, event_key, get_s, legacy_event_key, personal_key, ref_key, verification_from_items,
    verification_key, Item, EVENT_SK_PREFIX, PERSONAL_SK, SK,
};
use super::{cancellation, contended, failed_condition, unavailable, DynamoDbStore};
use crate::domain::{CustomerEffect, ProviderName, Verification, VerificationId};
use crate::store::{EventContext, EventLog, EventRecord, SaveOutcome, StoreError};

/// Bound on the reference cache; it starts over when full.
const REF_CACHE_ENTRIES: usize = 10_000;

/// Rounds of asking again for keys `BatchGetItem` left unprocessed.
const BATCH_ROUNDS: usize = 5;

impl DynamoDbStore {
    /// The event record alone (an event that changes nothing): a duplicate fails its condition.
    async fn save_event_alone(&self, item: Item) -> Result<SaveOutcome, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(SaveOutcome::Saved),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(SaveOutcome::DuplicateEvent)
            }
            Err(e) => Err(unavailable("PutItem")(e)),
        }
    }
}

fn event_context(found: Vec<Item>) -> Result<EventContext, StoreError> {
    let (mut record, mut personal, mut already_processed) = (None, None, false);
    for item in found {
        match get_s(&item, SK) {
            Some("VERIFICATION") => record = Some(item),
            Some(PERSONAL_SK) => personal = Some(item),
            Some(sk) if sk == "EVENT" || sk.starts_with(EVENT_SK_PREFIX) => {
                already_processed = true;
            }
            _ => {}
        }
    }
    Ok(EventContext {
        verification: record
            .map(|r| verification_from_items(r, personal))
            .transpose()?,
        already_processed,
    })
}

#[async_trait]
impl EventLog for DynamoDbStore {
    async fn find_by_provider_ref(
        &self,
        provider: &ProviderName,
        provider_ref: &str,
    ) -> Result<Option<VerificationId>, StoreError> {
        let cache_key = format!("{provider}#{provider_ref}");
        if let Some(id) = self
            .refs
            .lock()
            .ok()
            .and_then(|c| c.get(&cache_key).cloned())
        {
            return Ok(Some(id));
        }
        let found = self
            .get(ref_key(provider, provider_ref))
            .await?
            .as_ref()
            .and_then(|i| get_s(i, "verification_id"))
            .and_then(|raw| VerificationId::parse(raw).ok());
        if let (Some(id), Ok(mut cache)) = (&found, self.refs.lock()) {
            if cache.len() >= REF_CACHE_ENTRIES {
                cache.clear();
            }
            cache.insert(cache_key, id.clone());
        }
        Ok(found)
    }

    async fn load_for_event(
        &self,
        id: &VerificationId,
        provider: &ProviderName,
        event_id: &str,
    ) -> Result<EventContext, StoreError> {
        let mut pending = KeysAndAttributes::builder()
            .keys(verification_key(id))
            .keys(personal_key(id))
            .keys(event_key(id, provider, event_id))
            .keys(legacy_event_key(provider, event_id))
            .consistent_read(true)
            .build()
            .map_err(StoreError::build)?;
        let mut found: Vec<Item> = Vec::with_capacity(3);
        // BatchGetItem may leave keys unprocessed under load; ask again for those only.
        for _ in 0..BATCH_ROUNDS {
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, pending)
                .send()
                .await
                .map_err(unavailable("BatchGetItem"))?;
            found.extend(
                out.responses
                    .and_then(|mut r| r.remove(&self.table))
                    .unwrap_or_default(),
            );
            match out.unprocessed_keys.and_then(|mut u| u.remove(&self.table)) {
                Some(rest) if !rest.keys.is_empty() => pending = rest,
                _ => return event_context(found),
            }
        }
        Err(StoreError::Unfinished {
            operation: "BatchGetItem",
            why: "keys were left unprocessed",
        })
    }

    async fn save_event(
        &self,
        event: &EventRecord,
        updated: Option<(&Verification, CustomerEffect)>,
    ) -> Result<SaveOutcome, StoreError> {
        let Some((v, effect)) = updated else {
            return self.save_event_alone(event_item(event)).await;
        };
        let mut items = vec![self.put(event_item(event), "attribute_not_exists(pk)")?];
        items.extend(self.versioned_puts(v)?);
        let customer_at = items.len();
        let customer = self.customer_update(v, &effect)?;
        let with_customer = customer.is_some();
        items.extend(customer);
        for attempt in 0..2 {
            let Err(err) = self.transact(items.clone()).await else {
                return Ok(SaveOutcome::Saved);
            };
            let Some(reasons) = cancellation(&err) else {
                return Err(unavailable("TransactWriteItems")(err));
            };
            let failed = |i: usize| failed_condition(&reasons, i).is_some();
            if failed(0) {
                return Ok(SaveOutcome::DuplicateEvent);
            }
            // A concurrent writer held or changed the verification: read again and re-apply.
            if contended(&reasons) || failed(1) {
                return Ok(SaveOutcome::VersionConflict);
            }
            if with_customer && failed(customer_at) && attempt == 0 {
                // The customer record belongs to another verification's claim or approval: the
                // verification's own change still applies.
                tracing::warn!(verification_id = %v.id, "customer record not ours; applying the verification change alone");
                items.pop();
                continue;
            }
            return Err(unavailable("TransactWriteItems")(err));
        }
        Err(StoreError::Unfinished {
            operation: "TransactWriteItems",
            why: "the event could not be saved",
        })
    }
}
