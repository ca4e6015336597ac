//! Versioned saves: a verification is put only if its `version` is still the one it was read at
//! (never last-write-wins), together with what its change does to the customer record.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};

use super::codec::{
    active_attr, customer_key, n, ref_item, s, time, verification_to_item, VERSION,
};
use super::{cancellation, contended, failed_condition, unavailable, DynamoDbStore};
use crate::domain::idempotency::StoredResponse;
use crate::domain::{CustomerEffect, Verification};
use crate::store::{IdempotencyLock, SaveOutcome, StoreError, VerificationWriter};

impl DynamoDbStore {
    /// The verification at its next version, on the condition that it is still at `v.version`.
    pub(super) fn versioned_put(&self, v: &Verification) -> Result<TransactWriteItem, StoreError> {
        let mut next = v.clone();
        next.version = v.version + 1;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(verification_to_item(&next)?))
            .condition_expression("#v = :read")
            .expression_attribute_names("#v", VERSION)
            .expression_attribute_values(":read", n(v.version))
            .build()
            .map_err(StoreError::build)?;
        Ok(TransactWriteItem::builder().put(put).build())
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
        let mut items = vec![self.versioned_put(v)?];
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
