//! The identity document Bond keeps on a customer once its KYC is decided (`id_type`,
//! `id_number`, `id_issuance`, `id_expiration`, as the Atelio docs mirror names them,
//! providers.md §2; unconfirmed against a live sandbox): shown by `GET /customers/{id}`, the
//! read behind the functions' `?include=kyc_data`.

use chrono::Months;
use serde_json::{json, Map, Value};

use super::BondCustomer;
use crate::util::document_number;

/// The document fields of a decided customer; none before a decision.
pub(super) fn identity_document(c: &BondCustomer) -> Map<String, Value> {
    let decided = matches!(c.kyc_status.as_deref(), Some("passed" | "failed"));
    if !decided {
        return Map::new();
    }
    let issued = c.date_created.date_naive() - Months::new(12);
    let expires = issued + Months::new(96);
    let fields = json!({
        "id_type": "drivers_license",
        "id_number": document_number("D", &c.id),
        "id_issuance": issued.format("%Y-%m-%d").to_string(),
        "id_expiration": expires.format("%Y-%m-%d").to_string(),
    });
    fields.as_object().cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn customer(status: Option<&str>) -> BondCustomer {
        BondCustomer {
            id: "c-1".into(),
            brand_person_id: "cus_1".into(),
            date_created: Utc::now(),
            details: Map::new(),
            kyc_status: status.map(str::to_owned),
            passed_at: None,
            documents: Vec::new(),
            kyc_runs: 1,
        }
    }

    #[test]
    fn when_kyc_is_decided_should_show_the_document_and_not_before() {
        assert!(identity_document(&customer(None)).is_empty());
        assert!(identity_document(&customer(Some("under_review"))).is_empty());
        let shown = identity_document(&customer(Some("passed")));
        assert_eq!(shown["id_type"], "drivers_license");
        assert_eq!(shown["id_number"], document_number("D", "c-1"));
        assert!(shown["id_expiration"].as_str().unwrap() > shown["id_issuance"].as_str().unwrap());
    }
}
