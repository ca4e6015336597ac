//! Redaction and retention (DESIGN §6): after `POST /v1/verifications/{id}/redact` no personal
//! value is left anywhere in the table, the decision record is, and a second call answers the
//! same; the personal fields of an ended verification carry their own TTL, the decision record
//! none; the providers that offer deletion are asked over HTTP.

use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::*;
use local_stack::LocalStack;
use serde_json::{json, Value};

async fn redact(stack: &LocalStack, id: &str) -> Answer {
    answer_to(
        reqwest::Method::POST,
        client()
            .post(format!("{}/v1/verifications/{id}/redact", stack.api_url))
            .send()
            .await
            .expect("POST redact"),
    )
    .await
}

fn attr_s<'a>(item: &'a std::collections::HashMap<String, AttributeValue>, name: &str) -> &'a str {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map_or("", String::as_str)
}

/// The item of a verification with this sort key, if any.
async fn item_of(
    stack: &LocalStack,
    id: &str,
    sk: &str,
) -> Option<std::collections::HashMap<String, AttributeValue>> {
    items(stack)
        .await
        .into_iter()
        .find(|i| attr_s(i, "pk") == format!("VER#{id}") && attr_s(i, "sk") == sk)
}

fn expires_at(item: &std::collections::HashMap<String, AttributeValue>) -> Option<i64> {
    item.get("expires_at")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
}

fn epoch(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .expect("a time")
        .timestamp()
}

#[tokio::test]
async fn after_redaction_no_personal_value_is_left_in_the_table_and_the_decision_is() {
    let stack = stack().await;
    let applicant = json!({
        "first_name": "Wilhelmina", "middle_name": "Octavia", "last_name": "Fairweather",
        "date_of_birth": "1979-03-14", "email": "w.fairweather@example.net", "phone": "5550198765",
        "personal_code": "37903140001", "ssn": "321-54-9876", "ip": "198.51.100.42",
        "address": {"street": "17 Cherry Tree Lane", "city": "Lakewood", "zip_code": "80226", "country": "US"}
    });
    let body = json!({
        "customer_id": "cus_forget_me", "applicant": applicant,
        "metadata": {"crm_note": "callback-tuesday-7731"}
    });
    let url = format!("{}/v1/verifications", stack.api_url);
    let created = post_keyed(&url, "key-forget-me", &body).await;
    assert_eq!(created.status, 201, "{}", created.raw);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let hosted = created.body["verification_url"]
        .as_str()
        .unwrap()
        .to_owned();
    click(&hosted, "reject", Some("PoorPhotoQuality")).await;
    let decided = status_becomes(&stack, &id, "rejected").await;

    // Before: the hosted URL and the metadata are in the table (the search below can find them).
    let before = format!("{:?}", snapshot(&stack).await);
    assert!(before.contains(&hosted) && before.contains("callback-tuesday-7731"));

    let first = redact(&stack, &id).await;
    assert_eq!(first.status, 200, "{}", first.raw);
    let v = &first.body;
    assert_eq!(v["verification_url"], "[redacted]");
    assert_eq!(v["metadata"]["crm_note"], "[redacted]");
    assert_eq!(v["redaction"]["provider_copy"], "not_supported");
    for kept in [
        "status",
        "decision",
        "history",
        "customer_id",
        "created_at",
        "updated_at",
    ] {
        assert_eq!(
            v[kept], decided[kept],
            "{kept} is part of the decision record"
        );
    }

    // Every value we were ever given or handed out, searched in every attribute of every item.
    let mut personal: Vec<String> = vec![hosted.clone(), "callback-tuesday-7731".into()];
    for (_, value) in applicant.as_object().unwrap() {
        match value {
            Value::String(s) => personal.push(s.clone()),
            Value::Object(address) => personal.extend(
                address
                    .values()
                    .filter_map(Value::as_str)
                    .filter(|s| s.len() > 2)
                    .map(str::to_owned),
            ),
            _ => {}
        }
    }
    let table = snapshot(&stack).await;
    for value in &personal {
        for item in &table {
            for (name, text) in item {
                assert!(
                    !text.contains(value.as_str()),
                    "{value:?} is still in attribute {name}: {item:?}"
                );
            }
        }
    }
    // The record keeps the provider's ids; the personal item is gone.
    let record = item_of(&stack, &id, "VERIFICATION").await.unwrap();
    assert_eq!(attr_s(&record, "provider_ref"), idv_of(&created.body));
    assert!(item_of(&stack, &id, "VERIFICATION#PERSONAL")
        .await
        .is_none());

    // The same answer again, and from GET; the keyed create replays the redacted view.
    let second = redact(&stack, &id).await;
    assert_eq!((second.status, &second.raw), (200, &first.raw));
    assert_eq!(&fetch(&stack, &id).await, v);
    let replay = post_keyed(&url, "key-forget-me", &body).await;
    assert_eq!(replay.status, 201, "{}", replay.raw);
    assert_eq!(replay.body["verification_url"], "[redacted]");
    assert_eq!(replay.body["id"], id.as_str());
}

