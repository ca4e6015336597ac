//! Outbound events to the business (DESIGN §9): every status change of a verification becomes one
//! event, computed from the table's change stream (old and new image of the verification item),
//! so the request paths write nothing extra.
//!
//! - [`events_of_change`] turns one stored change into its events: one per new history entry,
//!   numbered by `sequence` (the entry's position in the verification's whole history, dropped
//!   entries counted), so a consumer orders them and sees gaps.
//! - An event's id is derived from the verification and the sequence ([`EventId::of`]): every
//!   retry of the stream record, every delivery attempt and the catch-up feed carry the same id.
//! - [`signature`] signs deliveries per Standard Webhooks v1; [`retry`] is the delivery schedule;
//!   [`feed`] is the cursor of `GET /v1/events`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::domain::{CustomerId, HistoryEntry, ProviderName, Status, Verification, VerificationId};

pub mod feed;
pub mod retry;
pub mod signature;

/// `evt_` and a ULID: the millisecond the change was recorded, then 80 bits derived from the
/// verification id and the sequence (so the same change always has the same id).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "String")]
pub struct EventId(String);

impl EventId {
    const PREFIX: &'static str = "evt_";

    pub fn of(verification: &VerificationId, sequence: u64, recorded_at: DateTime<Utc>) -> Self {
        let digest = Sha256::new()
            .chain_update(verification.as_str())
            .chain_update(b"#")
            .chain_update(sequence.to_be_bytes())
            .finalize();
        let mut random = [0u8; 16];
        random[6..].copy_from_slice(&digest[..10]);
        let millis = u64::try_from(recorded_at.timestamp_millis()).unwrap_or(0);
        let ulid = ulid::Ulid::from_parts(millis, u128::from_be_bytes(random));
        Self(format!("{}{ulid}", Self::PREFIX))
    }

    /// `evt_` and a ULID exactly as we write it: 26 upper-case Crockford characters, the first
    /// at most `7` (`^evt_[0-7][0-9A-HJKMNP-TV-Z]{25}$`).
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let ulid = raw
            .strip_prefix(Self::PREFIX)
            .ok_or("must start with evt_")?;
        let crockford =
            |b: u8| b.is_ascii_digit() || (b.is_ascii_uppercase() && !b"ILOU".contains(&b));
        let well_formed =
            ulid.len() == 26 && ulid.bytes().all(crockford) && ulid.as_bytes()[0] <= b'7';
        if well_formed {
            Ok(Self(raw.to_owned()))
        } else {
            Err("is not an event id")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<EventId> for String {
    fn from(value: EventId) -> Self {
        value.0
    }
}

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One status change, as the business receives it.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboundEvent {
    pub id: EventId,
    pub status: Status,
    pub created_at: DateTime<Utc>,
    pub verification_id: VerificationId,
    pub customer_id: CustomerId,
    pub provider: ProviderName,
    pub sequence: u64,
    pub previous_status: Option<Status>,
    /// A terminal decision replaced by a newer, different one.
    pub superseded: bool,
    /// The provider's time of the change.
    pub occurred_at: DateTime<Utc>,
    /// The decision as `GET` shows it, on the event that made it (the newest change of a write).
    pub decision: Option<Value>,
}

impl OutboundEvent {
    /// `verification.<status>`.
    pub fn event_type(&self) -> String {
        format!("verification.{}", self.status.as_str())
    }

    /// The event's JSON: the exact bytes queued, signed, delivered and listed.
    pub fn to_json(&self) -> String {
        let ts = crate::service::ts;
        json!({
            "id": self.id,
            "type": self.event_type(),
            "created_at": ts(self.created_at),
            "data": {
                "verification_id": self.verification_id,
                "customer_id": self.customer_id,
                "provider": self.provider,
                "status": self.status,
                "previous_status": self.previous_status,
                "superseded": self.superseded,
                "sequence": self.sequence,
                "occurred_at": ts(self.occurred_at),
                "decision": self.decision,
            },
        })
        .to_string()
    }
}

/// The position of each kept history entry in the whole history, from 1: the first entry is 1,
/// the ones after it come after the dropped ones.
fn numbered(v: &Verification) -> impl Iterator<Item = (u64, &HistoryEntry)> {
    let dropped = u64::from(v.history_dropped);
    v.history.iter().enumerate().map(move |(i, entry)| {
        let i = i as u64;
        (if i == 0 { 1 } else { dropped + i + 1 }, entry)
    })
}

/// How many status changes a verification has had in all.
fn changes(v: &Verification) -> u64 {
    numbered(v).last().map_or(0, |(sequence, _)| sequence)
}

/// The events of one stored change of a verification: one per history entry the new image has
/// beyond the old one (none when only details were refreshed), oldest first.
pub fn events_of_change(old: Option<&Verification>, new: &Verification) -> Vec<OutboundEvent> {
    let seen = old.map_or(0, changes);
    let newest = changes(new);
    numbered(new)
        .filter(|(sequence, _)| *sequence > seen)
        .map(|(sequence, entry)| OutboundEvent {
            id: EventId::of(&new.id, sequence, entry.recorded_at),
            status: entry.status,
            created_at: entry.recorded_at,
            verification_id: new.id.clone(),
            customer_id: new.customer_id.clone(),
            provider: new.provider.clone(),
            sequence,
            previous_status: entry.from,
            superseded: entry.superseded,
            occurred_at: entry.at,
            decision: new
                .decision
                .as_ref()
                .filter(|_| sequence == newest)
                .map(crate::service::decision_json),
        })
        .collect()
}

#[cfg(test)]
mod tests;
