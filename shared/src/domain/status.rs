//! The one status model every provider word maps to (DESIGN §3).

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    InProgress,
    InReview,
    ActionRequired,
    Approved,
    Rejected,
    Expired,
    Canceled,
    Failed,
}

impl Status {
    pub const ALL: [Status; 9] = [
        Status::Pending,
        Status::InProgress,
        Status::InReview,
        Status::ActionRequired,
        Status::Approved,
        Status::Rejected,
        Status::Expired,
        Status::Canceled,
        Status::Failed,
    ];

    /// Terminal statuses end an attempt; only a newer provider decision changes them.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Approved | Self::Rejected | Self::Expired | Self::Canceled | Self::Failed
        )
    }

    /// A provider decision on the person (as opposed to the attempt simply ending).
    pub fn is_decision(self) -> bool {
        matches!(self, Self::Approved | Self::Rejected)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::InProgress => "in_progress",
            Self::InReview => "in_review",
            Self::ActionRequired => "action_required",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Expired => "expired",
            Self::Canceled => "canceled",
            Self::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_statuses_are_exactly_the_five_of_the_design() {
        let terminal: Vec<_> = Status::ALL
            .into_iter()
            .filter(|s| s.is_terminal())
            .collect();
        assert_eq!(
            terminal,
            [
                Status::Approved,
                Status::Rejected,
                Status::Expired,
                Status::Canceled,
                Status::Failed
            ]
        );
    }

    #[test]
    fn status_words_round_trip_through_their_wire_form() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }
}
