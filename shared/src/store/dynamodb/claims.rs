//! A create's conditional writes: the customer's one active slot per provider (claimed, with the
//! idempotency key when one is sent, in one round trip), then confirmed together with the new
//! verification, or given back when the provider call failed.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};

use super::codec::{
    active_attr, customer_key, get_s, get_time, idempotency_from_item, n, ref_item, s, time,
    verification_items, Item,
};
use super::{cancellation, contended, failed_condition, unavailable, DynamoDbStore};
use crate::domain::idempotency::StoredResponse;
use crate::domain::{CustomerId, ProviderName, Verification, VerificationId};
use crate::store::{
    backoff, Claim, ClaimError, CreateClaims, IdempotencyKeys, IdempotencyLock, StoreError,
};

/// Attempts at a claim while concurrent transactions collide on the same items.
const TRANSACTION_ATTEMPTS: u32 = 8;

const CLAIM_UPDATE: &str = "SET #act = :claim, customer_id = :cid, kind = :kind";
const CLAIM_CONDITION: &str =
    "attribute_not_exists(verified_at) AND (attribute_not_exists(#act) OR #act.claim_until < :now)";

fn claim_names(provider: &ProviderName) -> HashMap<String, String> {
    HashMap::from([("#act".to_owned(), active_attr(provider))])
}

fn claim_values(claim: &Claim<'_>) -> HashMap<String, AttributeValue> {
    let slot = HashMap::from([
        ("id".to_owned(), s(claim.verification.as_str())),
        (
            "claim_until".to_owned(),
            n(claim.claim_until.timestamp_millis()),
        ),
    ]);
    HashMap::from([
        (":claim".to_owned(), AttributeValue::M(slot)),
        (":cid".to_owned(), s(claim.customer.as_str())),
        (":kind".to_owned(), s("customer")),
        (":now".to_owned(), n(claim.now.timestamp_millis())),
    ])
}

/// Why the customer's slot could not be claimed, from the customer item as it was.
fn customer_conflict(old: &Item, provider: &ProviderName) -> ClaimError {
    if old.contains_key("verified_at") {
        return ClaimError::AlreadyVerified {
            verification_id: get_s(old, "verified_verification_id").map(str::to_owned),
            verified_at: get_time(old, "verified_at"),
        };
    }
    let active = old
        .get(&active_attr(provider))
        .and_then(|v| v.as_m().ok())
        .and_then(|m| get_s(m, "id"))
        .unwrap_or_default()
        .to_owned();
    ClaimError::AlreadyActive {
        verification_id: active,
    }
}

impl DynamoDbStore {
    /// The customer's slot, taken unless the customer is verified or another claim is live.
    fn claim_update(&self, claim: &Claim<'_>) -> Result<Update, StoreError> {
        Update::builder()
            .table_name(&self.table)
            .set_key(Some(customer_key(claim.customer)))
            .update_expression(CLAIM_UPDATE)
            .condition_expression(CLAIM_CONDITION)
            .set_expression_attribute_names(Some(claim_names(claim.provider)))
            .set_expression_attribute_values(Some(claim_values(claim)))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(StoreError::build)
    }

    /// A claim without a key: the same update, alone (`UpdateItem`).
    async fn claim_alone(&self, claim: &Claim<'_>) -> Result<(), ClaimError> {
        let u = self.claim_update(claim)?;
        let result = self
            .client
            .update_item()
            .table_name(u.table_name)
            .set_key(Some(u.key))
            .update_expression(u.update_expression)
            .set_condition_expression(u.condition_expression)
            .set_expression_attribute_names(u.expression_attribute_names)
            .set_expression_attribute_values(u.expression_attribute_values)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let Err(err) = result else {
            return Ok(());
        };
        match err.as_service_error() {
            Some(UpdateItemError::ConditionalCheckFailedException(c)) => Err(customer_conflict(
                &c.item().cloned().unwrap_or_default(),
                claim.provider,
            )),
            _ => Err(unavailable("UpdateItem")(err).into()),
        }
    }

