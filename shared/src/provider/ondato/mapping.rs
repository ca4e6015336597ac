//! Ondato's words in our status model (DESIGN §3): the IDV status and its KYC identification's
//! status and reason become one [`Observation`]; and our applicant becomes Ondato's registration
//! prefill.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value};

use super::client::{Idv, KycIdentification};
use crate::domain::request::Applicant;
use crate::domain::{Observation, Reason, Status};

/// Reasons after which a new attempt cannot succeed (the Ondato SDK calls them critical).
const FINAL_REASONS: &[&str] = &[
    "sanctioned",
    "miscellaneous",
    "possible_fraud_attempt",
    "prohibited_country_or_state",
    "underage_person",
    "prohibited_nationality",
    "doc_and_bio_age_doesnt_match",
    "duplicated_info",
];

/// `PoorPhotoQuality` / `POOR_PHOTO_QUALITY` → `poor_photo_quality`.
pub(super) fn reason_code(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 4);
    let chars: Vec<char> = raw.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev_lower =
                i > 0 && (chars[i - 1].is_ascii_lowercase() || chars[i - 1].is_ascii_digit());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            let prev_upper = i > 0 && chars[i - 1].is_ascii_uppercase();
            if i > 0 && !out.ends_with('_') && (prev_lower || (prev_upper && next_lower)) {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(*c);
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_owned()
}

/// Parse Ondato's UTC times (RFC 3339, or without an offset, which Ondato means as UTC).
pub(super) fn parse_utc(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
}

/// What the IDV and its KYC identification say, in our model.
pub(super) fn observe(
    event_type: &str,
    idv: &Idv,
    kyc: Option<&KycIdentification>,
    kyc_id: Option<&str>,
    at: DateTime<Utc>,
) -> Observation {
    let kyc_status = kyc.and_then(|k| k.status.as_deref());
    let kyc_reason = kyc.and_then(|k| k.status_reason.as_deref());
    let mut raw_status = format!("IDV {}", idv.status);
    if let Some(s) = kyc_status {
        raw_status.push_str(&format!(" / KYC {s}"));
        if let Some(r) = kyc_reason {
            raw_status.push_str(&format!(" ({r})"));
        }
    }
    let reason = kyc_reason.map(|r| {
        let code = reason_code(r);
        Reason {
            retryable: !FINAL_REASONS.contains(&code.as_str()),
            code,
            provider_reason: r.to_owned(),
        }
    });
    let status = match (kyc_status, idv.status.as_str()) {
        (Some("Approved"), _) => Status::Approved,
        (Some("Rejected"), _) => Status::Rejected,
        (_, "Aborted") => Status::Canceled,
        (_, "Expired") => Status::Expired,
        (_, "Completed") => Status::InReview,
        _ if event_type == "KycIdentification.Processed" => Status::InReview,
        (Some(_), _) => Status::InProgress,
        (None, "InProgress" | "Suspended") => Status::InProgress,
        _ if kyc_id.is_some() => Status::InProgress,
        _ => Status::Pending,
    };
    Observation {
        status,
        raw_status,
        reason: if status.is_terminal() { reason } else { None },
        required_actions: Vec::new(),
        occurred_at: at,
        decision_ref: kyc_id.map(str::to_owned),
    }
}

pub(super) fn registration(applicant: &Applicant) -> Map<String, Value> {
    let mut r = Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            r.insert(k.to_owned(), v);
        }
    };
    put("firstName", applicant.first_name.clone().map(Value::from));
    put("middleName", applicant.middle_name.clone().map(Value::from));
    put("lastName", applicant.last_name.clone().map(Value::from));
    put(
        "dateOfBirth",
        applicant
            .date_of_birth
            .map(|d| d.format("%Y-%m-%d").to_string().into()),
    );
    put("email", applicant.email.clone().map(Value::from));
    put(
        "personalCode",
        applicant.personal_code.clone().map(Value::from),
    );
    put(
        "countryCode",
        applicant.country_code.clone().map(Value::from),
    );
    put("phoneNumber", phone_number(applicant).map(Value::from));
    r
}

