//! Test fixtures of the aggregate: a clock in seconds, an observation, a fresh verification.

use chrono::{DateTime, Utc};

use super::{Metadata, NewVerification, Observation, Verification};
use crate::domain::{CustomerId, ProviderName, Status, VerificationId};

pub(crate) fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_790_000_000 + secs, 0).unwrap()
}

pub(crate) fn obs(status: Status, at: i64) -> Observation {
    Observation {
        status,
        raw_status: format!("raw {status}"),
        reason: None,
        required_actions: vec![],
        occurred_at: t(at),
        decision_ref: None,
    }
}

pub(crate) fn fresh() -> Verification {
    Verification::start(
        NewVerification {
            id: VerificationId::generate(),
            customer_id: CustomerId::parse("cus_1").unwrap(),
            provider: ProviderName::from_static("acme"),
            provider_ref: Some("idv-1".into()),
            verification_url: Some("https://idv.example/?id=idv-1".into()),
            metadata: Metadata::new(),
            initial: obs(Status::Pending, 0),
        },
        t(0),
    )
}
