//! The transition rules' cases: in-order and shuffled observations, stickiness, supersession,
//! retryability, corrections and the hosted URL's lifetime.

use chrono::Duration;

use super::*;
use crate::domain::verification::fixtures::{fresh, obs, t};
use crate::domain::verification::Reason;

fn rejected(at: i64, provider_reason: &str, retryable: bool) -> Observation {
    Observation {
        reason: Some(Reason {
            code: provider_reason.to_lowercase(),
            provider_reason: provider_reason.into(),
            retryable,
        }),
        ..obs(Status::Rejected, at)
    }
}

fn statuses(v: &Verification) -> Vec<Status> {
    v.history.iter().map(|h| h.status).collect()
}

#[test]
fn a_new_verification_starts_with_one_api_history_entry() {
    let v = fresh();
    assert_eq!(v.status, Status::Pending);
    assert_eq!(v.history.len(), 1);
    assert_eq!(v.history[0].source, Source::Api);
    assert_eq!(
        v.last_event_at, None,
        "the create does not order provider events"
    );
}

#[test]
fn in_order_events_walk_the_happy_path_and_record_each_change_once() {
    let mut v = fresh();
    for (i, s) in [Status::InProgress, Status::InReview, Status::Approved]
        .into_iter()
        .enumerate()
    {
        let tr = v.apply(
            &obs(s, 10 * (i as i64 + 1)),
            Source::Webhook,
            Some("e"),
            t(100),
        );
        assert!(matches!(
            tr,
            Transition::Changed {
                superseded: false,
                ..
            }
        ));
    }
    assert_eq!(
        statuses(&v),
        [
            Status::Pending,
            Status::InProgress,
            Status::InReview,
            Status::Approved
        ]
    );
    let d = v.decision.clone().unwrap();
    assert_eq!(d.outcome, Status::Approved);
    assert_eq!(d.decided_at, t(30));
    assert!(!d.retryable);
}

#[test]
fn a_late_event_older_than_the_newest_applied_never_moves_the_status_back() {
    let mut v = fresh();
    v.apply(&obs(Status::InReview, 20), Source::Webhook, None, t(100));
    let before = v.clone();
    assert_eq!(
        v.apply(&obs(Status::InProgress, 10), Source::Webhook, None, t(101)),
        Transition::Stale
    );
    assert_eq!(v, before);
}

#[test]
fn a_duplicate_observation_refreshes_without_a_new_history_entry() {
    let mut v = fresh();
    v.apply(&obs(Status::InProgress, 10), Source::Webhook, None, t(100));
    assert_eq!(
        v.apply(&obs(Status::InProgress, 10), Source::Webhook, None, t(101)),
        Transition::Refreshed
    );
    assert_eq!(v.history.len(), 2);
}

#[test]
fn a_terminal_status_is_sticky_against_non_decisions() {
    let mut v = fresh();
    v.apply(&obs(Status::Approved, 10), Source::Webhook, None, t(100));
    assert_eq!(
        v.apply(&obs(Status::InReview, 20), Source::Webhook, None, t(101)),
        Transition::Sticky
    );
    assert_eq!(
        v.apply(&obs(Status::Expired, 30), Source::Webhook, None, t(102)),
        Transition::Sticky
    );
    assert_eq!(v.status, Status::Approved);
    assert_eq!(v.history.len(), 2);
}

#[test]
fn a_newer_rejection_supersedes_an_approval_and_unverifies_the_customer() {
    let mut v = fresh();
    let tr = v.apply(&obs(Status::Approved, 10), Source::Webhook, None, t(100));
    assert_eq!(
        v.customer_effect(tr),
        CustomerEffect::Verified { at: t(10) }
    );
    let tr = v.apply(
        &rejected(20, "DOCUMENT_IS_EXPIRED", true),
        Source::Webhook,
        Some("upd"),
        t(101),
    );
    assert_eq!(
        tr,
        Transition::Changed {
            from: Status::Approved,
            superseded: true
        }
    );
    assert_eq!(v.customer_effect(tr), CustomerEffect::Unverified);
    let last = v.history.last().unwrap();
    assert!(last.superseded);
    assert_eq!(last.event_id.as_deref(), Some("upd"));
    assert_eq!(
        v.decision.as_ref().unwrap().provider_reason.as_deref(),
        Some("DOCUMENT_IS_EXPIRED")
    );
}

