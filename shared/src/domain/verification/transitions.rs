//! The transition rules, pure and without I/O: starting a verification, applying a provider
//! observation (staleness, stickiness of terminal statuses, supersession), corrections, and what
//! each change means for the customer record.

use chrono::{DateTime, Utc};

use super::bounds::history_raw_status;
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
            history_dropped: 0,
            reconcile_failures: 0,
            reconcile_after: None,
            patched_with_keys: Vec::new(),
            redaction: None,
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
            self.clear_reconcile_backoff();
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
    /// applicant submitted it (`pending`, and no data sent yet) or while the provider asks for
    /// more (`action_required`).
    pub fn editable(&self) -> Result<(), EditRefusal> {
        match self.status {
            // Submitted data the provider has not decided on: a correction would start a second
            // check while the first runs.
            Status::Pending if self.data_submitted_at.is_some() => Err(EditRefusal::InProgress),
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
            entry.raw_status = history_raw_status(&format!("resubmitted: {}", initial.raw_status));
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
            raw_status: history_raw_status(&obs.raw_status),
            superseded,
            event_id: event_id.map(str::to_owned),
        });
        self.cap_history();
        self.clear_reconcile_backoff();
    }
}

#[cfg(test)]
mod tests;
