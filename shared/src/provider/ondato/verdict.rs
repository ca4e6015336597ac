//! Whose verdict it is. Ondato's webhook body is not signed, so the identification that decides
//! an IDV is never taken from it: it is the one the re-fetched IDV links to
//! (`step.kycIdentification.id`), and that identification must link back to the IDV
//! (`identityVerificationId`). Anyone holding the webhook credentials could otherwise name a
//! victim's IDV and their own approved identification, and the victim would be approved.

use super::NAME;
use crate::provider::ProviderError;

/// Why an identification is not this IDV's to decide with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Foreign {
    /// The body names an identification the IDV links to no longer, or never did.
    NotLinked,
    /// The identification says it belongs to another IDV.
    LinksElsewhere,
}

impl Foreign {
    fn as_str(self) -> &'static str {
        match self {
            Self::NotLinked => "the body names an identification the IDV does not link to",
            Self::LinksElsewhere => "the identification links back to another IDV",
        }
    }
}

/// Why re-reading an IDV and its identification gave no observation.
#[derive(Debug)]
pub(super) enum Refused {
    Provider(ProviderError),
    /// A verdict of another verification: logged, counted, never applied.
    Foreign {
        why: Foreign,
        verification_id: Option<String>,
    },
    /// The body names an identification while the IDV links none yet: Ondato may not show the
    /// link yet, so the event is retried rather than lost; nothing is applied meanwhile.
    NotLinkedYet,
}

impl From<ProviderError> for Refused {
    fn from(e: ProviderError) -> Self {
        Self::Provider(e)
    }
}

/// The identification to read for an IDV: the one the IDV links to, else (for a reading that
/// names none) the one the verification last decided with. A name from the body only has to
/// agree with the IDV's link; it never chooses.
pub(super) fn deciding(
    named: Option<&str>,
    linked: Option<&str>,
    recorded: Option<&str>,
) -> Result<Option<String>, Refused> {
    match (named, linked) {
        (Some(n), Some(l)) if n != l => Err(Refused::Foreign {
            why: Foreign::NotLinked,
            verification_id: None,
        }),
        (Some(_), None) => Err(Refused::NotLinkedYet),
        (_, Some(l)) => Ok(Some(l.to_owned())),
        (None, None) => Ok(recorded.map(str::to_owned)),
    }
}

/// The identification's own link back: absent, the IDV's link is the authority; present, it
/// must name this IDV.
pub(super) fn links_back(idv_id: &str, link: Option<&str>) -> Result<(), Foreign> {
    match link {
        Some(l) if l != idv_id => Err(Foreign::LinksElsewhere),
        _ => Ok(()),
    }
}

/// Log (ids only) and count a refused foreign verdict. The IDV id is not logged: it opens the
/// person's hosted page.
pub(super) fn report(why: Foreign, event_id: Option<&str>, verification_id: Option<&str>) {
    tracing::error!(
        event_id = event_id.unwrap_or("-"),
        verification_id = verification_id.unwrap_or("-"),
        reason = why.as_str(),
        "ondato verdict of another verification refused; nothing applied"
    );
    crate::telemetry::count("ForeignVerdicts", NAME.as_str());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn foreign(r: Result<Option<String>, Refused>) -> Option<Foreign> {
        match r {
            Err(Refused::Foreign { why, .. }) => Some(why),
            _ => None,
        }
    }

    #[test]
    fn the_idv_link_decides_and_a_body_naming_another_identification_is_foreign() {
        assert_eq!(
            deciding(Some("k1"), Some("k1"), None).ok().flatten(),
            Some("k1".to_owned())
        );
        assert_eq!(
            foreign(deciding(Some("theirs"), Some("k1"), Some("k1"))),
            Some(Foreign::NotLinked)
        );
        // The recorded decision never overrides the IDV's own link.
        assert_eq!(
            deciding(None, Some("k2"), Some("k1")).ok().flatten(),
            Some("k2".to_owned())
        );
        assert_eq!(
            deciding(None, None, Some("k1")).ok().flatten(),
            Some("k1".to_owned())
        );
        assert_eq!(deciding(None, None, None).ok().flatten(), None);
        assert!(matches!(
            deciding(Some("k1"), None, None),
            Err(Refused::NotLinkedYet)
        ));
    }

    #[test]
    fn an_identification_linking_back_to_another_idv_is_foreign() {
        assert_eq!(links_back("idv-1", Some("idv-1")), Ok(()));
        assert_eq!(links_back("idv-1", None), Ok(()));
        assert_eq!(
            links_back("idv-1", Some("idv-2")),
            Err(Foreign::LinksElsewhere)
        );
    }
}
