//! `GET /customers/`: a bare array, oldest first, page by page, behind the key pair.

use serde_json::{json, Value};

use super::{bond, customer_body};
use crate::testing::{call, emulator};

fn people(a: &Value) -> Vec<String> {
    a.as_array()
        .unwrap()
        .iter()
        .map(|c| c["brand_person_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn customers_are_listed_oldest_first_page_by_page() {
    let emu = emulator();
    for p in ["p-1", "p-2", "p-3"] {
        let a = bond(&emu, "POST", "/customers/", &[], customer_body(p)).await;
        assert_eq!(a.status, 201, "{}", a.text);
    }
    let all = bond(&emu, "GET", "/customers/", &[], json!(null)).await;
    assert_eq!(all.status, 200, "{}", all.text);
    assert_eq!(people(&all.json()), ["p-1", "p-2", "p-3"]);
    let first = &all.json()[0];
    for field in [
        "customer_id",
        "date_created",
        "kyc_status",
        "first_name",
        "addresses",
    ] {
        assert!(first.get(field).is_some(), "{field} in {first}");
    }
    let second = bond(
        &emu,
        "GET",
        "/customers?page=2&per_page=2",
        &[],
        json!(null),
    )
    .await;
    assert_eq!(people(&second.json()), ["p-3"]);
    let beyond = bond(
        &emu,
        "GET",
        "/customers/?page=3&per_page=2",
        &[],
        json!(null),
    )
    .await;
    assert_eq!(beyond.json(), json!([]));
}

#[tokio::test]
async fn a_page_size_bond_does_not_offer_gets_customer_get_schema() {
    let emu = emulator();
    for query in ["per_page=3", "per_page=ten", "page=0"] {
        let a = bond(
            &emu,
            "GET",
            &format!("/customers/?{query}"),
            &[],
            json!(null),
        )
        .await;
        assert_eq!(a.status, 400, "{query}");
        assert_eq!(a.json()["Code"], "customer_get_schema", "{query}");
        assert_eq!(a.json()["Type"], "Request Error");
    }
    let a = bond(&emu, "GET", "/customers/?per_page=3", &[], json!(null)).await;
    assert_eq!(
        a.json()["Message"],
        json!({"per_page": ["Must be one of: 1, 2, 5, 10, 20, 50."]})
    );
}

#[tokio::test]
async fn listing_customers_needs_the_key_pair() {
    let emu = emulator();
    let a = call(&emu, "GET", "/bond/api/v0.1/customers/", &[], None).await;
    assert_eq!(a.status, 401);
}
