//! `?include=kyc_data` from Veriff: the session's decision, `GET /v1/sessions/{id}/decision`
//! (anchors §3), whose `verification.person` and `verification.document` hold what Veriff read.
//!
//! Read: `person.firstName`, `person.lastName`, `person.dateOfBirth`, `document.type`,
//! `document.country`, `document.number` (masked at once), `document.validUntil`; the address
//! from `person.addresses[0]` (`parsedAddress` parts, `fullAddress`), which Veriff sends only
//! where the integration extracts addresses (unconfirmed field names). Never read: `idNumber`,
//! `gender`, `nationality`, images, the decision's other data. A decision of another session
//! is never shown.

use serde_json::Value;

use super::client::{call, VeriffClient};
use crate::domain::kyc_data::{
    parse_date, CountryCode, DocumentKind, KycAddress, KycData, KycDocument, KycText,
    MaskedDocumentNumber,
};
use crate::domain::Verification;
use crate::provider::ProviderError;

/// What the session's decision says of the person; `None` before a decision.
pub(super) async fn read(
    client: &VeriffClient,
    v: &Verification,
) -> Result<Option<KycData>, ProviderError> {
    let Some(session) = v.provider_ref.as_deref() else {
        return Ok(None);
    };
    let url = client.url(&[session, "decision"])?;
    let req = client.request(reqwest::Method::GET, url, session.as_bytes());
    let answer: Value = call(req, "decision").await?;
    let Some(decision) = answer.get("verification").filter(|d| d.is_object()) else {
        return Ok(None);
    };
    if decision.get("id").and_then(Value::as_str) != Some(session) {
        tracing::warn!(verification_id = %v.id, "veriff answered another session's decision; its data is not shown");
        return Err(ProviderError::Unavailable(
            "veriff answered with another session's decision".into(),
        ));
    }
    Ok(project(decision))
}

/// The minimised projection of a decision's `person` and `document`.
pub(super) fn project(decision: &Value) -> Option<KycData> {
    let person = decision.get("person");
    let document = decision.get("document");
    let of = |part: Option<&Value>, key: &str| {
        part.and_then(|p| p.get(key))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let data = KycData {
        first_name: of(person, "firstName").as_deref().and_then(KycText::parse),
        middle_name: None,
        last_name: of(person, "lastName").as_deref().and_then(KycText::parse),
        date_of_birth: of(person, "dateOfBirth").as_deref().and_then(parse_date),
        document: KycDocument::of(
            of(document, "type")
                .as_deref()
                .map(DocumentKind::from_provider_word),
            of(document, "country")
                .as_deref()
                .and_then(CountryCode::parse),
            of(document, "number")
                .as_deref()
                .and_then(MaskedDocumentNumber::mask),
            of(document, "validUntil").as_deref().and_then(parse_date),
        ),
        address: person.and_then(address),
    };
    (!data.is_empty()).then_some(data)
}

/// The first of `person.addresses`.
fn address(person: &Value) -> Option<KycAddress> {
    let first = person.get("addresses")?.as_array()?.first()?;
    let parsed = first.get("parsedAddress");
    let part = |key: &str| {
        parsed
            .and_then(|p| p.get(key))
            .and_then(Value::as_str)
            .and_then(KycText::parse)
    };
    let street = match (part("street"), part("houseNumber")) {
        (Some(street), Some(number)) => {
            KycText::parse(&format!("{} {}", street.as_str(), number.as_str()))
        }
        (street, _) => street,
    };
    KycAddress {
        street,
        street2: part("unit"),
        city: part("city"),
        state: part("state"),
        postal_code: part("postcode"),
        country: parsed
            .and_then(|p| p.get("country"))
            .and_then(Value::as_str)
            .and_then(CountryCode::parse),
        formatted: first
            .get("fullAddress")
            .and_then(Value::as_str)
            .and_then(KycText::parse),
    }
    .non_empty()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_decisions_person_and_document_are_minimised() {
        let data = project(&json!({
            "id": "s-1", "status": "approved",
            "person": {"firstName": "ADA", "lastName": "KING", "dateOfBirth": "1990-01-02",
                "idNumber": "49001021234", "gender": "F",
                "addresses": [{"fullAddress": "Tartu mnt 2, 10145 Tallinn",
                    "parsedAddress": {"street": "Tartu mnt", "houseNumber": "2", "postcode": "10145",
                        "city": "Tallinn", "country": "EE"}}]},
            "document": {"number": "AB0012345", "type": "PASSPORT", "country": "EE", "validUntil": "2031-12-31"}
        }))
        .expect("data");
        let v = data.to_json();
        assert_eq!(v["first_name"], "ADA");
        assert_eq!(v["document"]["type"], "passport");
        assert_eq!(v["document"]["country"], "EE");
        assert_eq!(v["document"]["number_masked"], "****2345");
        assert_eq!(v["address"]["street"], "Tartu mnt 2");
        assert_eq!(v["address"]["postal_code"], "10145");
        assert_eq!(v["address"]["formatted"], "Tartu mnt 2, 10145 Tallinn");
        let shown = v.to_string();
        for hidden in ["49001021234", "AB0012345", "\"F\""] {
            assert!(!shown.contains(hidden), "{hidden} is shown");
        }
    }

    #[test]
    fn a_decision_before_submission_shows_no_data() {
        let before = json!({"id": "s-1", "person": {"firstName": null},
            "document": {"number": null, "type": null, "country": null, "validUntil": null}});
        assert!(project(&before).is_none());
    }
}