    /// A claim with a key: the key's lock and the customer's slot in one transaction, retried
    /// while concurrent transactions collide on the same items.
    async fn claim_with_key(
        &self,
        claim: &Claim<'_>,
        lock: &IdempotencyLock,
    ) -> Result<(), ClaimError> {
        let customer = self.claim_update(claim)?;
        let items = vec![
            TransactWriteItem::builder()
                .put(self.lock_put(lock, claim.now)?)
                .build(),
            TransactWriteItem::builder().update(customer).build(),
        ];
        for attempt in 0..TRANSACTION_ATTEMPTS {
            let Err(err) = self.transact(items.clone()).await else {
                return Ok(());
            };
            let Some(reasons) = cancellation(&err) else {
                return Err(unavailable("TransactWriteItems")(err).into());
            };
            if let Some(old) = failed_condition(&reasons, 0) {
                return Err(ClaimError::KeyTaken(idempotency_from_item(old)?));
            }
            if let Some(old) = failed_condition(&reasons, 1) {
                return Err(customer_conflict(old, claim.provider));
            }
            if !contended(&reasons) {
                return Err(unavailable("TransactWriteItems")(err).into());
            }
            backoff(attempt).await;
        }
        Err(ClaimError::Contended)
    }

    /// Confirm the customer's claim for this verification and make it the latest.
    fn confirm_claim(&self, v: &Verification) -> Result<TransactWriteItem, StoreError> {
        let confirm = Update::builder()
            .table_name(&self.table)
            .set_key(Some(customer_key(&v.customer_id)))
            .update_expression(
                "SET #act = :confirmed, latest_verification_id = :id, latest_created_at = :at",
            )
            .condition_expression("#act.id = :id")
            .expression_attribute_names("#act", active_attr(&v.provider))
            .expression_attribute_values(
                ":confirmed",
                AttributeValue::M(HashMap::from([("id".to_owned(), s(v.id.as_str()))])),
            )
            .expression_attribute_values(":id", s(v.id.as_str()))
            .expression_attribute_values(":at", time(v.created_at))
            .build()
            .map_err(StoreError::build)?;
        Ok(TransactWriteItem::builder().update(confirm).build())
    }
}

#[async_trait]
impl CreateClaims for DynamoDbStore {
    async fn claim(&self, claim: &Claim<'_>) -> Result<(), ClaimError> {
        match claim.lock {
            None => self.claim_alone(claim).await,
            Some(lock) => self.claim_with_key(claim, lock).await,
        }
    }

    async fn release(
        &self,
        customer: &CustomerId,
        provider: &ProviderName,
        verification: &VerificationId,
        lock: Option<(&IdempotencyLock, Option<&StoredResponse>)>,
    ) -> Result<(), StoreError> {
        // The failure path: two small writes, each conditional on still being ours.
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(customer_key(customer)))
            .update_expression("REMOVE #act")
            .condition_expression("#act.id = :id")
            .expression_attribute_names("#act", active_attr(provider))
            .expression_attribute_values(":id", s(verification.as_str()))
            .send()
            .await;
        if let Err(e) = result {
            if !e
                .as_service_error()
                .is_some_and(UpdateItemError::is_conditional_check_failed_exception)
            {
                return Err(unavailable("UpdateItem")(e));
            }
        }
        match lock {
            Some((lock, response)) => self.finish_key(lock, response).await,
            None => Ok(()),
        }
    }

    async fn insert_verification(
        &self,
        v: &Verification,
        completion: Option<(&IdempotencyLock, &StoredResponse)>,
    ) -> Result<(), StoreError> {
        let mut stored = v.clone();
        stored.version = 1;
        let (record, personal) = verification_items(&stored, self.personal_retention)?;
        let mut items = vec![self.put(record, "attribute_not_exists(pk)")?];
        items.extend(personal.map(|p| self.put_always(p)).transpose()?);
        if let Some(r) = &v.provider_ref {
            items.push(self.put(ref_item(&v.provider, r, &v.id), "attribute_not_exists(pk)")?);
        }
        items.push(self.confirm_claim(v)?);
        if let Some((lock, response)) = completion {
            items.push(self.lock_completion(lock, response)?);
        }
        self.transact(items)
            .await
            .map_err(unavailable("TransactWriteItems"))
    }
}
