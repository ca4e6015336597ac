//! What keeps one verification from costing more than its share: the reconciler's backoff after
//! failed refreshes, and the bounds of its history (entries, and each entry's provider words).

use chrono::{DateTime, Duration, Utc};

use super::Verification;

/// At most this many history entries are kept: the first (how the verification started) and the
/// newest after it. Each entry is a few hundred bytes, so a verification item stays a few tens
/// of KB however many events arrive.
pub const HISTORY_CAP: usize = 50;

/// A history entry keeps at most this many characters of the provider's status words.
const HISTORY_RAW_STATUS_CHARS: usize = 200;

/// The provider's status words as a history entry keeps them: at most 200 characters, so 50
/// entries stay small whatever a provider sends.
pub(super) fn history_raw_status(raw: &str) -> String {
    match raw.char_indices().nth(HISTORY_RAW_STATUS_CHARS) {
        Some((end, _)) => format!("{}…", &raw[..end]),
        None => raw.to_owned(),
    }
}

/// The wait after the first failed refresh; doubled per further failure.
const FIRST_BACKOFF_MINUTES: i64 = 15;
/// The longest wait between two refreshes of a verification that keeps failing.
const MAX_BACKOFF_MINUTES: i64 = 24 * 60;

/// How long the reconciler leaves a verification alone after `failures` failed refreshes in a
/// row: 15 min, 30 min, 1 h, … doubling, at most 24 h. Nothing for no failure.
pub fn reconcile_backoff(failures: u32) -> Duration {
    match failures {
        0 => Duration::zero(),
        n => {
            let doublings = (n - 1).min(16);
            Duration::minutes((FIRST_BACKOFF_MINUTES << doublings).min(MAX_BACKOFF_MINUTES))
        }
    }
}

impl Verification {
    /// A refresh by the reconciler failed: one more failure, and the time until which the
    /// reconciler leaves the verification alone.
    pub fn reconcile_failed(&mut self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.reconcile_failures = self.reconcile_failures.saturating_add(1);
        let after = now + reconcile_backoff(self.reconcile_failures);
        self.reconcile_after = Some(after);
        after
    }

    /// Whether the reconciler may refresh the verification now (no backoff, or it ran out).
    pub fn reconcile_due(&self, now: DateTime<Utc>) -> bool {
        self.reconcile_after.is_none_or(|after| after <= now)
    }

    /// Whether a backoff is recorded (to be cleared after a successful refresh).
    pub fn backing_off(&self) -> bool {
        self.reconcile_failures > 0 || self.reconcile_after.is_some()
    }

    /// The provider answered: the backoff ends.
    pub(super) fn clear_reconcile_backoff(&mut self) {
        self.reconcile_failures = 0;
        self.reconcile_after = None;
    }

    /// Keep the first history entry and the newest ones, at most [`HISTORY_CAP`] in all; count
    /// what is dropped.
    pub(super) fn cap_history(&mut self) {
        let excess = self.history.len().saturating_sub(HISTORY_CAP);
        if excess == 0 {
            return;
        }
        self.history.drain(1..=excess);
        self.history_dropped = self
            .history_dropped
            .saturating_add(u32::try_from(excess).unwrap_or(u32::MAX));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::verification::fixtures::{fresh, obs, t};
    use crate::domain::verification::Source;
    use crate::domain::Status;

    #[test]
    fn the_backoff_doubles_from_15_minutes_up_to_a_day() {
        let minutes: Vec<i64> = (0..=10)
            .map(|n| reconcile_backoff(n).num_minutes())
            .collect();
        assert_eq!(
            minutes,
            [0, 15, 30, 60, 120, 240, 480, 960, 1440, 1440, 1440]
        );
        assert_eq!(reconcile_backoff(u32::MAX), Duration::hours(24));
    }

    #[test]
    fn failures_push_the_next_refresh_out_and_an_applied_observation_clears_them() {
        let mut v = fresh();
        assert!(v.reconcile_due(t(0)));
        assert_eq!(v.reconcile_failed(t(100)), t(100) + Duration::minutes(15));
        assert_eq!(v.reconcile_failed(t(200)), t(200) + Duration::minutes(30));
        assert_eq!(v.reconcile_failures, 2);
        assert!(!v.reconcile_due(t(300)));
        assert!(v.reconcile_due(t(200 + 30 * 60)));
        // The same status again (details refreshed) is an answer too.
        let tr = v.apply(&obs(Status::Pending, 400), Source::Reconcile, None, t(400));
        assert!(tr.writes());
        assert!(!v.backing_off());
        v.reconcile_failed(t(500));
        v.apply(
            &obs(Status::InReview, 600),
            Source::Webhook,
            Some("e"),
            t(600),
        );
        assert_eq!((v.reconcile_failures, v.reconcile_after), (0, None));
    }

    #[test]
    fn the_history_keeps_its_first_entry_and_the_newest_ones() {
        let mut v = fresh();
        for i in 1..=1000 {
            let status = if i % 2 == 0 {
                Status::InProgress
            } else {
                Status::InReview
            };
            v.apply(
                &obs(status, i),
                Source::Webhook,
                Some(&format!("e{i}")),
                t(i),
            );
        }
        assert_eq!(v.history.len(), HISTORY_CAP);
        assert_eq!(v.history_dropped, 1001 - 50);
        assert_eq!(v.history[0].source, Source::Api, "the created entry stays");
        assert_eq!(v.history[0].status, Status::Pending);
        assert_eq!(v.history[1].event_id.as_deref(), Some("e952"));
        assert_eq!(
            v.history[HISTORY_CAP - 1].event_id.as_deref(),
            Some("e1000")
        );
        assert_eq!(v.status, Status::InProgress);
    }

    #[test]
    fn a_history_entry_keeps_200_characters_of_the_providers_words() {
        let mut v = fresh();
        let mut long = obs(Status::InReview, 1);
        long.raw_status = "é".repeat(5000);
        v.apply(&long, Source::Webhook, None, t(1));
        let kept = &v.history[1].raw_status;
        assert_eq!(kept.chars().count(), 201);
        assert!(kept.ends_with('…'));
        assert_eq!(history_raw_status("Approved"), "Approved");
    }

    #[test]
    fn a_short_history_is_kept_whole() {
        let mut v = fresh();
        v.apply(&obs(Status::InReview, 1), Source::Webhook, None, t(1));
        assert_eq!(v.history.len(), 2);
        assert_eq!(v.history_dropped, 0);
    }
}