#[tokio::test]
async fn an_open_verification_is_not_redacted_and_an_unknown_one_is_not_found() {
    let stack = stack().await;
    let v = create(&stack, "cus_still_open").await;
    let id = v["id"].as_str().unwrap();
    let open = redact(&stack, id).await;
    assert_eq!(open.status, 409, "{}", open.raw);
    assert_eq!(open.body["error"]["code"], "verification_in_progress");
    assert_eq!(open.body["error"]["verification_id"], id);
    assert_eq!(
        fetch(&stack, id).await["verification_url"],
        v["verification_url"]
    );
    let unknown = redact(&stack, "ver_01M8P3ZNDD7AREPGQVYA5ZSEB6").await;
    assert_eq!(unknown.status, 404, "{}", unknown.raw);
    assert_eq!(unknown.body["error"]["code"], "not_found");
}

#[tokio::test]
async fn personal_fields_expire_at_the_configured_horizon_and_the_decision_record_never() {
    let stack =
        stack_with([("PERSONAL_DATA_RETENTION_DAYS".to_owned(), "30".to_owned())].into()).await;
    let v = create(&stack, "cus_ttl").await;
    let id = v["id"].as_str().unwrap();
    let open = item_of(&stack, id, "VERIFICATION#PERSONAL").await.unwrap();
    assert!(attr_s(&open, "verification_url").starts_with("http"));
    assert_eq!(
        expires_at(&open),
        None,
        "an open verification's data does not expire"
    );

    click(v["verification_url"].as_str().unwrap(), "approve", None).await;
    let done = status_becomes(&stack, id, "approved").await;
    let record = item_of(&stack, id, "VERIFICATION").await.unwrap();
    assert_eq!(expires_at(&record), None, "the decision record has no TTL");
    assert!(!record.contains_key("verification_url") && !record.contains_key("metadata"));
    let personal = item_of(&stack, id, "VERIFICATION#PERSONAL").await.unwrap();
    assert_eq!(
        expires_at(&personal),
        Some(epoch(done["updated_at"].as_str().unwrap()) + 30 * 24 * 3600)
    );
    // The audit events expire by their own TTL (EVENT_RETENTION_SECONDS, 7 days).
    let events: Vec<_> = items(&stack)
        .await
        .into_iter()
        .filter(|i| attr_s(i, "pk") == format!("VER#{id}") && attr_s(i, "sk").starts_with("EVENT#"))
        .collect();
    assert!(!events.is_empty());
    for e in &events {
        assert_eq!(
            expires_at(e),
            Some(epoch(attr_s(e, "received_at")) + 7 * 24 * 3600)
        );
    }
}

