//! Idempotency records: a key is taken with a conditional put that holds unless a live record
//! has it (absent, past its 24 h, or a lapsed lock), completed with the response to replay, or
//! released, each only by the run that owns it.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use chrono::{DateTime, Utc};

use super::codec::{idempotency_from_item, idempotency_key, n, s, TTL_ATTRIBUTE};
use super::{unavailable, DynamoDbStore};
use crate::domain::idempotency::StoredResponse;
use crate::store::{ClaimError, IdempotencyKeys, IdempotencyLock, StoreError};

const COMPLETE_KEY: &str =
    "SET #state = :completed, response_status = :status, response_body = :body REMOVE locked_until";
const OWNED_KEY: &str = "#owner = :owner";
const TAKE_KEY: &str =
    "attribute_not_exists(pk) OR #exp <= :now_s OR (#state = :in_progress AND locked_until <= :now_ms)";

fn key_names() -> HashMap<String, String> {
    HashMap::from([
        ("#owner".to_owned(), "owner".to_owned()),
        ("#state".to_owned(), "state".to_owned()),
    ])
}

fn completion_values(
    lock: &IdempotencyLock,
    response: &StoredResponse,
) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (":owner".to_owned(), s(&lock.owner)),
        (":completed".to_owned(), s("completed")),
        (":status".to_owned(), n(response.status)),
        (":body".to_owned(), s(&response.body)),
    ])
}

impl DynamoDbStore {
    /// Take the key unless a live record holds it: absent, past its 24 h, or a lapsed lock.
    pub(super) fn lock_put(
        &self,
        lock: &IdempotencyLock,
        now: DateTime<Utc>,
    ) -> Result<Put, StoreError> {
        let mut item = idempotency_key(&lock.scope, &lock.key);
        item.extend([
            ("kind".to_owned(), s("idempotency")),
            ("fingerprint".to_owned(), s(&lock.fingerprint.0)),
            ("state".to_owned(), s("in_progress")),
            ("owner".to_owned(), s(&lock.owner)),
            (
                "locked_until".to_owned(),
                n(lock.locked_until.timestamp_millis()),
            ),
            (TTL_ATTRIBUTE.to_owned(), n(lock.expires_at.timestamp())),
        ]);
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(TAKE_KEY)
            .expression_attribute_names("#exp", TTL_ATTRIBUTE)
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":now_s", n(now.timestamp()))
            .expression_attribute_values(":now_ms", n(now.timestamp_millis()))
            .expression_attribute_values(":in_progress", s("in_progress"))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(StoreError::build)
    }

    /// Complete the key with the response to replay, if this run still owns it.
    pub(super) fn lock_completion(
        &self,
        lock: &IdempotencyLock,
        response: &StoredResponse,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(idempotency_key(&lock.scope, &lock.key)))
            .update_expression(COMPLETE_KEY)
            .condition_expression(OWNED_KEY)
            .set_expression_attribute_names(Some(key_names()))
            .set_expression_attribute_values(Some(completion_values(lock, response)))
            .build()
            .map_err(StoreError::build)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

#[async_trait]
impl IdempotencyKeys for DynamoDbStore {
    async fn lock_key(&self, lock: &IdempotencyLock, now: DateTime<Utc>) -> Result<(), ClaimError> {
        let put = self.lock_put(lock, now)?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(put.item))
            .condition_expression(put.condition_expression.unwrap_or_default())
            .set_expression_attribute_names(put.expression_attribute_names)
            .set_expression_attribute_values(put.expression_attribute_values)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let Err(err) = result else {
            return Ok(());
        };
        let old = match err.as_service_error() {
            Some(PutItemError::ConditionalCheckFailedException(c)) => c.item().cloned(),
            _ => None,
        };
        match old {
            Some(old) => Err(ClaimError::KeyTaken(idempotency_from_item(&old)?)),
            None => Err(unavailable("PutItem")(err).into()),
        }
    }

    async fn finish_key(
        &self,
        lock: &IdempotencyLock,
        response: Option<&StoredResponse>,
    ) -> Result<(), StoreError> {
        let key = idempotency_key(&lock.scope, &lock.key);
        // A failed condition means the lock lapsed and another run owns the key now: nothing of
        // ours to finish.
        match response {
            None => self
                .client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key))
                .condition_expression(OWNED_KEY)
                .expression_attribute_names("#owner", "owner")
                .expression_attribute_values(":owner", s(&lock.owner))
                .send()
                .await
                .map(|_| ())
                .or_else(|e| match e.as_service_error() {
                    Some(se) if se.is_conditional_check_failed_exception() => Ok(()),
                    _ => Err(unavailable("DeleteItem")(e)),
                }),
            Some(r) => self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key))
                .update_expression(COMPLETE_KEY)
                .condition_expression(OWNED_KEY)
                .set_expression_attribute_names(Some(key_names()))
                .set_expression_attribute_values(Some(completion_values(lock, r)))
                .send()
                .await
                .map(|_| ())
                .or_else(|e| match e.as_service_error() {
                    Some(se) if se.is_conditional_check_failed_exception() => Ok(()),
                    _ => Err(unavailable("UpdateItem")(e)),
                }),
        }
    }
}
