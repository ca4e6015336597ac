//! `?include=kyc_data` from Ondato: the KYC identification the verification's IDV links to
//! (`GET {kycid}/v1/identifications/{id}`, providers.md §1.4), its `document` minimised.
//!
//! Read from the identification's `document`: `firstName`, `lastName`, `dateOfBirth`, `type`,
//! `countryIso3`, `documentNumber` (masked at once), `dateOfExpiration`. Ondato's identification
//! as we know it has no address and no middle name: both are `null`. The identification must
//! link back to the IDV (`identityVerificationId`), as for a verdict; one of another IDV is
//! never shown.

use serde_json::Value;

use super::client::OndatoClient;
use crate::domain::kyc_data::{
    parse_date, CountryCode, DocumentKind, KycData, KycDocument, KycText, MaskedDocumentNumber,
};
use crate::domain::Verification;
use crate::provider::ProviderError;

/// The identification data of the verification's IDV; `None` while the IDV links none.
pub(super) async fn read(
    client: &OndatoClient,
    v: &Verification,
) -> Result<Option<KycData>, ProviderError> {
    let Some(idv_id) = v.provider_ref.as_deref() else {
        return Ok(None);
    };
    let idv = client.fetch_idv(idv_id).await?;
    let Some(kyc_id) = idv.kyc_id().or_else(|| v.decision_ref.clone()) else {
        return Ok(None);
    };
    let identification = client
        .call(reqwest::Method::GET, client.kyc_url(&kyc_id)?, None)
        .await?
        .ok_or_else(|| ProviderError::Unavailable("empty identification".into()))?;
    let linked = identification
        .get("identityVerificationId")
        .and_then(Value::as_str);
    if linked != Some(idv_id) {
        tracing::warn!(verification_id = %v.id, "ondato identification does not link back to the IDV; its data is not shown");
        return Err(ProviderError::Unavailable(
            "ondato linked an identification of another IDV".into(),
        ));
    }
    Ok(project(&identification))
}

/// The minimised projection of an identification's `document`; `None` without one.
pub(super) fn project(identification: &Value) -> Option<KycData> {
    let document = identification.get("document").filter(|d| d.is_object())?;
    let text = |key: &str| document.get(key).and_then(Value::as_str);
    let data = KycData {
        first_name: text("firstName").and_then(KycText::parse),
        middle_name: None,
        last_name: text("lastName").and_then(KycText::parse),
        date_of_birth: text("dateOfBirth").and_then(parse_date),
        document: KycDocument::of(
            text("type").map(DocumentKind::from_provider_word),
            text("countryIso3").and_then(CountryCode::parse),
            text("documentNumber").and_then(MaskedDocumentNumber::mask),
            text("dateOfExpiration").and_then(parse_date),
        ),
        address: None,
    };
    (!data.is_empty()).then_some(data)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_identifications_document_is_minimised_and_its_number_masked() {
        let data = project(&json!({
            "identityVerificationId": "idv-1",
            "document": {"fullName": "ADA KING", "firstName": "ADA", "lastName": "KING",
                "documentNumber": "LT1234567", "dateOfBirth": "1990-01-02", "dateOfIssue": "2020-01-01",
                "dateOfExpiration": "2030-01-01", "personalCode": "39001021234",
                "countryIso3": "LTU", "type": "IdCard", "files": [{"fileId": "f-1"}]},
            "face": {"files": []}
        }))
        .expect("data");
        let v = data.to_json();
        assert_eq!(v["first_name"], "ADA");
        assert_eq!(v["last_name"], "KING");
        assert_eq!(v["date_of_birth"], "1990-01-02");
        assert_eq!(v["document"]["type"], "id_card");
        assert_eq!(v["document"]["country"], "LTU");
        assert_eq!(v["document"]["number_masked"], "****4567");
        assert_eq!(v["document"]["expires_on"], "2030-01-01");
        assert_eq!(v["address"], Value::Null);
        let shown = v.to_string();
        for hidden in ["LT1234567", "39001021234", "f-1", "2020-01-01", "ADA KING"] {
            assert!(!shown.contains(hidden), "{hidden} is shown");
        }
    }

    #[test]
    fn an_identification_without_a_usable_document_gives_no_data() {
        assert!(project(&json!({"status": "Awaiting"})).is_none());
        assert!(project(&json!({"document": null})).is_none());
        assert!(project(&json!({"document": {"firstName": 42, "type": null}})).is_none());
    }
}
