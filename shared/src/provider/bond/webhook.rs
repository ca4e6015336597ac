//! Bond's webhooks: the `Bond-Signature` checked over the raw body (see [`super::signature`]),
//! then the signed body read as what Bond says.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::config::BondConfig;
use super::mapping::{observe, parse_occurred_at};
use super::signature;
use crate::domain::Observation;
use crate::provider::{AuthError, InterpretError, Interpreted, Locator, ProviderEvent, RawWebhook};

pub(super) fn authenticate(
    config: &BondConfig,
    webhook: &RawWebhook<'_>,
    now: DateTime<Utc>,
) -> Result<(), AuthError> {
    let header = webhook.single_header("bond-signature")?;
    signature::verify(
        &config.signature,
        &config.webhook_secrets,
        header,
        webhook.body,
        now,
    )
}

/// What an authenticated body says.
pub(super) enum Read {
    Event(Interpreted),
    /// Bond's first callback, `{"customer_id", "kyc_status"}`: no event name and no time, so it
    /// cannot be ordered against the events; the adapter reads Bond's current state instead.
    Undated {
        customer_id: String,
        word: String,
    },
}

/// Read an authenticated (signed) body. Unknown events are acknowledged and logged.
pub(super) fn read(body: &[u8]) -> Result<Read, InterpretError> {
    let body: Value =
        serde_json::from_slice(body).map_err(|_| InterpretError::Malformed("not JSON".into()))?;
    let field = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .ok_or_else(|| InterpretError::Malformed(format!("{k} is missing")))
    };
    let customer_id = field("customer_id")?;
    if body.get("event").is_none() {
        if let Some(word) = body.get("kyc_status").and_then(Value::as_str) {
            return Ok(Read::Undated {
                customer_id: customer_id.to_owned(),
                word: word.to_owned(),
            });
        }
    }
    let event = field("event")?;
    let raw_at = field("occurred_at")?;
    let at = parse_occurred_at(raw_at)
        .ok_or_else(|| InterpretError::Malformed("occurred_at is not a time".into()))?;
    let Some(observation) = observe(event, &body, at) else {
        return Ok(Read::Event(Interpreted::Ignored {
            event_type: event.to_owned(),
        }));
    };
    Ok(Read::Event(Interpreted::Event(Box::new(ProviderEvent {
        // Bond has no event id: the documented identity is the event, its customer and its time.
        event_id: format!("{event}|{customer_id}|{raw_at}"),
        event_type: event.to_owned(),
        locator: Locator::ProviderRef(customer_id.to_owned()),
        provider_ref: Some(customer_id.to_owned()),
        // Bond's webhook bodies hold ids, event words, document kinds and links: nothing personal.
        audit: body.clone(),
        observation,
        occurred_at: at,
    }))))
}

/// The undated `kyc_status` callback as an event carrying Bond's state read at `now`. Its
/// identity is the customer and the word, so a redelivery is a duplicate.
pub(super) fn undated_event(
    customer_id: String,
    word: &str,
    observation: Observation,
    now: DateTime<Utc>,
) -> Interpreted {
    Interpreted::Event(Box::new(ProviderEvent {
        event_id: format!("kyc_status|{customer_id}|{word}"),
        event_type: format!("kyc_status.{word}"),
        locator: Locator::ProviderRef(customer_id.clone()),
        provider_ref: Some(customer_id.clone()),
        audit: serde_json::json!({"customer_id": customer_id, "kyc_status": word}),
        observation,
        occurred_at: now,
    }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::Status;

    #[test]
    fn a_signed_event_is_what_bond_says_with_its_documented_identity() {
        let body = json!({"event": "kyc.verification.success", "customer_id": "c-1",
                          "occurred_at": "2021-02-02-00:50:58.484840+00:00"});
        let Ok(Read::Event(Interpreted::Event(e))) = read(body.to_string().as_bytes()) else {
            panic!("an event");
        };
        assert_eq!(
            e.event_id,
            "kyc.verification.success|c-1|2021-02-02-00:50:58.484840+00:00"
        );
        assert_eq!(e.locator, Locator::ProviderRef("c-1".into()));
        assert_eq!(e.observation.status, Status::Approved);
        assert_eq!(
            e.occurred_at.to_rfc3339(),
            "2021-02-02T00:50:58.484840+00:00"
        );
    }

    #[test]
    fn bonds_documented_first_callback_is_read_as_an_undated_state() {
        let seed = br#"{"customer_id": "931e2341-c3eb-4681-97d4-f6e09d90da14", "kyc_status": "submitted"}"#;
        let Ok(Read::Undated { customer_id, word }) = read(seed) else {
            panic!("the kyc_status form");
        };
        assert_eq!(
            (customer_id.as_str(), word.as_str()),
            ("931e2341-c3eb-4681-97d4-f6e09d90da14", "submitted")
        );
    }

    #[test]
    fn unknown_events_are_ignored_and_incomplete_bodies_malformed() {
        let unknown = json!({"event": "customer.updated", "customer_id": "c", "occurred_at": "2021-10-20T10:27:20Z"});
        assert!(matches!(
            read(unknown.to_string().as_bytes()),
            Ok(Read::Event(Interpreted::Ignored { .. }))
        ));
        for bad in [
            json!({"customer_id": "c", "occurred_at": "2021-10-20T10:27:20Z"}).to_string(),
            json!({"kyc_status": "submitted"}).to_string(),
            json!({"event": "kyc.verification.success", "customer_id": "c", "occurred_at": "later"}).to_string(),
            "not json".to_owned(),
        ] {
            assert!(matches!(read(bad.as_bytes()), Err(InterpretError::Malformed(_))), "{bad}");
        }
    }
}