#[tokio::test]
async fn a_verification_stored_before_the_personal_split_is_still_read_whole() {
    let stack = stack().await;
    let v = create(&stack, "cus_legacy").await;
    let id = v["id"].as_str().unwrap();
    // The layout before: one item holding the personal fields, no personal item.
    let mut record = item_of(&stack, id, "VERIFICATION").await.unwrap();
    let personal = item_of(&stack, id, "VERIFICATION#PERSONAL").await.unwrap();
    for name in ["verification_url", "metadata", "required_actions"] {
        record.insert(name.to_owned(), personal[name].clone());
    }
    stack
        .dynamodb
        .put_item()
        .table_name(&stack.table_name)
        .set_item(Some(record))
        .send()
        .await
        .unwrap();
    stack
        .dynamodb
        .delete_item()
        .table_name(&stack.table_name)
        .key("pk", AttributeValue::S(format!("VER#{id}")))
        .key("sk", AttributeValue::S("VERIFICATION#PERSONAL".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(fetch(&stack, id).await, v);
    // Its next save moves the personal fields into their own item.
    click(v["verification_url"].as_str().unwrap(), "approve", None).await;
    status_becomes(&stack, id, "approved").await;
    let record = item_of(&stack, id, "VERIFICATION").await.unwrap();
    assert!(!record.contains_key("verification_url"));
    assert!(item_of(&stack, id, "VERIFICATION#PERSONAL").await.is_some());
}

#[tokio::test]
async fn redacting_a_bond_verification_deletes_the_bond_customer() {
    let stack = stack().await;
    let a = post_json(
        &format!("{}/v1/verifications", stack.api_url),
        &json!({"customer_id": "cus_bond_forget", "provider": "bond", "applicant": bond_applicant("123-45-6789")}),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.raw);
    let id = a.body["id"].as_str().unwrap();
    status_becomes(&stack, id, "approved").await;
    let r = redact(&stack, id).await;
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["redaction"]["provider_copy"], "deleted");
    assert_eq!(
        r.body["verification_url"],
        Value::Null,
        "Bond had no hosted page"
    );
    assert_eq!(stack.emulator.counters()["bond_customer_delete"], 1);
    // Idempotent: Bond is not asked again.
    assert_eq!(redact(&stack, id).await.raw, r.raw);
    assert_eq!(stack.emulator.counters()["bond_customer_delete"], 1);
}

#[tokio::test]
async fn redacting_a_veriff_verification_deletes_the_veriff_session() {
    let stack = stack().await;
    let a = post_json(
        &format!("{}/v1/verifications", stack.api_url),
        &json!({"customer_id": "cus_veriff_forget", "provider": "veriff", "applicant": {"first_name": "Ada"}}),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.raw);
    let id = a.body["id"].as_str().unwrap();
    click(
        a.body["verification_url"].as_str().unwrap(),
        "approve",
        None,
    )
    .await;
    status_becomes(&stack, id, "approved").await;
    let r = redact(&stack, id).await;
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["redaction"]["provider_copy"], "deleted");
    assert_eq!(stack.emulator.counters()["veriff_session_delete"], 1);
    assert!(stack.emulator.veriff_sessions().is_empty());
}

#[tokio::test]
async fn a_provider_outage_during_redaction_redacts_nothing_so_a_retry_can() {
    let stack = stack().await;
    let a = post_json(
        &format!("{}/v1/verifications", stack.api_url),
        &json!({"customer_id": "cus_bond_retry", "provider": "bond", "applicant": bond_applicant("123-45-6789"), "metadata": {"k": "kept-until-redacted"}}),
    )
    .await;
    let id = a.body["id"].as_str().unwrap();
    status_becomes(&stack, id, "approved").await;
    stack.emulator.fail_next("bond_customer_delete", 503, 1);
    let failed = redact(&stack, id).await;
    assert_eq!(failed.status, 502, "{}", failed.raw);
    assert_eq!(
        fetch(&stack, id).await["metadata"]["k"],
        "kept-until-redacted"
    );
    let r = redact(&stack, id).await;
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["metadata"]["k"], "[redacted]");
}
