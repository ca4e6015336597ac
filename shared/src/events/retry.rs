//! When a failed delivery is tried again: exponential backoff with jitter over more than a day,
//! carried by the delivery queue's visibility timeout (each failed attempt hides its message for
//! the next delay; the queue's `maxReceiveCount` moves it to the dead-letter queue after the
//! last attempt).

use std::time::Duration;

/// SQS hides a message for at most 12 hours from its receive; a wait is kept a quarter of an hour
/// below that, so the time the attempt itself took never pushes it over.
pub const MAX_DELAY: Duration = Duration::from_secs(11 * 60 * 60 + 45 * 60);

/// The default waits after each failed attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (8
/// attempts over about 27.7 hours; at least 24.9 hours with the jitter).
pub const DEFAULT_DELAYS_SECONDS: [u64; 7] = [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000];

/// A delay is drawn within ±10 % of its step, so failures of many events at once do not come
/// back at once.
const JITTER: f64 = 0.1;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScheduleError {
    #[error("a retry schedule is comma-separated whole seconds, each at most 42300")]
    Malformed,
}

/// The waits after failed attempts: after attempt `n` comes the `n`th delay; after the last
/// attempt none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(Vec<Duration>);

impl Default for RetrySchedule {
    fn default() -> Self {
        Self(
            DEFAULT_DELAYS_SECONDS
                .iter()
                .map(|s| Duration::from_secs(*s))
                .collect(),
        )
    }
}

impl RetrySchedule {
    /// `5,300,1800`: seconds after the first, second, third failed attempt.
    pub fn parse(raw: &str) -> Result<Self, ScheduleError> {
        raw.split(',')
            .map(|s| {
                s.trim()
                    .parse::<u64>()
                    .ok()
                    .map(Duration::from_secs)
                    .filter(|d| *d <= MAX_DELAY)
                    .ok_or(ScheduleError::Malformed)
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    /// Every attempt, the first included: the queue's `maxReceiveCount`.
    pub fn attempts(&self) -> u32 {
        u32::try_from(self.0.len()).unwrap_or(u32::MAX - 1) + 1
    }

    /// The wait after failed attempt `attempt` (1 for the first), drawn with `unit` in `[0, 1)`;
    /// `None` after the last one (the message goes on to the dead-letter queue).
    pub fn after_failed(&self, attempt: u32, unit: f64) -> Option<Duration> {
        let step = self.0.get(usize::try_from(attempt.checked_sub(1)?).ok()?)?;
        let factor = 1.0 - JITTER + 2.0 * JITTER * unit.clamp(0.0, 1.0);
        Some(step.mul_f64(factor).min(MAX_DELAY))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schedule_retries_for_more_than_a_day_even_with_the_shortest_jitter() {
        let s = RetrySchedule::default();
        assert_eq!(s.attempts(), 8);
        let shortest: Duration = (1..s.attempts())
            .filter_map(|a| s.after_failed(a, 0.0))
            .sum();
        assert!(shortest >= Duration::from_secs(24 * 3600), "{shortest:?}");
        assert_eq!(s.after_failed(s.attempts(), 0.5), None);
    }

    #[test]
    fn delays_grow_and_stay_within_their_jitter_and_the_queue_limit() {
        let s = RetrySchedule::default();
        let mut last = Duration::ZERO;
        for attempt in 1..s.attempts() {
            let low = s.after_failed(attempt, 0.0).unwrap();
            let high = s.after_failed(attempt, 0.999).unwrap();
            let step = Duration::from_secs(DEFAULT_DELAYS_SECONDS[attempt as usize - 1]);
            assert!(low >= step.mul_f64(0.9) && high <= step.mul_f64(1.1).min(MAX_DELAY));
            assert!(low >= last.mul_f64(0.9));
            last = low;
        }
    }

    /// The endpoint answers 500 for 10 minutes from an event's first attempt: in simulated time
    /// the schedule's attempts fall at 0 s, ~5 s and ~5 min (failed) and ~35 min (delivered),
    /// well inside the retry window.
    #[test]
    fn an_event_failing_through_a_ten_minute_outage_is_delivered_afterwards() {
        let s = RetrySchedule::default();
        let outage = Duration::from_secs(600);
        for unit in [0.0, 0.5, 0.999] {
            let mut at = Duration::ZERO;
            let mut attempt = 1;
            while at < outage {
                at += s
                    .after_failed(attempt, unit)
                    .expect("attempts left after the outage");
                attempt += 1;
            }
            assert!(
                attempt <= s.attempts() && at < Duration::from_secs(3600),
                "{at:?}"
            );
        }
    }

    #[test]
    fn a_schedule_parses_from_seconds_and_refuses_what_the_queue_cannot_hold() {
        let s = RetrySchedule::parse("1, 2,3").unwrap();
        assert_eq!(s.attempts(), 4);
        assert_eq!(RetrySchedule::parse("1,x"), Err(ScheduleError::Malformed));
        assert_eq!(RetrySchedule::parse("42301"), Err(ScheduleError::Malformed));
        assert!(RetrySchedule::parse("42300").is_ok());
        assert_eq!(RetrySchedule::parse(""), Err(ScheduleError::Malformed));
    }
}
