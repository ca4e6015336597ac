//! The DynamoDB adapter: one table, string keys `pk`/`sk`, conditional writes and transactions.
//!
//! Items (`pk` / `sk`):
//! - `VER#<verification id>` / `VERIFICATION`: the verification, native attributes, `version` guards
//!   every update.
//! - `CUS#<customer id>` / `CUSTOMER`: `latest_verification_id`, `verified_at`,
//!   `verified_verification_id`, and per provider an `active_<provider>` map `{id, claim_until?}`
//!   (a claim without `claim_until` is confirmed and lasts until the verification ends).
//! - `REF#<provider>#<provider ref>` / `REF`: `verification_id`.
//! - `EVT#<provider>#<event id>` / `EVENT`: a processed webhook, with `expires_at` (TTL).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{
    AttributeValue, KeysAndAttributes, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
    Update,
};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, SecondsFormat, Utc};

use super::{
    Claim, ClaimError, Customer, EventContext, EventRecord, IdempotencyLock, SaveOutcome,
    StoreError, VerificationStore,
};
use crate::domain::idempotency::{Fingerprint, IdempotencyRecord, RecordState, StoredResponse};
use crate::domain::{CustomerEffect, CustomerId, ProviderName, Verification, VerificationId};

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const TTL_ATTRIBUTE: &str = "expires_at";
const VERSION: &str = "version";

type Item = HashMap<String, AttributeValue>;

#[derive(Clone)]
pub struct DynamoDbStore {
    client: Client,
    table: String,
    /// Provider reference → verification id. The mapping never changes once written, so a warm
    /// function resolves repeated webhooks of one provider record without a round trip.
    refs: std::sync::Arc<std::sync::Mutex<HashMap<String, VerificationId>>>,
}

/// Bound on the reference cache; it starts over when full.
const REF_CACHE_ENTRIES: usize = 10_000;

/// How long the init-time pre-warm read may take before init goes on without it.
const PREWARM_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn time(t: DateTime<Utc>) -> AttributeValue {
    s(t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

fn key(pk: String, sk: &str) -> Item {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

fn verification_key(id: &VerificationId) -> Item {
    key(format!("VER#{id}"), "VERIFICATION")
}

fn customer_key(id: &CustomerId) -> Item {
    key(format!("CUS#{id}"), "CUSTOMER")
}

fn ref_key(provider: ProviderName, provider_ref: &str) -> Item {
    key(format!("REF#{provider}#{provider_ref}"), "REF")
}

fn event_key(provider: ProviderName, event_id: &str) -> Item {
    key(format!("EVT#{provider}#{event_id}"), "EVENT")
}

fn active_attr(provider: ProviderName) -> String {
    format!("active_{provider}")
}

fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

fn get_time(item: &Item, name: &str) -> Option<DateTime<Utc>> {
    get_s(item, name)
        .and_then(|raw| DateTime::parse_from_rfc3339(raw).ok())
        .map(|d| d.with_timezone(&Utc))
}

/// The sparse index of verifications still open (non-terminal), by last activity, so the
/// reconciler finds the quiet ones with a Query, never a Scan.
pub const OPEN_INDEX: &str = "open";
const OPEN_PK: &str = "open_pk";
const OPEN_SK: &str = "open_sk";
/// Open verifications spread over this many index partitions.
const OPEN_SHARDS: u32 = 4;

fn open_shard(id: &VerificationId) -> String {
    let last = id.as_str().bytes().last().unwrap_or(0);
    format!("OPEN#{}", u32::from(last) % OPEN_SHARDS)
}

/// `Verification` ↔ item: the aggregate's fields as native attributes, plus the keys, plus the
/// open-index keys while the verification is not terminal.
pub fn verification_to_item(v: &Verification) -> Result<Item, StoreError> {
    let mut item: Item =
        serde_dynamo::to_item(v).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    item.extend(verification_key(&v.id));
    item.insert("kind".into(), s("verification"));
    if !v.status.is_terminal() {
        item.insert(OPEN_PK.into(), s(open_shard(&v.id)));
        item.insert(OPEN_SK.into(), time(v.updated_at));
    }
    Ok(item)
}

pub fn verification_from_item(item: Item) -> Result<Verification, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(format!("verification: {e}")))
}

fn customer_from_item(item: &Item) -> Result<Customer, StoreError> {
    let id = |name| get_s(item, name).and_then(|raw| VerificationId::parse(raw).ok());
    Ok(Customer {
        customer_id: get_s(item, "customer_id")
            .and_then(|raw| CustomerId::parse(raw).ok())
            .ok_or_else(|| StoreError::Corrupt("customer without customer_id".into()))?,
        latest_verification_id: id("latest_verification_id"),
        verified_at: get_time(item, "verified_at"),
        verified_verification_id: id("verified_verification_id"),
    })
}

fn unavailable<E: std::error::Error + Send + Sync + 'static>(
    op: &'static str,
) -> impl Fn(SdkError<E, aws_smithy_runtime_api::http::Response>) -> StoreError {
    move |e| {
        // The SDK's error text carries no item data; log it for operators, keep the client message bland.
        tracing::error!(operation = op, error = %aws_smithy_types::error::display::DisplayErrorContext(&e), "dynamodb call failed");
        StoreError::Unavailable(format!("{op} failed"))
    }
}

