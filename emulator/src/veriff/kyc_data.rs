//! What Veriff read from the person's document, as a decision shows it (`verification.document`
//! and `person.addresses` of `GET /v1/sessions/{id}/decision`, anchors §3; the address's field
//! names are unconfirmed): a document number of the session's own and an address. The read
//! behind the functions' `?include=kyc_data`.

use serde_json::{json, Value};

use crate::util::document_number;

/// The document of a submitted session.
pub(super) fn document(session_id: &str) -> Value {
    json!({
        "number": document_number("AB", session_id),
        "type": "ID_CARD",
        "country": "LT",
        "validUntil": "2031-12-31",
    })
}

/// The address read from the document of a submitted session.
pub(super) fn addresses() -> Value {
    json!([{
        "fullAddress": "Gedimino pr. 9, 01103 Vilnius",
        "parsedAddress": {"street": "Gedimino pr.", "houseNumber": "9", "postcode": "01103",
            "city": "Vilnius", "country": "LT", "state": null, "unit": null},
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_document_is_shown_should_carry_a_number_of_the_sessions_own() {
        assert_eq!(document("s-1")["number"], document_number("AB", "s-1"));
        assert_ne!(document("s-1")["number"], document("s-2")["number"]);
        assert_eq!(addresses()[0]["parsedAddress"]["city"], "Vilnius");
    }
}
