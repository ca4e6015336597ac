//! The `document` of an identification (`GET /v1/identifications/{id}`, providers.md §1.4), as
//! Ondato reads it from the person's document: the person of the IDV's prefill (or a placeholder
//! where none was given), a document number of that person's own, the country of the prefill.
//! The read behind the functions' `?include=kyc_data`.

use serde_json::{json, Value};

use crate::util::document_number;

/// ISO 3166-1 alpha-3 of the prefill's alpha-2 country (the few the tests use; else Lithuania,
/// the emulator's home).
fn iso3(alpha2: Option<&str>) -> &'static str {
    match alpha2.map(str::to_ascii_uppercase).as_deref() {
        Some("GB") => "GBR",
        Some("US") => "USA",
        Some("DE") => "DEU",
        Some("FR") => "FRA",
        Some("EE") => "EST",
        Some("LV") => "LVA",
        Some("PL") => "POL",
        _ => "LTU",
    }
}

/// The identification's `document` for the IDV's `registration`.
pub(super) fn document_json(registration: &Value, kyc_id: &str) -> Value {
    let field = |key: &str| registration.get(key).and_then(Value::as_str);
    let first = field("firstName").unwrap_or("JOHN");
    let middle = field("middleName");
    let last = field("lastName").unwrap_or("DOE");
    let given = match middle {
        Some(m) => format!("{first} {m}"),
        None => first.to_owned(),
    };
    json!({
        "fullName": format!("{given} {last}").to_uppercase(),
        "firstName": given.to_uppercase(),
        "lastName": last.to_uppercase(),
        "documentNumber": document_number("LT", kyc_id),
        "dateOfBirth": field("dateOfBirth").unwrap_or("1990-01-01"),
        "dateOfIssue": "2021-12-31",
        "dateOfExpiration": "2031-12-31",
        "personalCode": field("personalCode"),
        "countryIso3": iso3(field("countryCode")),
        "type": "IdCard",
        "mrzVerified": true,
        "files": [
            {"fileId": format!("{kyc_id}-front"), "fileName": "front.jpeg", "fileExtension": "jpeg",
             "part": "Front", "fileType": "DocumentPhoto"},
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_document_is_read_should_carry_the_prefill_and_a_number_of_its_own() {
        let reg = json!({"firstName": "Ada", "middleName": "Augusta", "lastName": "King",
            "dateOfBirth": "1990-02-03", "countryCode": "gb"});
        let d = document_json(&reg, "kyc-1");
        assert_eq!(d["firstName"], "ADA AUGUSTA");
        assert_eq!(d["lastName"], "KING");
        assert_eq!(d["dateOfBirth"], "1990-02-03");
        assert_eq!(d["countryIso3"], "GBR");
        assert_eq!(d["documentNumber"], document_number("LT", "kyc-1"));
        assert_ne!(
            document_json(&reg, "kyc-2")["documentNumber"],
            d["documentNumber"]
        );
        assert_eq!(document_json(&Value::Null, "kyc-1")["countryIso3"], "LTU");
    }
}
