//! `GET /v1/events`: the catch-up feed, a page at a time. A page lists the events after the
//! cursor that are at least [`SETTLE`] old, in feed order; its `next_cursor` continues right after
//! its last event (or stays where it was on an empty page), so a client that stores it and comes
//! back later misses nothing.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::clock::Clock;
use crate::error::ApiError;
use crate::events::feed::{FeedPosition, SETTLE};
use crate::store::EventFeedReader;

/// A validated page request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedQuery {
    pub after: Option<FeedPosition>,
    pub limit: usize,
}

pub struct ListEvents {
    pub feed: Arc<dyn EventFeedReader>,
    pub clock: Arc<dyn Clock>,
}

impl ListEvents {
    pub async fn page(&self, query: &FeedQuery) -> Result<Value, ApiError> {
        let before = self.clock.now()
            - chrono::Duration::from_std(SETTLE).unwrap_or_else(|_| chrono::Duration::zero());
        // A cursor at or past the listed horizon (a clock ahead, or a hand-made cursor): nothing
        // is listed after it yet.
        let caught_up = query
            .after
            .as_ref()
            .is_some_and(|a| a.sort_key() >= FeedPosition::bound(before));
        // One more than asked: whether there is more.
        let mut entries = if caught_up {
            Vec::new()
        } else {
            self.feed
                .read(query.after.as_ref(), before, query.limit + 1)
                .await?
        };
        let has_more = entries.len() > query.limit;
        entries.truncate(query.limit);
        let next = entries
            .last()
            .map(|e| &e.position)
            .or(query.after.as_ref())
            .map(FeedPosition::cursor);
        let data = entries
            .iter()
            .map(|e| serde_json::from_str(&e.body))
            .collect::<Result<Vec<Value>, _>>()
            .map_err(|e| ApiError::internal().with_cause(e))?;
        Ok(json!({
            "data": data,
            "has_more": has_more,
            "next_cursor": next,
        }))
    }
}
