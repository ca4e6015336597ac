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

/// A document number for the person behind `seed` (a session or identification id): `prefix`
/// and 7 digits, the same for the same seed, different across seeds (FNV-1a of the seed).
pub fn document_number(prefix: &str, seed: &str) -> String {
    let hash = seed.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{prefix}{:07}", hash % 10_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_document_numbers_are_made_should_be_stable_per_seed_and_differ_across_seeds() {
        let a = document_number("LT", "seed-a");
        assert_eq!(a.len(), 9);
        assert!(a.starts_with("LT") && a[2..].bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(document_number("LT", "seed-a"), a);
        assert_ne!(document_number("LT", "seed-b"), a);
    }

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
