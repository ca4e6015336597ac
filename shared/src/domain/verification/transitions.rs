//! The transition rules, pure and without I/O: starting a verification, applying a provider
//! observation (staleness, stickiness of terminal statuses, supersession), corrections, and what
//! each change means for the customer record.

use chrono::{DateTime, Utc};

use super::{
    CustomerEffect, Decision, EditRefusal, HistoryEntry, NewVerification, Observation, Source,
    Transition, Verification,
};
use crate::domain::Status;

/// Whether a new attempt can succeed after this outcome: never needed after an approval, always
/// possible after an attempt that merely ended, and after a rejection as its reason says. The
/// one rule for a first decision and for a refreshed one alike.
fn retryable(obs: &Observation) -> bool {
    match obs.status {
        Status::Approved => false,
        Status::Failed | Status::Expired | Status::Canceled => true,
        _ => obs.reason.as_ref().is_none_or(|r| r.retryable),
    }
}

impl Verification {
    /// A verification as it starts, with its first history entry (source `api`).
    pub fn start(new: NewVerification, now: DateTime<Utc>) -> Self {
        let mut v = Self {
            id: new.id,
            customer_id: new.customer_id,
            provider: new.provider,
            status: new.initial.status,
            provider_ref: new.provider_ref,
            decision_ref: None,
            verification_url: new.verification_url,
            raw_status: None,
            decision: None,
            required_actions: Vec::new(),
            metadata: new.metadata,
            history: Vec::new(),
            created_at: now,
            updated_at: now,
            last_event_at: None,
            version: 0,
            attempt: 1,
            data_submitted_at: None,
            created_with_key: None,
            created_fingerprint: None,
        };
        v.set(&new.initial, Source::Api, None, now, None, false);
        v
    }

    /// Apply what the provider says. Pure: the caller persists the result when `writes()`.
    pub fn apply(
        &mut self,
        obs: &Observation,
        source: Source,
        event_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Transition {
        if self
            .last_event_at
            .is_some_and(|last| obs.occurred_at < last)
        {
            return Transition::Stale;
        }
        let from = self.status;
        if obs.status == from {
            // Same status: refresh the details (an operator may have edited the reason) but keep
            // the decision time and add no history entry.
            if let (Some(decision), Some(reason)) = (self.decision.as_mut(), obs.reason.as_ref()) {
                decision.reason_code = Some(reason.code.clone());
                decision.provider_reason = Some(reason.provider_reason.clone());
                decision.retryable = retryable(obs);
            }
            self.raw_status = Some(obs.raw_status.clone());
            self.required_actions = obs.required_actions.clone();
            self.last_event_at = Some(obs.occurred_at);
            if obs.decision_ref.is_some() {
                self.decision_ref = obs.decision_ref.clone();
            }
            self.updated_at = now;
            return Transition::Refreshed;
        }
        let superseded = from.is_terminal();
        if superseded && !obs.status.is_decision() {
            return Transition::Sticky;
        }
        self.set(obs, source, event_id, now, Some(from), superseded);
        Transition::Changed { from, superseded }
    }

    /// Whether the applicant's data may be corrected and resubmitted now: only before the
    /// applicant submitted it (`pending`) or while the provider asks for more (`action_required`).
    pub fn editable(&self) -> Result<(), EditRefusal> {
        match self.status {
            Status::Pending | Status::ActionRequired => Ok(()),
            Status::InProgress | Status::InReview => Err(EditRefusal::InProgress),
            Status::Approved => Err(EditRefusal::Locked {
                verified_at: self
                    .decision
                    .as_ref()
                    .map_or(self.updated_at, |d| d.decided_at),
            }),
            Status::Rejected | Status::Expired | Status::Canceled | Status::Failed => {
                Err(EditRefusal::Ended)
            }
        }
    }

    /// The applicant's corrected data went to the provider: a new provider record (for hosted
    /// pages, a new page) or a new attempt, recorded in the history even when the status stays.
    /// Returns the transition, for its effect on the customer.
    pub fn resubmitted(
        &mut self,
        provider_ref: Option<String>,
        verification_url: Option<String>,
        initial: &Observation,
        now: DateTime<Utc>,
    ) -> Transition {
        let from = self.status;
        if provider_ref.is_some() {
            self.provider_ref = provider_ref;
        }
        self.verification_url = verification_url;
        self.decision_ref = None;
        self.set(initial, Source::Api, None, now, Some(from), false);
        if let Some(entry) = self.history.last_mut() {
            entry.raw_status = format!("resubmitted: {}", initial.raw_status);
        }
        Transition::Changed {
            from,
            superseded: false,
        }
    }

    /// What the last transition means for the customer, given the status before it.
    pub fn customer_effect(&self, transition: Transition) -> CustomerEffect {
        match transition {
            Transition::Changed { from, .. } => match self.status {
                Status::Approved => CustomerEffect::Verified {
                    at: self
                        .decision
                        .as_ref()
                        .map_or(self.updated_at, |d| d.decided_at),
                },
                Status::Rejected if from == Status::Approved => CustomerEffect::Unverified,
                s if s.is_terminal() && !from.is_terminal() => CustomerEffect::Ended,
                _ => CustomerEffect::None,
            },
            _ => CustomerEffect::None,
        }
    }

    /// The hosted page is shown only while the applicant can still use it.
    pub fn usable_verification_url(&self) -> Option<&str> {
        match self.status {
            Status::Pending | Status::InProgress | Status::ActionRequired => {
                self.verification_url.as_deref()
            }
            _ => None,
        }
    }

    fn set(
        &mut self,
        obs: &Observation,
        source: Source,
        event_id: Option<&str>,
        now: DateTime<Utc>,
        from: Option<Status>,
        superseded: bool,
    ) {
        self.status = obs.status;
        self.raw_status = Some(obs.raw_status.clone());
        self.required_actions = obs.required_actions.clone();
        if obs.decision_ref.is_some() {
            self.decision_ref = obs.decision_ref.clone();
        }
        self.decision = obs.status.is_terminal().then(|| Decision {
            outcome: obs.status,
            reason_code: obs.reason.as_ref().map(|r| r.code.clone()),
            provider_reason: obs.reason.as_ref().map(|r| r.provider_reason.clone()),
            retryable: retryable(obs),
            decided_at: obs.occurred_at,
        });
        if source != Source::Api {
            self.last_event_at = Some(obs.occurred_at);
        }
        self.updated_at = now;
        self.history.push(HistoryEntry {
            status: obs.status,
            from,
            source,
            at: obs.occurred_at,
            recorded_at: now,
            raw_status: obs.raw_status.clone(),
            superseded,
            event_id: event_id.map(str::to_owned),
        });
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::domain::verification::{Metadata, Reason};
    use crate::domain::{CustomerId, ProviderName, VerificationId};

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000 + secs, 0).unwrap()
    }

    fn obs(status: Status, at: i64) -> Observation {
        Observation {
            status,
            raw_status: format!("raw {status}"),
            reason: None,
            required_actions: vec![],
            occurred_at: t(at),
            decision_ref: None,
        }
    }

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

    fn fresh() -> Verification {
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
}
