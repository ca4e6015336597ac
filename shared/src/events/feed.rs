//! The catch-up feed (`GET /v1/events`): events in the order they were published, for 30 days.
//!
//! Each event is one item under `FEED#<shard>`, the shard drawn from its verification id
//! ([`shard_of`]: a verification's events share a shard and stay in order), sorted by
//! [`FeedPosition`]: publication time in milliseconds, then the event id. Eight shards spread
//! 1,000 events/s at about 125 writes/s per partition key, far below the 1,000 writes/s one
//! partition takes; a page reads the eight shards in parallel and merges them.
//!
//! An event is listed only once it is [`SETTLE`]-old, so an event whose write is still in flight
//! cannot appear behind a cursor a reader already holds: cursors are stable.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::EventId;
use crate::domain::VerificationId;

/// Partition keys of the feed.
pub const SHARDS: u8 = 8;

/// How old an event must be before the feed lists it (the longest a publication write can be in
/// flight).
pub const SETTLE: std::time::Duration = std::time::Duration::from_secs(5);

/// A page holds at most this many events; 20 when `limit` is not given.
pub const MAX_LIMIT: usize = 100;
pub const DEFAULT_LIMIT: usize = 20;

/// The shard of a verification's events.
pub fn shard_of(verification: &VerificationId) -> u8 {
    Sha256::digest(verification.as_str().as_bytes())[0] % SHARDS
}

/// Where an event sits in the feed: its publication millisecond, then its id. The cursor a
/// client holds is this position, opaque (base64url).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FeedPosition {
    published_ms: u64,
    id: EventId,
}

impl FeedPosition {
    pub fn new(published_at: DateTime<Utc>, id: EventId) -> Self {
        Self {
            published_ms: u64::try_from(published_at.timestamp_millis()).unwrap_or(0),
            id,
        }
    }

    /// The item's sort key: 13 digits of milliseconds, `#`, the event id (sorts as it orders).
    pub fn sort_key(&self) -> String {
        format!("{:013}#{}", self.published_ms, self.id)
    }

    /// The sort key of the first position at or after `at` (a bound of a feed read).
    pub fn bound(at: DateTime<Utc>) -> String {
        format!("{:013}", at.timestamp_millis().max(0))
    }

    pub fn from_sort_key(raw: &str) -> Result<Self, &'static str> {
        let (ms, id) = raw.split_once('#').ok_or("is not a feed position")?;
        if ms.len() != 13 || !ms.bytes().all(|b| b.is_ascii_digit()) {
            return Err("is not a feed position");
        }
        Ok(Self {
            published_ms: ms.parse().map_err(|_| "is not a feed position")?,
            id: EventId::parse(id)?,
        })
    }

    pub fn cursor(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.sort_key())
    }

    pub fn from_cursor(raw: &str) -> Result<Self, &'static str> {
        let bytes = URL_SAFE_NO_PAD
            .decode(raw)
            .map_err(|_| "is not a cursor this API returned")?;
        let text = String::from_utf8(bytes).map_err(|_| "is not a cursor this API returned")?;
        Self::from_sort_key(&text).map_err(|_| "is not a cursor this API returned")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(ms: i64, sequence: u64) -> FeedPosition {
        let at = DateTime::from_timestamp_millis(ms).unwrap();
        let id = EventId::of(&VerificationId::generate(), sequence, at);
        FeedPosition::new(at, id)
    }

    #[test]
    fn a_cursor_round_trips_and_sorts_as_its_position() {
        let a = position(1_796_000_000_000, 1);
        let b = position(1_796_000_000_001, 1);
        assert_eq!(FeedPosition::from_cursor(&a.cursor()).unwrap(), a);
        assert!(a < b && a.sort_key() < b.sort_key());
        assert!(
            FeedPosition::bound(DateTime::from_timestamp_millis(1_796_000_000_001).unwrap())
                <= b.sort_key()
        );
    }

    #[test]
    fn foreign_cursors_are_refused() {
        for bad in [
            "",
            "abc",
            "MTIz",
            &URL_SAFE_NO_PAD.encode("1796000000000#evt_x"),
        ] {
            assert!(FeedPosition::from_cursor(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn verifications_spread_over_every_shard() {
        let mut seen = [0u32; SHARDS as usize];
        for _ in 0..800 {
            seen[usize::from(shard_of(&VerificationId::generate()))] += 1;
        }
        assert!(seen.iter().all(|n| *n > 50), "{seen:?}");
    }
}
