//! The catch-up feed (`GET /v1/events`): events in the order they were published, for 30 days.
//!
//! Each event is one item under `FEED#<shard>`, the shard drawn from its verification id
//! ([`shard_of`]: a verification's events share a shard and stay in order), sorted by
//! [`FeedPosition`]: publication time in milliseconds, the event's place in its publication
//! (events of one write keep the order notify gave them), then the event id. Eight shards spread
//! 1,000 events/s at about 125 writes/s per partition key, far below the 1,000 writes/s one
//! partition takes; a page reads the eight shards in parallel and merges them.
//!
//! An event is listed only once it is [`SETTLE`]-old, and notify writes each batch again at a
//! later position when its write took longer than half of that, so an event whose write was
//! still in flight cannot appear behind a cursor a reader already holds: cursors are stable.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::EventId;
use crate::domain::VerificationId;

/// Partition keys of the feed.
pub const SHARDS: u8 = 8;

/// How old an event must be before the feed lists it (twice the longest a publication write may
/// take before notify writes it again).
pub const SETTLE: std::time::Duration = std::time::Duration::from_secs(5);

/// Events per feed write: they share one publication time, in order.
pub const WRITE_BATCH: usize = 25;

/// A page holds at most this many events; 20 when `limit` is not given.
pub const MAX_LIMIT: usize = 100;
pub const DEFAULT_LIMIT: usize = 20;

/// The shard of a verification's events.
pub fn shard_of(verification: &VerificationId) -> u8 {
    Sha256::digest(verification.as_str().as_bytes())[0] % SHARDS
}

/// Where an event sits in the feed: its publication millisecond, its place in that
/// publication, then its id. The cursor a client holds is this position,
/// `<ms>-<ordinal>-<event id>` (`^[0-9]{13}-[0-9]{4}-evt_[0-7][0-9A-HJKMNP-TV-Z]{25}$`): every
/// string of that form is a position, so a cursor the schema allows is never refused.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FeedPosition {
    published_ms: u64,
    ordinal: u16,
    id: EventId,
}

impl FeedPosition {
    pub fn new(published_at: DateTime<Utc>, ordinal: u16, id: EventId) -> Self {
        Self {
            published_ms: u64::try_from(published_at.timestamp_millis()).unwrap_or(0),
            ordinal,
            id,
        }
    }

    /// The item's sort key: 13 digits of milliseconds, `#`, 4 of the ordinal, `#`, the event
    /// id (sorts as it orders).
    pub fn sort_key(&self) -> String {
        format!("{:013}#{:04}#{}", self.published_ms, self.ordinal, self.id)
    }

    /// The sort key of the first position at or after `at` (a bound of a feed read).
    pub fn bound(at: DateTime<Utc>) -> String {
        format!("{:013}", at.timestamp_millis().max(0))
    }

    pub fn from_sort_key(raw: &str) -> Result<Self, &'static str> {
        Self::parse(raw, '#')
    }

    fn parse(raw: &str, separator: char) -> Result<Self, &'static str> {
        let mut parts = raw.splitn(3, separator);
        let (Some(ms), Some(ordinal), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
            return Err("is not a feed position");
        };
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(ms, 13) || !digits(ordinal, 4) {
            return Err("is not a feed position");
        }
        Ok(Self {
            published_ms: ms.parse().map_err(|_| "is not a feed position")?,
            ordinal: ordinal.parse().map_err(|_| "is not a feed position")?,
            id: EventId::parse(id)?,
        })
    }

    /// The cursor of this position.
    pub fn cursor(&self) -> String {
        format!("{:013}-{:04}-{}", self.published_ms, self.ordinal, self.id)
    }

    pub fn from_cursor(raw: &str) -> Result<Self, &'static str> {
        Self::parse(raw, '-').map_err(|_| "is not a cursor this API returned")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(ms: i64, ordinal: u16) -> FeedPosition {
        let at = DateTime::from_timestamp_millis(ms).unwrap();
        let id = EventId::of(&VerificationId::generate(), 1, at);
        FeedPosition::new(at, ordinal, id)
    }

    #[test]
    fn a_cursor_round_trips_and_sorts_as_its_position() {
        let a = position(1_796_000_000_000, 1);
        let b = position(1_796_000_000_001, 0);
        assert_eq!(FeedPosition::from_cursor(&a.cursor()).unwrap(), a);
        assert!(a < b && a.sort_key() < b.sort_key());
        // One publication keeps its order whatever the ids.
        let (first, second) = (
            position(1_796_000_000_000, 2),
            position(1_796_000_000_000, 10),
        );
        assert!(first.sort_key() < second.sort_key());
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
            "0",
            "1796000000000-evt_01M8P7TZ606M6K4JCFQ6RH879D",
            "1796000000000-0001-evt_x",
            "1796000000000-1-evt_01M8P7TZ606M6K4JCFQ6RH879D",
            "1796000000000#0001#evt_01M8P7TZ606M6K4JCFQ6RH879D",
            "1796000000000-0001-evt_01m8p7tz606m6k4jcfq6rh879d",
            "1796000000000-0001-evt_81M8P7TZ606M6K4JCFQ6RH879D",
        ] {
            assert!(FeedPosition::from_cursor(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_cursor_of_the_documented_form_is_a_position() {
        let raw = "0000000000000-9999-evt_7ZZZZZZZZZZZZZZZZZZZZZZZZZ";
        assert_eq!(FeedPosition::from_cursor(raw).unwrap().cursor(), raw);
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
