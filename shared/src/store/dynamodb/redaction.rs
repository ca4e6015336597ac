//! A redaction's reads and writes: everything under the verification's key in one Query (its
//! record, its personal item, its processed events), then the audit copies and the stored
//! responses cleaned, then the record and the personal item in one versioned transaction.

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};

use super::codec::{
    get_s, idempotency_key, key, personal_key, s, verification_from_items, Item, EVENT_SK_PREFIX,
    SK,
};
use super::queries::split_verification;
use super::{cancellation, contended, failed_condition, unavailable, DynamoDbStore};
use crate::domain::{Verification, VerificationId};
use crate::store::{RedactionTarget, Redactions, SaveOutcome, StoreError, StoredReplay};

impl DynamoDbStore {
    /// One conditional update of an item that may have expired meanwhile (then nothing to do).
    async fn update_if_present(
        &self,
        key: Item,
        expression: &str,
        condition: &str,
        body: Option<&str>,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(expression)
            .condition_expression(condition)
            .set_expression_attribute_values(
                body.map(|b| std::collections::HashMap::from([(":body".to_owned(), s(b))])),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(UpdateItemError::is_conditional_check_failed_exception) =>
            {
                Ok(())
            }
            Err(e) => Err(unavailable("UpdateItem")(e)),
        }
    }
}

#[async_trait]
impl Redactions for DynamoDbStore {
    async fn load_for_redaction(
        &self,
        id: &VerificationId,
    ) -> Result<Option<RedactionTarget>, StoreError> {
        let items = self.verification_partition(id, false).await?;
        let events = items
            .iter()
            .filter_map(|i| get_s(i, SK))
            .filter(|sk| sk.starts_with(EVENT_SK_PREFIX))
            .map(str::to_owned)
            .collect();
        let Some((record, personal)) = split_verification(items) else {
            return Ok(None);
        };
        Ok(Some(RedactionTarget {
            verification: verification_from_items(record, personal)?,
            events,
        }))
    }

    async fn save_redaction(
        &self,
        v: &Verification,
        events: &[String],
        replays: &[StoredReplay],
        body: &str,
    ) -> Result<SaveOutcome, StoreError> {
        let audits = events.iter().map(|sk| {
            self.update_if_present(
                key(format!("VER#{}", v.id), sk),
                "REMOVE raw_event",
                "attribute_exists(pk)",
                None,
            )
        });
        futures::future::try_join_all(audits).await?;
        let responses = replays.iter().map(|r| {
            self.update_if_present(
                idempotency_key(&r.scope, &r.key),
                "SET response_body = :body",
                "attribute_exists(response_body)",
                Some(body),
            )
        });
        futures::future::try_join_all(responses).await?;
        let mut items = self.versioned_puts(v)?;
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(personal_key(&v.id)))
            .build()
            .map_err(StoreError::build)?;
        items.push(TransactWriteItem::builder().delete(delete).build());
        match self.transact(items).await {
            Ok(()) => Ok(SaveOutcome::Saved),
            Err(err) => match cancellation(&err) {
                Some(reasons) if failed_condition(&reasons, 0).is_some() || contended(&reasons) => {
                    Ok(SaveOutcome::VersionConflict)
                }
                _ => Err(unavailable("TransactWriteItems")(err)),
            },
        }
    }
}
