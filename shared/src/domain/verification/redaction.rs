//! Redaction (DESIGN §6): the personal values of a verification are replaced by a marker, the
//! decision record (status, decision, reasons, history, timestamps, provider ids) stays. Pure.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Verification;

/// What a personal field of a redacted verification reads.
pub const REDACTED: &str = "[redacted]";

/// How many PATCH idempotency keys a verification remembers (each lives 24 hours).
pub const PATCH_KEYS_KEPT: usize = 10;

/// What became of the provider's copy of the applicant's data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderCopy {
    /// The provider confirmed the deletion.
    Deleted,
    /// The provider's API offers no deletion: ask the provider (its retention applies).
    NotSupported,
    /// The provider refused (for example deletion not enabled for the account).
    Refused,
}

/// When the personal data was removed, and what the provider did with its copy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redaction {
    pub redacted_at: DateTime<Utc>,
    pub provider_copy: ProviderCopy,
}

/// Why a verification cannot be redacted now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedactionRefusal {
    /// The provider session is still open: the applicant could still submit data to it.
    InProgress,
}

impl Verification {
    /// Whether it can be redacted: only once it has ended (a terminal status), so no flow still
    /// needs its personal data and no new data can arrive for it.
    pub fn redactable(&self) -> Result<(), RedactionRefusal> {
        if self.status.is_terminal() {
            Ok(())
        } else {
            Err(RedactionRefusal::InProgress)
        }
    }

    /// Replace every personal value by [`REDACTED`]: the hosted URL, the metadata values, the
    /// upload links of required actions. The first redaction is kept: a
    /// second one changes nothing.
    pub fn redact(&mut self, now: DateTime<Utc>, provider_copy: ProviderCopy) {
        if self.redaction.is_some() {
            return;
        }
        if self.verification_url.is_some() {
            self.verification_url = Some(REDACTED.to_owned());
        }
        for value in self.metadata.values_mut() {
            REDACTED.clone_into(value);
        }
        for action in &mut self.required_actions {
            if action.upload_url.is_some() {
                action.upload_url = Some(REDACTED.to_owned());
            }
        }
        self.redaction = Some(Redaction {
            redacted_at: now,
            provider_copy,
        });
    }

    /// Remember the key of a PATCH, the newest [`PATCH_KEYS_KEPT`] only.
    pub fn remember_patch_key(&mut self, key: &str) {
        self.patched_with_keys.push(key.to_owned());
        let excess = self.patched_with_keys.len().saturating_sub(PATCH_KEYS_KEPT);
        self.patched_with_keys.drain(..excess);
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{fresh, obs, t};
    use super::*;
    use crate::domain::{RequiredAction, Source, Status};

    fn ended() -> Verification {
        let mut v = fresh();
        v.metadata.insert("order".into(), "A-17".into());
        v.apply(&obs(Status::Rejected, 5), Source::Webhook, Some("e1"), t(6));
        v.required_actions.push(RequiredAction {
            kind: "upload_document".into(),
            detail: Some("government_id".into()),
            upload_url: Some("https://up.example/x".into()),
        });
        v
    }

    #[test]
    fn redaction_replaces_personal_values_and_keeps_the_decision_record() {
        let mut v = ended();
        let before = v.clone();
        v.redact(t(10), ProviderCopy::Deleted);
        assert_eq!(v.verification_url.as_deref(), Some(REDACTED));
        assert_eq!(v.metadata["order"], REDACTED);
        assert_eq!(v.required_actions[0].upload_url.as_deref(), Some(REDACTED));
        assert_eq!(
            v.required_actions[0].detail.as_deref(),
            Some("government_id")
        );
        assert_eq!(
            (&v.status, &v.decision, &v.history, &v.provider_ref),
            (
                &before.status,
                &before.decision,
                &before.history,
                &before.provider_ref
            )
        );
        assert_eq!(
            (v.created_at, v.updated_at),
            (before.created_at, before.updated_at)
        );
        assert_eq!(v.redaction.as_ref().map(|r| r.redacted_at), Some(t(10)));
    }

    #[test]
    fn a_second_redaction_keeps_the_first_one() {
        let mut v = ended();
        v.redact(t(10), ProviderCopy::Deleted);
        let first = v.clone();
        v.redact(t(20), ProviderCopy::Refused);
        assert_eq!(v, first);
    }

    #[test]
    fn only_an_ended_verification_is_redactable() {
        assert_eq!(fresh().redactable(), Err(RedactionRefusal::InProgress));
        assert_eq!(ended().redactable(), Ok(()));
    }

    #[test]
    fn only_the_newest_patch_keys_are_remembered() {
        let mut v = fresh();
        for i in 0..PATCH_KEYS_KEPT + 3 {
            v.remember_patch_key(&format!("k{i}"));
        }
        assert_eq!(v.patched_with_keys.len(), PATCH_KEYS_KEPT);
        assert_eq!(v.patched_with_keys[0], "k3");
    }
}
