//! `?include=kyc_data` from Bond: the customer record, `GET /customers/{customer_id}`
//! (providers.md §2.2), minimised.
//!
//! Read: `first_name`, `middle_name`, `last_name`, `dob`, the primary address of `addresses[]`
//! (else the first), and the identity document Bond keeps on the customer after a KYC pass
//! (`id_type`, `id_number` masked at once, `id_expiration`: named by the Atelio docs mirror,
//! providers.md §2; unconfirmed against a live sandbox). Bond tells no issuing country: `null`.
//! Never read: the SSN, phone, e-mail, IP.

use serde_json::Value;

use super::client::BondClient;
use crate::domain::kyc_data::{
    parse_date, CountryCode, DocumentKind, KycAddress, KycData, KycDocument, KycText,
    MaskedDocumentNumber,
};
use crate::domain::Verification;
use crate::provider::ProviderError;

/// The Bond customer's data; `None` when the record holds nothing we show.
pub(super) async fn read(
    client: &BondClient,
    v: &Verification,
) -> Result<Option<KycData>, ProviderError> {
    let Some(bond_id) = v.provider_ref.as_deref() else {
        return Ok(None);
    };
    let bytes = client
        .expect_2xx(
            reqwest::Method::GET,
            &["customers", bond_id],
            None,
            "customer read",
        )
        .await?;
    let customer: Value =
        serde_json::from_slice(&bytes).map_err(ProviderError::unreadable("Bond customer"))?;
    Ok(project(&customer))
}

/// The minimised projection of a Bond customer record.
pub(super) fn project(customer: &Value) -> Option<KycData> {
    let text = |key: &str| customer.get(key).and_then(Value::as_str);
    let data = KycData {
        first_name: text("first_name").and_then(KycText::parse),
        middle_name: text("middle_name").and_then(KycText::parse),
        last_name: text("last_name").and_then(KycText::parse),
        date_of_birth: text("dob").and_then(parse_date),
        document: KycDocument::of(
            text("id_type").map(DocumentKind::from_provider_word),
            None,
            text("id_number").and_then(MaskedDocumentNumber::mask),
            text("id_expiration").and_then(parse_date),
        ),
        address: address(customer),
    };
    (!data.is_empty()).then_some(data)
}

/// The primary address, else the first one.
fn address(customer: &Value) -> Option<KycAddress> {
    let list = customer.get("addresses").and_then(Value::as_array)?;
    let chosen = list
        .iter()
        .find(|a| a.get("is_primary").and_then(Value::as_bool) == Some(true))
        .or_else(|| list.first())?;
    let text = |key: &str| {
        chosen
            .get(key)
            .and_then(Value::as_str)
            .and_then(KycText::parse)
    };
    KycAddress {
        street: text("street"),
        street2: text("street2"),
        city: text("city"),
        state: text("state"),
        postal_code: text("zip_code"),
        country: chosen
            .get("country")
            .and_then(Value::as_str)
            .and_then(CountryCode::parse),
        formatted: None,
    }
    .non_empty()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_customer_record_is_minimised_without_ssn_contact_or_full_document_number() {
        let data = project(&json!({
            "customer_id": "c-1", "brand_person_id": "cus_1", "first_name": "Grace",
            "last_name": "Hopper", "dob": "1986-12-09", "ssn": "333-33-3333",
            "email": "grace@example.com", "phone": "2025550147",
            "id_type": "drivers_license", "id_number": "D12345678", "id_expiration": "2030-12-09",
            "addresses": [
                {"address_type": "MAILING", "street": "PO Box 1", "city": "Nowhere", "is_primary": false},
                {"address_type": "PHYSICAL", "street": "1 Navy Way", "street2": null, "city": "Arlington",
                 "state": "VA", "zip_code": "22202", "country": "US", "is_primary": true}
            ]
        }))
        .expect("data");
        let v = data.to_json();
        assert_eq!(v["first_name"], "Grace");
        assert_eq!(v["date_of_birth"], "1986-12-09");
        assert_eq!(v["document"]["type"], "driving_licence");
        assert_eq!(v["document"]["country"], Value::Null);
        assert_eq!(v["document"]["number_masked"], "****5678");
        assert_eq!(v["address"]["street"], "1 Navy Way");
        assert_eq!(v["address"]["postal_code"], "22202");
        assert_eq!(v["address"]["country"], "US");
        let shown = v.to_string();
        for hidden in ["333-33-3333", "grace@", "2025550147", "D12345678", "PO Box"] {
            assert!(!shown.contains(hidden), "{hidden} is shown");
        }
    }

    #[test]
    fn a_record_before_kyc_has_no_document_and_an_empty_one_no_data() {
        let data = project(&json!({"first_name": "Grace", "addresses": []})).expect("data");
        assert!(data.document.is_none() && data.address.is_none());
        assert!(project(&json!({"customer_id": "c-1", "ssn": "333-33-3333"})).is_none());
    }
}
