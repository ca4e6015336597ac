//! Versioned saves: a verification is put only if its `version` is still the one it was read at
//! (never last-write-wins), together with what its change does to the customer record.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};

use super::codec::{
    active_attr, customer_key, n, ref_item, s, time, verification_items, verification_key, OPEN_PK,
    OPEN_SK, VERSION,
};
use super::{cancellation, contended, failed_condition, unavailable, DynamoDbStore};
use crate::domain::idempotency::StoredResponse;
use crate::domain::{CustomerEffect, Verification};
use crate::store::{IdempotencyLock, SaveOutcome, StoreError, VerificationWriter};

impl DynamoDbStore {
    /// The verification at its next version, on the condition that it is still at `v.version`,
    /// then its personal item (none once redacted). Callers index the items after these by
    /// [`Self::versioned_puts`]'s length.
    pub(super) fn versioned_puts(
        &self,
        v: &Verification,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut next = v.clone();
        next.version = v.version + 1;
        let (record, personal) = verification_items(&next, self.personal_retention)?;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(record))
            .condition_expression("#v = :read")
            .expression_attribute_names("#v", VERSION)
            .expression_attribute_values(":read", n(v.version))
            .build()
            .map_err(StoreError::build)?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        if let Some(personal) = personal {
            items.push(self.put_always(personal)?);
        }
        Ok(items)
    }

    /// The customer update a transition causes, with the condition that keeps it from touching
    /// another verification's claim or approval.
    pub(super) fn customer_update(
        &self,
        v: &Verification,
        effect: &CustomerEffect,
    ) -> Result<Option<TransactWriteItem>, StoreError> {
        let mut names = HashMap::from([("#act".to_owned(), active_attr(&v.provider))]);
        let mut values = HashMap::from([(":id".to_owned(), s(v.id.as_str()))]);
        let (expression, condition) = match effect {
            CustomerEffect::None => return Ok(None),
            CustomerEffect::Ended => ("REMOVE #act", "#act.id = :id"),
            CustomerEffect::Verified { at } => {
                values.insert(":at".into(), time(*at));
                (
                    "SET verified_at = :at, verified_verification_id = :id REMOVE #act",
                    "attribute_not_exists(#act) OR #act.id = :id OR attribute_exists(verified_at)",
                )
            }
            CustomerEffect::Unverified => {
                names.clear();
                (
                    "REMOVE verified_at, verified_verification_id",
                    "verified_verification_id = :id",
                )
            }
        };
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(customer_key(&v.customer_id)))
            .update_expression(expression)
            .condition_expression(condition)
            .set_expression_attribute_names((!names.is_empty()).then_some(names))
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(StoreError::build)?;
        Ok(Some(TransactWriteItem::builder().update(update).build()))
    }

    /// The reconciler's backoff of a verification read at `v.version`: only the backoff
    /// attributes, the open index's sort key and the version change, so a concurrent webhook's
    /// state is never overwritten; if it wrote first, the condition fails and nothing is stored.
    pub(super) async fn update_reconcile_backoff(
        &self,
        v: &Verification,
        listed_at: DateTime<Utc>,
    ) -> Result<SaveOutcome, StoreError> {
        let mut values = HashMap::from([
            (":read".to_owned(), n(v.version)),
            (":next".to_owned(), n(v.version + 1)),
            (":listed".to_owned(), time(listed_at)),
        ]);
        let expression = match v.reconcile_after {
            Some(after) if v.reconcile_failures > 0 => {
                values.insert(":f".into(), n(v.reconcile_failures));
                values.insert(":after".into(), time(after));
                "SET #v = :next, #sk = :listed, reconcile_failures = :f, reconcile_after = :after"
            }
            _ => "SET #v = :next, #sk = :listed REMOVE reconcile_failures, reconcile_after",
        };
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(verification_key(&v.id)))
            .update_expression(expression)
            .condition_expression("#v = :read AND attribute_exists(#pk)")
            .expression_attribute_names("#v", VERSION)
            .expression_attribute_names("#sk", OPEN_SK)
            .expression_attribute_names("#pk", OPEN_PK)
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        match result {
            Ok(_) => Ok(SaveOutcome::Saved),
            Err(e)
                if e.as_service_error()
                    .is_some_and(UpdateItemError::is_conditional_check_failed_exception) =>
            {
                Ok(SaveOutcome::VersionConflict)
            }
            Err(e) => Err(unavailable("UpdateItem")(e)),
        }
    }
}

#[async_trait]
impl VerificationWriter for DynamoDbStore {
    async fn save_verification(
        &self,
        v: &Verification,
        effect: CustomerEffect,
        new_ref: Option<&str>,
        completion: Option<(&IdempotencyLock, &StoredResponse)>,
    ) -> Result<SaveOutcome, StoreError> {
        let mut items = self.versioned_puts(v)?;
        if let Some(r) = new_ref {
            items.push(self.put(ref_item(&v.provider, r, &v.id), "attribute_not_exists(pk)")?);
        }
        if let Some((lock, response)) = completion {
            items.push(self.lock_completion(lock, response)?);
        }
        items.extend(self.customer_update(v, &effect)?);
        match self.transact(items).await {
            Ok(_) => Ok(SaveOutcome::Saved),
            Err(err) => match cancellation(&err) {
                Some(reasons) if failed_condition(&reasons, 0).is_some() || contended(&reasons) => {
                    Ok(SaveOutcome::VersionConflict)
                }
                _ => Err(unavailable("TransactWriteItems")(err)),
            },
        }
    }
}
