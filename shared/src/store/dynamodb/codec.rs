//! Items of the one table and their attributes. Keys (`pk` / `sk`):
//! - `VER#<verification id>` / `VERIFICATION`: the decision record (status, decision, history,
//!   provider ids, times), native attributes, no TTL; `version` guards every update; while open,
//!   `open_pk`/`open_sk` place it in the sparse `open` index.
//! - `VER#<verification id>` / `VERIFICATION#PERSONAL`: its personal fields (`verification_url`,
//!   `metadata`, `required_actions`), rewritten with every save of the record, with `expires_at`
//!   (TTL) once the verification has ended; absent once redacted (the record then holds only
//!   `[redacted]` markers). An item written before the split holds those fields itself.
//! - `VER#<verification id>` / `EVENT#<provider>#<event id>`: a processed webhook, with
//!   `expires_at` (TTL); under the verification's key so a redaction finds its audit copies with
//!   one Query. (`EVT#<provider>#<event id>` / `EVENT` is the layout before that; still read for
//!   deduplication until it expires.)
//! - `CUS#<customer id>` / `CUSTOMER`: `latest_verification_id`, `verified_at`,
//!   `verified_verification_id`, and per provider an `active_<provider>` map `{id, claim_until?}`
//!   (a claim without `claim_until` is confirmed and lasts until the verification ends).
//! - `REF#<provider>#<provider ref>` / `REF`: `verification_id`.
//! - `IDEM#<scope>#<key>` / `IDEMPOTENCY`: an idempotency record, with `expires_at` (TTL).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, SecondsFormat, Utc};

use crate::domain::idempotency::{Fingerprint, IdempotencyRecord, RecordState, StoredResponse};
use crate::domain::{CustomerId, ProviderName, Verification, VerificationId};
use crate::store::{Customer, EventRecord, StoreError};

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const TTL_ATTRIBUTE: &str = "expires_at";
pub(super) const VERSION: &str = "version";

pub(super) type Item = HashMap<String, AttributeValue>;

pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(super) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(super) fn time(t: DateTime<Utc>) -> AttributeValue {
    s(t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

pub(super) fn key(pk: String, sk: &str) -> Item {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

pub(super) fn verification_key(id: &VerificationId) -> Item {
    key(format!("VER#{id}"), "VERIFICATION")
}

pub(super) fn customer_key(id: &CustomerId) -> Item {
    key(format!("CUS#{id}"), "CUSTOMER")
}

pub(super) fn ref_key(provider: &ProviderName, provider_ref: &str) -> Item {
    key(format!("REF#{provider}#{provider_ref}"), "REF")
}

/// The sort key of a verification's personal fields, beside its record (`VERIFICATION`).
pub const PERSONAL_SK: &str = "VERIFICATION#PERSONAL";

/// The attributes of a verification that hold personal values: stored in the personal item.
pub(super) const PERSONAL_ATTRIBUTES: [&str; 3] =
    ["verification_url", "metadata", "required_actions"];

pub(super) fn personal_key(id: &VerificationId) -> Item {
    key(format!("VER#{id}"), PERSONAL_SK)
}

/// The prefix of the sort keys of a verification's processed events.
pub(super) const EVENT_SK_PREFIX: &str = "EVENT#";

pub(super) fn event_key(id: &VerificationId, provider: &ProviderName, event_id: &str) -> Item {
    key(
        format!("VER#{id}"),
        &format!("{EVENT_SK_PREFIX}{provider}#{event_id}"),
    )
}

/// Where an event was recorded before events moved under their verification's key.
pub(super) fn legacy_event_key(provider: &ProviderName, event_id: &str) -> Item {
    key(format!("EVT#{provider}#{event_id}"), "EVENT")
}

pub(super) fn idempotency_key(scope: &str, client_key: &str) -> Item {
    key(format!("IDEM#{scope}#{client_key}"), "IDEMPOTENCY")
}

/// The customer attribute holding the active claim for one provider.
pub(super) fn active_attr(provider: &ProviderName) -> String {
    format!("active_{provider}")
}

pub(super) fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

pub(super) fn get_n(item: &Item, name: &str) -> Option<i64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
}

pub(super) fn get_time(item: &Item, name: &str) -> Option<DateTime<Utc>> {
    get_s(item, name)
        .and_then(|raw| DateTime::parse_from_rfc3339(raw).ok())
        .map(|d| d.with_timezone(&Utc))
}

/// The sparse index of verifications still open (non-terminal), by last activity, so the
/// reconciler finds the quiet ones with a Query, never a Scan.
pub const OPEN_INDEX: &str = "open";
pub(super) const OPEN_PK: &str = "open_pk";
pub(super) const OPEN_SK: &str = "open_sk";
/// Open verifications spread over this many index partitions.
pub(super) const OPEN_SHARDS: u32 = 4;

fn open_shard(id: &VerificationId) -> String {
    let last = id.as_str().bytes().last().unwrap_or(0);
    format!("OPEN#{}", u32::from(last) % OPEN_SHARDS)
}

/// `Verification` ↔ item: the aggregate's fields as native attributes, plus the keys, plus the
/// open-index keys while the verification is not terminal.
pub fn verification_to_item(v: &Verification) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::to_item(v).map_err(|e| StoreError::Corrupt {
        what: "a verification could not be written as an item".into(),
        source: Some(Box::new(e)),
    })?;
    item.extend(verification_key(&v.id));
    item.insert("kind".into(), s("verification"));
    if !v.status.is_terminal() {
        item.insert(OPEN_PK.into(), s(open_shard(&v.id)));
        item.insert(OPEN_SK.into(), time(v.updated_at));
    }
    Ok(item)
}

/// The verification as its two items: the decision record, and (unless it was redacted) its
/// personal fields, which expire `retention` after the last change of an ended verification.
pub fn verification_items(
    v: &Verification,
    retention: Duration,
) -> Result<(Item, Option<Item>), StoreError> {
    let mut item = verification_to_item(v)?;
    if v.redaction.is_some() {
        // Only markers are left: they stay with the record, and there is no personal item.
        return Ok((item, None));
    }
    let mut personal = personal_key(&v.id);
    personal.insert("kind".into(), s("personal"));
    for name in PERSONAL_ATTRIBUTES {
        if let Some(value) = item.remove(name) {
            personal.insert(name.to_owned(), value);
        }
    }
    if v.status.is_terminal() {
        personal.insert(
            TTL_ATTRIBUTE.to_owned(),
            n((v.updated_at + retention).timestamp()),
        );
    }
    Ok((item, Some(personal)))
}

/// A verification from its record and its personal item (absent when expired or redacted, and
/// for an item written before the split, which holds the personal fields itself).
pub fn verification_from_items(
    mut item: Item,
    personal: Option<Item>,
) -> Result<Verification, StoreError> {
    if let Some(mut personal) = personal {
        for name in PERSONAL_ATTRIBUTES {
            if let Some(value) = personal.remove(name) {
                item.insert(name.to_owned(), value);
            }
        }
    }
    verification_from_item(item)
}

pub fn verification_from_item(item: Item) -> Result<Verification, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt {
        what: "verification".into(),
        source: Some(Box::new(e)),
    })
}