#[test]
fn a_newer_approval_supersedes_a_rejection_and_verifies_the_customer() {
    let mut v = fresh();
    v.apply(
        &rejected(10, "POOR_PHOTO_QUALITY", true),
        Source::Webhook,
        None,
        t(100),
    );
    let tr = v.apply(&obs(Status::Approved, 20), Source::Reconcile, None, t(101));
    assert_eq!(
        tr,
        Transition::Changed {
            from: Status::Rejected,
            superseded: true
        }
    );
    assert_eq!(
        v.customer_effect(tr),
        CustomerEffect::Verified { at: t(20) }
    );
}

#[test]
fn an_older_decision_cannot_supersede_a_newer_one() {
    let mut v = fresh();
    v.apply(&obs(Status::Approved, 20), Source::Webhook, None, t(100));
    assert_eq!(
        v.apply(
            &rejected(10, "SANCTIONED", false),
            Source::Webhook,
            None,
            t(101)
        ),
        Transition::Stale
    );
    assert_eq!(v.status, Status::Approved);
}

#[test]
fn an_approval_seen_again_with_a_retryable_reason_stays_not_retryable() {
    let mut v = fresh();
    let approved = |at| Observation {
        reason: Some(Reason {
            code: "manually_identified".into(),
            provider_reason: "ManuallyIdentified".into(),
            retryable: true,
        }),
        ..obs(Status::Approved, at)
    };
    v.apply(&approved(10), Source::Webhook, Some("e1"), t(11));
    assert!(!v.decision.as_ref().unwrap().retryable);
    assert_eq!(
        v.apply(&approved(20), Source::Reconcile, None, t(21)),
        Transition::Refreshed
    );
    let d = v.decision.as_ref().unwrap();
    assert!(
        !d.retryable,
        "a refresh of the same approval must not change the decision"
    );
    assert_eq!(d.decided_at, t(10));
}

#[test]
fn rejection_retryability_follows_the_reason_and_failures_are_retryable() {
    let mut v = fresh();
    v.apply(
        &rejected(10, "SANCTIONED", false),
        Source::Webhook,
        None,
        t(100),
    );
    assert!(!v.decision.as_ref().unwrap().retryable);
    let mut w = fresh();
    w.apply(&obs(Status::Failed, 10), Source::Webhook, None, t(100));
    assert!(w.decision.as_ref().unwrap().retryable);
    assert_eq!(
        w.customer_effect(Transition::Changed {
            from: Status::Pending,
            superseded: false
        }),
        CustomerEffect::Ended
    );
}

#[test]
fn only_pending_and_action_required_verifications_can_be_corrected() {
    let mut v = fresh();
    assert_eq!(v.editable(), Ok(()));
    v.apply(&obs(Status::InProgress, 5), Source::Webhook, None, t(100));
    assert_eq!(v.editable(), Err(EditRefusal::InProgress));
    v.apply(
        &obs(Status::ActionRequired, 6),
        Source::Webhook,
        None,
        t(100),
    );
    assert_eq!(v.editable(), Ok(()));
    v.apply(&obs(Status::Approved, 10), Source::Webhook, None, t(100));
    assert_eq!(
        v.editable(),
        Err(EditRefusal::Locked { verified_at: t(10) })
    );
    let mut w = fresh();
    w.apply(&obs(Status::Expired, 10), Source::Webhook, None, t(100));
    assert_eq!(w.editable(), Err(EditRefusal::Ended));
}

#[test]
fn submitted_data_the_provider_has_not_decided_on_cannot_be_corrected() {
    let mut v = fresh();
    v.data_submitted_at = Some(t(5));
    assert_eq!(v.editable(), Err(EditRefusal::InProgress));
    v.apply(
        &obs(Status::ActionRequired, 6),
        Source::Webhook,
        None,
        t(100),
    );
    assert_eq!(v.editable(), Ok(()), "the provider asks for more");
}

#[test]
fn a_resubmission_is_recorded_even_when_the_status_stays() {
    let mut v = fresh();
    v.resubmitted(
        Some("idv-2".into()),
        Some("https://idv.example/?id=idv-2".into()),
        &obs(Status::Pending, 20),
        t(200),
    );
    assert_eq!(v.provider_ref.as_deref(), Some("idv-2"));
    assert_eq!(v.history.len(), 2);
    let last = v.history.last().unwrap();
    assert_eq!(
        (last.from, last.status, last.source),
        (Some(Status::Pending), Status::Pending, Source::Api)
    );
    assert!(last.raw_status.starts_with("resubmitted"));
}

#[test]
fn the_hosted_url_is_shown_only_while_the_applicant_can_use_it() {
    let mut v = fresh();
    assert!(v.usable_verification_url().is_some());
    v.apply(
        &obs(Status::InReview, 10),
        Source::Webhook,
        None,
        t(100) + Duration::seconds(1),
    );
    assert!(v.usable_verification_url().is_none());
}