/// The phone as Ondato wants it: one JSON number, country code included (`370624515141`). Left
/// out (it is only prefill) without a country code, which Ondato could not tell from the number,
/// when the whole is not 8 to 15 digits (E.164), which Ondato would refuse with the IDV, or when
/// it starts with a zero, which a number cannot carry.
fn phone_number(applicant: &Applicant) -> Option<u64> {
    let national = applicant.phone.as_deref()?;
    let cc = applicant.phone_country_code.as_deref()?;
    let digits = format!("{cc}{national}");
    let all_digits = digits.bytes().all(|b| b.is_ascii_digit());
    if !all_digits || !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idv(status: &str) -> Idv {
        Idv {
            status: status.into(),
            external_reference_id: None,
            step: None,
        }
    }

    fn kyc(status: &str, reason: Option<&str>) -> KycIdentification {
        KycIdentification {
            status: Some(status.into()),
            status_reason: reason.map(Into::into),
            identity_verification_id: None,
        }
    }

    #[test]
    fn reason_words_become_snake_case_codes() {
        assert_eq!(reason_code("PoorPhotoQuality"), "poor_photo_quality");
        assert_eq!(reason_code("POOR_PHOTO_QUALITY"), "poor_photo_quality");
        assert_eq!(
            reason_code("DocAndBioAgeDoesntMatch"),
            "doc_and_bio_age_doesnt_match"
        );
        assert_eq!(
            reason_code("AutomaticallyIdentified"),
            "automatically_identified"
        );
    }

    #[test]
    fn the_provider_state_maps_onto_our_model() {
        let at = Utc::now();
        let cases = [
            (
                "IdentityVerification.StatusChanged",
                idv("Pending"),
                None,
                Status::Pending,
            ),
            (
                "IdentityVerification.StatusChanged",
                idv("InProgress"),
                None,
                Status::InProgress,
            ),
            (
                "IdentityVerification.StatusChanged",
                idv("Suspended"),
                None,
                Status::InProgress,
            ),
            (
                "KycIdentification.Created",
                idv("InProgress"),
                Some(kyc("Awaiting", None)),
                Status::InProgress,
            ),
            (
                "KycIdentification.Processed",
                idv("InProgress"),
                Some(kyc("Awaiting", None)),
                Status::InReview,
            ),
            (
                "IdentityVerification.StatusChanged",
                idv("Completed"),
                Some(kyc("Awaiting", None)),
                Status::InReview,
            ),
            (
                "KycIdentification.Approved",
                idv("Completed"),
                Some(kyc("Approved", Some("AutomaticallyIdentified"))),
                Status::Approved,
            ),
            (
                "KycIdentification.Rejected",
                idv("Completed"),
                Some(kyc("Rejected", Some("PoorPhotoQuality"))),
                Status::Rejected,
            ),
            (
                "IdentityVerification.StatusChanged",
                idv("Aborted"),
                None,
                Status::Canceled,
            ),
            (
                "IdentityVerification.StatusChanged",
                idv("Expired"),
                None,
                Status::Expired,
            ),
        ];
        for (event, idv, kyc, expected) in cases {
            let o = observe(event, &idv, kyc.as_ref(), kyc.as_ref().map(|_| "kyc-1"), at);
            assert_eq!(o.status, expected, "{event} {}", o.raw_status);
        }
    }

    /// Whatever Ondato says after a decision (a late `Processed`, IDV `Completed`, `Expired` or
    /// `Aborted`, even an identification read as still awaiting), newer or not, by webhook or
    /// by the reconciler: the decision stands; only another decision moves it.
    #[test]
    fn nothing_after_a_decision_but_another_decision_moves_it_back() {
        use crate::domain::{
            CustomerId, Metadata, NewVerification, ProviderName, Source, Transition, Verification,
            VerificationId,
        };

        let t0 = Utc::now();
        let at = |s: i64| t0 + chrono::Duration::seconds(s);
        for (decided, status) in [
            ("Approved", Status::Approved),
            ("Rejected", Status::Rejected),
        ] {
            let mut v = Verification::start(
                NewVerification {
                    id: VerificationId::generate(),
                    customer_id: CustomerId::parse("cus_1").unwrap(),
                    provider: ProviderName::from_static("ondato"),
                    provider_ref: Some("idv-1".into()),
                    verification_url: None,
                    metadata: Metadata::new(),
                    initial: observe("", &idv("Pending"), None, None, at(0)),
                },
                at(0),
            );
            let decision = observe(
                "KycIdentification.Approved",
                &idv("Completed"),
                Some(&kyc(decided, None)),
                Some("kyc-1"),
                at(1),
            );
            v.apply(&decision, Source::Webhook, Some("e1"), at(1));
            assert_eq!(v.status, status);
            let late = [
                ("KycIdentification.Processed", "Completed", Some("Awaiting")),
                (
                    "KycIdentification.Processed",
                    "InProgress",
                    Some("Awaiting"),
                ),
                ("KycIdentification.Processed", "Completed", Some(decided)),
                ("IdentityVerification.StatusChanged", "Completed", None),
                ("IdentityVerification.StatusChanged", "Expired", None),
                ("IdentityVerification.StatusChanged", "Aborted", None),
                ("", "Completed", Some("Awaiting")),
            ];
            for (i, (event, idv_status, kyc_status)) in late.into_iter().enumerate() {
                let k = kyc_status.map(|s| kyc(s, None));
                let o = observe(
                    event,
                    &idv(idv_status),
                    k.as_ref(),
                    Some("kyc-1"),
                    at(2 + i as i64),
                );
                for source in [Source::Webhook, Source::Reconcile] {
                    let t = v.apply(&o, source, None, at(2 + i as i64));
                    assert!(
                        !matches!(t, Transition::Changed { .. }),
                        "{decided} then {event} {idv_status} {kyc_status:?}: {t:?}"
                    );
                    assert_eq!(v.status, status);
                }
            }
            assert_eq!(v.history.len(), 2, "{decided}: no entry after the decision");
        }
    }

    #[test]
    fn critical_rejection_reasons_are_not_retryable() {
        let at = Utc::now();
        let o = observe(
            "KycIdentification.Rejected",
            &idv("Completed"),
            Some(&kyc("Rejected", Some("Sanctioned"))),
            Some("k"),
            at,
        );
        assert!(!o.reason.unwrap().retryable);
        let o = observe(
            "KycIdentification.Rejected",
            &idv("Completed"),
            Some(&kyc("Rejected", Some("BlurredPhoto"))),
            Some("k"),
            at,
        );
        assert!(o.reason.unwrap().retryable);
    }

    #[test]
    fn ondato_times_parse_with_or_without_an_offset() {
        assert!(parse_utc("2023-01-16T23:40:51Z").is_some());
        assert!(parse_utc("2023-01-16T23:40:51.1234567").is_some());
        assert!(parse_utc("2023-01-16T23:40:51.123+02:00").is_some());
        assert!(parse_utc("yesterday").is_none());
    }

    #[test]
    fn registration_sends_only_what_was_given_and_the_phone_as_a_number() {
        let applicant = Applicant {
            first_name: Some("Ada".into()),
            phone: Some("624515141".into()),
            phone_country_code: Some("370".into()),
            ..Applicant::default()
        };
        let r = registration(&applicant);
        assert_eq!(r["firstName"], "Ada");
        assert_eq!(r["phoneNumber"], 370624515141u64);
        assert!(!r.contains_key("lastName"));
    }

    #[test]
    fn a_phone_ondato_would_refuse_or_misread_is_left_out() {
        let phone = |cc: Option<&str>, national: &str| {
            let applicant = Applicant {
                phone: Some(national.into()),
                phone_country_code: cc.map(Into::into),
                ..Applicant::default()
            };
            registration(&applicant).get("phoneNumber").cloned()
        };
        // Without a country code the number alone would be read as international.
        assert_eq!(phone(None, "624515141"), None);
        // Shorter than 8 or longer than 15 digits in all.
        assert_eq!(phone(Some("1"), "5550"), None);
        assert_eq!(phone(Some("370"), "1234567890123"), None);
        assert_eq!(phone(Some("0"), "624515141"), None);
        assert_eq!(phone(Some("1"), "2025550111"), Some(12025550111u64.into()));
    }
}