pub(super) fn customer_from_item(item: &Item) -> Result<Customer, StoreError> {
    let id = |name| get_s(item, name).and_then(|raw| VerificationId::parse(raw).ok());
    Ok(Customer {
        customer_id: get_s(item, "customer_id")
            .and_then(|raw| CustomerId::parse(raw).ok())
            .ok_or_else(|| StoreError::corrupt("customer without customer_id"))?,
        latest_verification_id: id("latest_verification_id"),
        verified_at: get_time(item, "verified_at"),
        verified_verification_id: id("verified_verification_id"),
    })
}

/// The record behind a key, as a failed condition returned it.
pub(super) fn idempotency_from_item(item: &Item) -> Result<IdempotencyRecord, StoreError> {
    let corrupt = || StoreError::corrupt("idempotency record");
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

pub(super) fn ref_item(provider: &ProviderName, provider_ref: &str, id: &VerificationId) -> Item {
    let mut item = ref_key(provider, provider_ref);
    item.insert("kind".into(), s("provider_ref"));
    item.insert("verification_id".into(), s(id.as_str()));
    item
}

pub(super) fn event_item(event: &EventRecord) -> Item {
    let mut item = event_key(&event.verification_id, &event.provider, &event.event_id);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Metadata, NewVerification, Observation, Status};

    /// A verification started in `status` (its first observation), at `version`.
    fn started(status: Status, raw_status: &str, version: u64) -> Verification {
        let now = Utc::now();
        let mut v = Verification::start(
            NewVerification {
                id: VerificationId::generate(),
                customer_id: CustomerId::parse("cus_1").unwrap(),
                provider: ProviderName::from_static("acme"),
                provider_ref: Some("idv".into()),
                verification_url: Some("https://h/?id=idv".into()),
                metadata: Metadata::from([("k".into(), "v".into())]),
                initial: Observation {
                    status,
                    raw_status: raw_status.into(),
                    reason: None,
                    required_actions: vec![],
                    occurred_at: now,
                    decision_ref: None,
                },
            },
            now,
        );
        v.version = version;
        v
    }

    #[test]
    fn a_verification_round_trips_through_its_item() {
        let v = started(Status::Pending, "IDV Pending", 3);
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

    fn ended() -> Verification {
        started(Status::Rejected, "rejected", 1)
    }

    #[test]
    fn personal_fields_live_in_their_own_item_which_expires_once_the_verification_ended() {
        let v = ended();
        let (record, personal) = verification_items(&v, Duration::days(90)).unwrap();
        let personal = personal.unwrap();
        for name in PERSONAL_ATTRIBUTES {
            assert!(!record.contains_key(name), "{name} in the record");
            assert!(
                personal.contains_key(name),
                "{name} not in the personal item"
            );
        }
        assert!(!record.contains_key(TTL_ATTRIBUTE));
        assert_eq!(
            get_n(&personal, TTL_ATTRIBUTE),
            Some((v.updated_at + Duration::days(90)).timestamp())
        );
        assert_eq!(get_s(&personal, SK), Some(PERSONAL_SK));
        assert_eq!(
            verification_from_items(record.clone(), Some(personal)).unwrap(),
            v
        );
        // Expired: the record alone reads with empty personal fields.
        let alone = verification_from_items(record, None).unwrap();
        assert_eq!((alone.verification_url, alone.metadata.len()), (None, 0));
    }

    #[test]
    fn an_open_verification_has_no_ttl_and_a_redacted_one_no_personal_item() {
        let mut v = ended();
        v.status = Status::Pending;
        let (_, personal) = verification_items(&v, Duration::days(90)).unwrap();
        assert!(!personal.unwrap().contains_key(TTL_ATTRIBUTE));
        let mut v = ended();
        v.redact(Utc::now(), crate::domain::ProviderCopy::NotSupported);
        let (record, personal) = verification_items(&v, Duration::days(90)).unwrap();
        assert!(personal.is_none());
        assert_eq!(verification_from_items(record, None).unwrap(), v);
    }

    #[test]
    fn an_item_written_before_the_split_still_reads_whole() {
        let v = ended();
        let legacy = verification_to_item(&v).unwrap();
        assert_eq!(verification_from_items(legacy, None).unwrap(), v);
    }
}
