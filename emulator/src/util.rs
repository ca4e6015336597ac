//! Small helpers every provider uses: ids shaped like real ones, and timestamps.

use chrono::{DateTime, SecondsFormat, Utc};

/// A random UUID-shaped id (version 4 layout).
pub(crate) fn new_uuid() -> String {
    let hex = format!("{:032x}", ulid::Ulid::new().0);
    format!(
        "{}-{}-4{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

/// RFC 3339 in UTC with milliseconds and a `Z`.
pub(crate) fn iso_millis(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_ids_are_made_should_have_the_uuid_v4_shape() {
        let id = new_uuid();
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4') && parts[3].starts_with('8'));
        assert_ne!(new_uuid(), id);
    }
}