/// Why a transaction was canceled: per item, the reason code (`None` where the item was fine)
/// and the item as it was, where the condition asked for it.
type Reasons = Vec<(Option<String>, Option<Item>)>;

fn cancellation(
    err: &SdkError<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
        aws_smithy_runtime_api::http::Response,
    >,
) -> Option<Reasons> {
    let service = err.as_service_error()?;
    let canceled = match service {
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c) => c,
        _ => return None,
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

/// Attempts at a claim while concurrent transactions collide on the same items.
const TRANSACTION_ATTEMPTS: u32 = 8;

const CLAIM_UPDATE: &str = "SET #act = :claim, customer_id = :cid, kind = :kind";
const CLAIM_CONDITION: &str =
    "attribute_not_exists(verified_at) AND (attribute_not_exists(#act) OR #act.claim_until < :now)";

fn claim_names(provider: ProviderName) -> HashMap<String, String> {
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
fn customer_conflict(old: &Item, provider: ProviderName) -> ClaimError {
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

/// Whether a call failed only because its condition did not hold; otherwise the error's text.
fn condition_failed<E>(err: SdkError<E, aws_smithy_runtime_api::http::Response>) -> (bool, String)
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let lost =
        err.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException");
    (
        lost,
        aws_smithy_types::error::display::DisplayErrorContext(err).to_string(),
    )
}

const COMPLETE_KEY: &str =
    "SET #state = :completed, response_status = :status, response_body = :body REMOVE locked_until";
const OWNED_KEY: &str = "#owner = :owner";

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

fn idempotency_key(scope: &str, client_key: &str) -> Item {
    key(format!("IDEM#{scope}#{client_key}"), "IDEMPOTENCY")
}

fn get_n(item: &Item, name: &str) -> Option<i64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
}

/// The record behind a key, as a failed condition returned it.
fn idempotency_from_item(item: &Item) -> Result<IdempotencyRecord, StoreError> {
    let corrupt = || StoreError::Corrupt("idempotency record".into());
    let expires_at = get_n(item, TTL_ATTRIBUTE)
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .ok_or_else(corrupt)?;
    let state = match get_s(item, "state") {
        Some("completed") => RecordState::Completed(StoredResponse {
            status: get_n(item, "response_status")
                .and_then(|s| u16::try_from(s).ok())
                .ok_or_else(corrupt)?,
            body: get_s(item, "response_body").ok_or_else(corrupt)?.to_owned(),
        }),
        Some("in_progress") => RecordState::InProgress {
            locked_until: get_n(item, "locked_until")
                .and_then(DateTime::from_timestamp_millis)
                .ok_or_else(corrupt)?,
        },
        _ => return Err(corrupt()),
    };
    Ok(IdempotencyRecord {
        fingerprint: Fingerprint(get_s(item, "fingerprint").ok_or_else(corrupt)?.to_owned()),
        state,
        expires_at,
    })
}

fn ref_item(provider: ProviderName, provider_ref: &str, id: &VerificationId) -> Item {
    let mut item = ref_key(provider, provider_ref);
    item.insert("kind".into(), s("provider_ref"));
    item.insert("verification_id".into(), s(id.as_str()));
    item
}

impl DynamoDbStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            refs: Default::default(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn put(&self, item: Item, condition: &str) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .build()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Take the key unless a live record holds it: absent, past its 24 h, or a lapsed lock.
    fn lock_put(
        &self,
        lock: &IdempotencyLock,
        now: DateTime<Utc>,
    ) -> Result<TransactWriteItem, StoreError> {
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
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(pk) OR #exp <= :now_s OR (#state = :in_progress AND locked_until <= :now_ms)",
            )
            .expression_attribute_names("#exp", TTL_ATTRIBUTE)
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":now_s", n(now.timestamp()))
            .expression_attribute_values(":now_ms", n(now.timestamp_millis()))
            .expression_attribute_values(":in_progress", s("in_progress"))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Complete the key with the response to replay, if this run still owns it.
    fn lock_completion(
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
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    fn event_item(event: &EventRecord) -> Item {
        let mut item = event_key(event.provider, &event.event_id);
        item.extend([
            ("kind".to_owned(), s("event")),
            ("provider".to_owned(), s(event.provider.as_str())),
            ("event_type".to_owned(), s(&event.event_type)),
            (
                "verification_id".to_owned(),
                s(event.verification_id.as_str()),
            ),
            ("occurred_at".to_owned(), time(event.occurred_at)),
            ("outcome".to_owned(), s(event.outcome)),
            ("received_at".to_owned(), time(event.received_at)),
            (TTL_ATTRIBUTE.to_owned(), n(event.expires_at.timestamp())),
        ]);
        if let Some(raw) = &event.audit {
            item.insert("raw_event".into(), s(raw));
        }
        item
    }

    /// The customer update a transition causes, with the condition that keeps it from touching
    /// another verification's claim or approval.
    fn customer_update(
        &self,
        v: &Verification,
        effect: &CustomerEffect,
    ) -> Result<Option<TransactWriteItem>, StoreError> {
        let mut names = HashMap::from([("#act".to_owned(), active_attr(v.provider))]);
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
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(Some(TransactWriteItem::builder().update(update).build()))
    }
}

#[async_trait]
impl VerificationStore for DynamoDbStore {
    async fn prewarm(&self) {
        // An eventually consistent read of a key no item has: half a read unit, no IAM beyond
        // GetItem. Bounded, so that a slow network cannot stall init.
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
                error = %aws_smithy_types::error::display::DisplayErrorContext(&e),
                "pre-warm read failed"
            ),
            Err(_) => tracing::warn!(
                timeout_ms = PREWARM_TIMEOUT.as_millis() as u64,
                "pre-warm read timed out"
            ),
        }
    }

    async fn claim(&self, claim: &Claim<'_>) -> Result<(), ClaimError> {
        let Some(lock) = claim.lock else {
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(customer_key(claim.customer)))
                .update_expression(CLAIM_UPDATE)
                .condition_expression(CLAIM_CONDITION)
                .set_expression_attribute_names(Some(claim_names(claim.provider)))
                .set_expression_attribute_values(Some(claim_values(claim)))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .send()
                .await;
            return match result {
                Ok(_) => Ok(()),
                Err(err) => {
                    let old = err.as_service_error().and_then(|e| match e {
                        aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c) => {
                            Some(c.item().cloned().unwrap_or_default())
                        }
                        _ => None,
                    });
                    match old {
                        Some(old) => Err(customer_conflict(&old, claim.provider)),
                        None => Err(unavailable("UpdateItem")(err).into()),
                    }
                }
            };
        };
        let customer = Update::builder()
            .table_name(&self.table)
            .set_key(Some(customer_key(claim.customer)))
            .update_expression(CLAIM_UPDATE)
            .condition_expression(CLAIM_CONDITION)
            .set_expression_attribute_names(Some(claim_names(claim.provider)))
            .set_expression_attribute_values(Some(claim_values(claim)))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let items = vec![
            self.lock_put(lock, claim.now)?,
            TransactWriteItem::builder().update(customer).build(),
        ];
        for attempt in 0..TRANSACTION_ATTEMPTS {
            let err = match self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await
            {
                Ok(_) => return Ok(()),
                Err(err) => err,
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
            super::backoff(attempt).await;
        }
        Err(ClaimError::Contended)
    }

    async fn release(
        &self,
        customer: &CustomerId,
        provider: ProviderName,
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
        match result {
            Err(e)
                if !e
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                return Err(unavailable("UpdateItem")(e));
            }
            _ => {}
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
        let mut items = vec![self.put(verification_to_item(&stored)?, "attribute_not_exists(pk)")?];
        if let Some(r) = &v.provider_ref {
            items.push(self.put(ref_item(v.provider, r, &v.id), "attribute_not_exists(pk)")?);
        }
        let confirm = Update::builder()
            .table_name(&self.table)
            .set_key(Some(customer_key(&v.customer_id)))
            .update_expression(
                "SET #act = :confirmed, latest_verification_id = :id, latest_created_at = :at",
            )
            .condition_expression("#act.id = :id")
            .expression_attribute_names("#act", active_attr(v.provider))
            .expression_attribute_values(
                ":confirmed",
                AttributeValue::M(HashMap::from([("id".to_owned(), s(v.id.as_str()))])),
            )
            .expression_attribute_values(":id", s(v.id.as_str()))
            .expression_attribute_values(":at", time(v.created_at))
            .build()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        items.push(TransactWriteItem::builder().update(confirm).build());
        if let Some((lock, response)) = completion {
            items.push(self.lock_completion(lock, response)?);
        }
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map(|_| ())
            .map_err(unavailable("TransactWriteItems"))
    }

    async fn lock_key(&self, lock: &IdempotencyLock, now: DateTime<Utc>) -> Result<(), ClaimError> {
        let put = self.lock_put(lock, now)?;
        let put = put
            .put
            .ok_or_else(|| StoreError::Corrupt("lock without put".into()))?;
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
        match result {
            Ok(_) => Ok(()),
            Err(err) => {
                let old = err.as_service_error().and_then(|e| match e {
                    aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c) => c.item().cloned(),
                    _ => None,
                });
                match old {
                    Some(old) => Err(ClaimError::KeyTaken(idempotency_from_item(&old)?)),
                    None => Err(unavailable("PutItem")(err).into()),
                }
            }
        }
    }

    async fn finish_key(
        &self,
        lock: &IdempotencyLock,
        response: Option<&StoredResponse>,
    ) -> Result<(), StoreError> {
        let key = idempotency_key(&lock.scope, &lock.key);
        let result = match response {
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
                .map_err(condition_failed),
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
                .map_err(condition_failed),
        };
        match result {
            Ok(()) => Ok(()),
            // The lock lapsed and another run owns the key now: nothing of ours to finish.
            Err((true, _)) => Ok(()),
            Err((false, e)) => {
                tracing::error!(error = %e, "finishing an idempotency key failed");
                Err(StoreError::Unavailable(
                    "finishing an idempotency key failed".into(),
                ))
            }
        }
    }

    async fn save_verification(
        &self,
        v: &Verification,
        effect: CustomerEffect,
        new_ref: Option<&str>,
        completion: Option<(&IdempotencyLock, &StoredResponse)>,
    ) -> Result<SaveOutcome, StoreError> {
        let mut next = v.clone();
        next.version = v.version + 1;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(verification_to_item(&next)?))
            .condition_expression("#v = :read")
            .expression_attribute_names("#v", VERSION)
            .expression_attribute_values(":read", n(v.version))
            .build()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        if let Some(r) = new_ref {
            items.push(self.put(ref_item(v.provider, r, &v.id), "attribute_not_exists(pk)")?);
        }
        if let Some((lock, response)) = completion {
            items.push(self.lock_completion(lock, response)?);
        }
        items.extend(self.customer_update(v, &effect)?);
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(SaveOutcome::Saved),
            Err(err) => match cancellation(&err) {
                Some(reasons) if failed_condition(&reasons, 0).is_some() || contended(&reasons) => {
                    Ok(SaveOutcome::VersionConflict)
                }
                _ => Err(unavailable("TransactWriteItems")(err)),
            },
        }
    }

    async fn get_verification(
        &self,
        id: &VerificationId,
    ) -> Result<Option<Verification>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(verification_key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable("GetItem"))?;
        out.item.map(verification_from_item).transpose()
    }

    async fn quiet_open_verifications(
        &self,
        quiet_since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<VerificationId>, StoreError> {
        let mut found = Vec::new();
        for shard in 0..OPEN_SHARDS {
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
                    .limit(i32::try_from(limit.saturating_sub(found.len()).max(1)).unwrap_or(100))
                    .send()
                    .await
                    .map_err(unavailable("Query"))?;
                found.extend(out.items().iter().filter_map(|i| {
                    get_s(i, PK)?
                        .strip_prefix("VER#")
                        .and_then(|id| VerificationId::parse(id).ok())
                }));
                match out.last_evaluated_key {
                    Some(k) if !k.is_empty() && found.len() < limit => start = Some(k),
                    _ => break,
                }
            }
            if found.len() >= limit {
                break;
            }
        }
        found.truncate(limit);
        Ok(found)
    }

    async fn get_customer(&self, id: &CustomerId) -> Result<Option<Customer>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(customer_key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable("GetItem"))?;
        out.item.as_ref().map(customer_from_item).transpose()
    }

    async fn find_by_provider_ref(
        &self,
        provider: ProviderName,
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
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(ref_key(provider, provider_ref)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable("GetItem"))?;
        let found = out
            .item
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
        provider: ProviderName,
        event_id: &str,
    ) -> Result<EventContext, StoreError> {
        let mut pending = KeysAndAttributes::builder()
            .keys(verification_key(id))
            .keys(event_key(provider, event_id))
            .consistent_read(true)
            .build()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut found: Vec<Item> = Vec::with_capacity(2);
        // BatchGetItem may leave keys unprocessed under load; ask again for those only.
        for _ in 0..5 {
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
                _ => {
                    let mut ctx = EventContext {
                        verification: None,
                        already_processed: false,
                    };
                    for item in found {
                        match get_s(&item, SK) {
                            Some("EVENT") => ctx.already_processed = true,
                            Some("VERIFICATION") => {
                                ctx.verification = Some(verification_from_item(item)?)
                            }
                            _ => {}
                        }
                    }
                    return Ok(ctx);
                }
            }
        }
        Err(StoreError::Unavailable(
            "BatchGetItem left keys unprocessed".into(),
        ))
    }

    async fn save_event(
        &self,
        event: &EventRecord,
        updated: Option<(&Verification, CustomerEffect)>,
    ) -> Result<SaveOutcome, StoreError> {
        let event_item = Self::event_item(event);
        let Some((v, effect)) = updated else {
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(event_item))
                .condition_expression("attribute_not_exists(pk)")
                .send()
                .await;
            return match result {
                Ok(_) => Ok(SaveOutcome::Saved),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
                {
                    Ok(SaveOutcome::DuplicateEvent)
                }
                Err(e) => Err(unavailable("PutItem")(e)),
            };
        };
        let read_version = v.version;
        let mut next = v.clone();
        next.version = read_version + 1;
        let mut items = vec![self.put(event_item, "attribute_not_exists(pk)")?, {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(verification_to_item(&next)?))
                .condition_expression("#v = :read")
                .expression_attribute_names("#v", VERSION)
                .expression_attribute_values(":read", n(read_version))
                .build()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            TransactWriteItem::builder().put(put).build()
        }];
        let customer = self.customer_update(v, &effect)?;
        let with_customer = customer.is_some();
        items.extend(customer);
        for attempt in 0..2 {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(SaveOutcome::Saved),
                Err(err) => err,
            };
            let Some(reasons) = cancellation(&err) else {
                return Err(unavailable("TransactWriteItems")(err));
            };
            let failed = |i: usize| failed_condition(&reasons, i).is_some();
            if failed(0) {
                return Ok(SaveOutcome::DuplicateEvent);
            }
            if contended(&reasons) {
                // A concurrent writer held the verification: read again and re-apply.
                return Ok(SaveOutcome::VersionConflict);
            }
            if failed(1) {
                return Ok(SaveOutcome::VersionConflict);
            }
            if with_customer && failed(2) && attempt == 0 {
                // The customer record belongs to another verification's claim or approval: the
                // verification's own change still applies.
                tracing::warn!(verification_id = %v.id, "customer record not ours; applying the verification change alone");
                items.pop();
                continue;
            }
            return Err(unavailable("TransactWriteItems")(err));
        }
        Err(StoreError::Unavailable(
            "TransactWriteItems kept failing".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Metadata, NewVerification, Observation, Status};

    #[test]
    fn a_verification_round_trips_through_its_item() {
        let now = Utc::now();
        let mut v = Verification::start(
            NewVerification {
                id: VerificationId::generate(),
                customer_id: CustomerId::parse("cus_1").unwrap(),
                provider: ProviderName::Ondato,
                provider_ref: Some("idv".into()),
                verification_url: Some("https://h/?id=idv".into()),
                metadata: Metadata::from([("k".into(), "v".into())]),
                initial: Observation {
                    status: Status::Pending,
                    raw_status: "IDV Pending".into(),
                    reason: None,
                    required_actions: vec![],
                    occurred_at: now,
                    decision_ref: None,
                },
            },
            now,
        );
        v.version = 3;
        let item = verification_to_item(&v).unwrap();
        assert_eq!(get_s(&item, PK), Some(format!("VER#{}", v.id).as_str()));
        assert_eq!(
            item.get(VERSION)
                .and_then(|a| a.as_n().ok())
                .map(String::as_str),
            Some("3")
        );
        assert_eq!(verification_from_item(item).unwrap(), v);
    }
}
