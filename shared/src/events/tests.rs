use super::*;
use crate::domain::verification::fixtures::{fresh, obs, t};
use crate::domain::{Source, HISTORY_CAP};

fn statuses(events: &[OutboundEvent]) -> Vec<(u64, Status)> {
    events.iter().map(|e| (e.sequence, e.status)).collect()
}

#[test]
fn a_new_verification_yields_its_first_status_as_sequence_one() {
    let v = fresh();
    let events = events_of_change(None, &v);
    assert_eq!(statuses(&events), vec![(1, Status::Pending)]);
    assert_eq!(events[0].previous_status, None);
    assert_eq!(events[0].event_type(), "verification.pending");
}

#[test]
fn each_change_yields_one_event_and_a_refresh_none() {
    let mut v = fresh();
    let old = v.clone();
    v.apply(
        &obs(Status::InReview, 10),
        Source::Webhook,
        Some("e1"),
        t(11),
    );
    let events = events_of_change(Some(&old), &v);
    assert_eq!(statuses(&events), vec![(2, Status::InReview)]);
    assert_eq!(events[0].previous_status, Some(Status::Pending));
    assert_eq!(events[0].occurred_at, t(10));

    let before_refresh = v.clone();
    let mut same = obs(Status::InReview, 12);
    same.raw_status = "other words".into();
    v.apply(&same, Source::Webhook, Some("e2"), t(13));
    assert!(events_of_change(Some(&before_refresh), &v).is_empty());
}

#[test]
fn a_superseded_decision_is_an_event_and_carries_the_new_decision() {
    let mut v = fresh();
    v.apply(
        &obs(Status::Approved, 10),
        Source::Webhook,
        Some("e1"),
        t(11),
    );
    let old = v.clone();
    v.apply(
        &obs(Status::Rejected, 20),
        Source::Webhook,
        Some("e2"),
        t(21),
    );
    let events = events_of_change(Some(&old), &v);
    assert_eq!(statuses(&events), vec![(3, Status::Rejected)]);
    assert!(events[0].superseded);
    let json: Value = serde_json::from_str(&events[0].to_json()).unwrap();
    assert_eq!(json["type"], "verification.rejected");
    assert_eq!(json["data"]["decision"]["outcome"], "rejected");
    assert_eq!(json["data"]["previous_status"], "approved");
}

#[test]
fn the_id_is_the_same_for_the_same_change_and_differs_between_changes() {
    let mut v = fresh();
    let old = v.clone();
    v.apply(&obs(Status::InReview, 10), Source::Webhook, None, t(11));
    let a = events_of_change(Some(&old), &v);
    let b = events_of_change(Some(&old), &v);
    assert_eq!(a[0].id, b[0].id);
    assert_eq!(a[0].to_json(), b[0].to_json());
    assert_ne!(a[0].id, events_of_change(None, &old)[0].id);
    assert!(EventId::parse(a[0].id.as_str()).is_ok());
}

#[test]
fn sequence_keeps_counting_past_the_history_cap() {
    let mut v = fresh();
    let flips = [Status::InProgress, Status::ActionRequired];
    for i in 0..(HISTORY_CAP as i64 + 10) {
        let old = v.clone();
        v.apply(
            &obs(flips[(i % 2) as usize], i + 1),
            Source::Webhook,
            None,
            t(i + 1),
        );
        let events = events_of_change(Some(&old), &v);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].sequence, i as u64 + 2);
    }
    assert!(v.history_dropped > 0);
}

#[test]
fn events_carry_no_personal_or_hosted_values() {
    let v = fresh();
    let json = events_of_change(None, &v)[0].to_json();
    assert!(!json.contains("idv.example"), "{json}");
    let parsed: Value = serde_json::from_str(&json).unwrap();
    let keys: Vec<_> = parsed["data"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        keys,
        [
            "verification_id",
            "customer_id",
            "provider",
            "status",
            "previous_status",
            "superseded",
            "sequence",
            "occurred_at",
            "decision"
        ]
    );
}
