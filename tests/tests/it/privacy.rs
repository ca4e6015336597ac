//! No log line carries applicant data, tokens, secrets or the hosted URL (DESIGN §6). The logs of
//! the full flow are captured, in the JSON format Lambda uses, and searched.

use std::io::Write;
use std::sync::{Arc, Mutex};

use integration_tests::*;
use local_stack::LocalStack;
use serde_json::json;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// JSON logs with the functions' own filter at its most verbose setting (`TRACE`: our crates at
/// trace, every other crate at most at info), into a buffer the test reads back.
fn capture_logs() -> Captured {
    use tracing_subscriber::filter::LevelFilter;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let logs = Captured::default();
    let sink = logs.clone();
    tracing_subscriber::fmt()
        .json()
        .with_max_level(LevelFilter::TRACE)
        .with_writer(move || sink.clone())
        .finish()
        .with(shared::telemetry::filter(LevelFilter::TRACE))
        .init();
    logs
}

/// The Ondato flow with prefill, and refused requests; returns the hosted URL, the IDV id and
/// the verification id.
async fn ondato_flow(stack: &LocalStack) -> (String, String, String) {
    let pii = json!({
        "first_name": "Zelda", "middle_name": "Ophelia", "last_name": "Quimby", "date_of_birth": "1987-06-05",
        "email": "zelda.quimby@example.org", "phone": "5550123456", "phone_country_code": "1",
        "country_code": "US", "personal_code": "39001011234", "ssn": "123-45-6789", "ip": "198.51.100.7",
        "address": {"street": "742 Evergreen Terrace", "city": "Springfield", "state": "MI", "zip_code": "49007", "country": "US"}
    });
    let created = post_json(
        &format!("{}/v1/verifications", stack.api_url),
        &json!({"customer_id": "cus_private", "applicant": pii}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.raw);
    let url = created.body["verification_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let idv = idv_of(&created.body);
    click(&url, "approve", None).await;
    fetch(stack, created.body["id"].as_str().unwrap()).await;
    get(&format!(
        "{}/v1/customers/cus_private/verification",
        stack.api_url
    ))
    .await;
    // Refused requests log too.
    post_json(
        &format!("{}/v1/verifications", stack.api_url),
        &json!({"customer_id": "cus_private", "applicant": pii}),
    )
    .await;
    let bad = answer_to(
        reqwest::Method::POST,
        client()
            .post(format!("{}/v1/webhooks/ondato", stack.api_url))
            .header("authorization", basic("ondato", "zelda-guess"))
            .body("{}")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(bad.status, 401);
    (url, idv, created.body["id"].as_str().unwrap().to_owned())
}

/// The Bond flow: the SSN and the rest go to Bond server to server; returns the verification id.
async fn bond_flow(stack: &LocalStack) -> String {
    let bond_pii = json!({
        "first_name": "Yolanda", "last_name": "Xerxes", "date_of_birth": "1979-03-14",
        "email": "yolanda.xerxes@example.net", "phone": "2025550199", "phone_country_code": "1",
        "ssn": "321-54-9876", "ip": "203.0.113.77",
        "address": {"street": "9 Quarry Lane", "city": "Boston", "state": "MA", "zip_code": "02108", "country": "US"}
    });
    let bond = post_keyed(
        &format!("{}/v1/verifications", stack.api_url),
        "privacy-bond",
        &json!({"customer_id": "cus_private_bond", "provider": "bond", "applicant": bond_pii}),
    )
    .await;
    assert_eq!(bond.status, 201, "{}", bond.raw);
    let bond_id = bond.body["id"].as_str().unwrap().to_owned();
    for _ in 0..100 {
        if fetch(stack, &bond_id).await["status"] == "approved" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(fetch(stack, &bond_id).await["status"], "approved");
    bond_id
}

/// Every value `?include=kyc_data` answered for the verification (names, dates, address parts,
/// the masked number; not the document type or country codes, which are words anyone may log),
/// and the document's full number as the provider holds it.
async fn kyc_data_values(stack: &LocalStack, id: &str, full_number: String) -> Vec<String> {
    let a = get(&format!(
        "{}/v1/verifications/{id}?include=kyc_data",
        stack.api_url
    ))
    .await;
    assert_eq!(a.status, 200, "{}", a.raw);
    fn leaves(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) if s.len() >= 5 => out.push(s.clone()),
            serde_json::Value::Object(o) => o
                .iter()
                .filter(|(k, _)| k.as_str() != "type")
                .for_each(|(_, v)| leaves(v, out)),
            _ => {}
        }
    }
    let mut values = vec![full_number];
    leaves(&a.body["kyc_data"], &mut values);
    assert!(values.len() >= 5, "kyc data was answered: {values:?}");
    values
}

/// The KYC data answered live is in no table item and no log line.
fn assert_kyc_data_left_no_trace(values: &[String], table: &str, logs: &str) {
    for value in values {
        assert!(!table.contains(value), "a table item contains {value:?}");
        if let Some(line) = logs.lines().find(|l| l.contains(value.as_str())) {
            panic!("a log line contains {value:?}: {line}");
        }
    }
}

/// Nothing the applicants gave is in any table item.
async fn assert_no_applicant_data_in_the_table(stack: &LocalStack) {
    let table = format!("{:?}", items(stack).await);
    for needle in [
        "Zelda",
        "Quimby",
        "zelda.quimby",
        "5550123456",
        "39001011234",
        "123-45-6789",
        "1987-06-05",
        "Evergreen",
        "Yolanda",
        "Xerxes",
        "yolanda",
        "2025550199",
        "321-54-9876",
        "321549876",
        "1979-03-14",
        "Quarry",
        "203.0.113.77",
    ] {
        assert!(!table.contains(needle), "a table item contains {needle:?}");
    }
}

/// Every captured line is JSON and holds none of the applicants' data, secrets, the hosted URL
/// or the IDV id.
fn assert_logs_are_clean(text: &str, stack: &LocalStack, url: &str, idv: &str) {
    assert!(
        text.contains("verification created") && text.contains("webhook applied"),
        "logs were captured:\n{text}"
    );
    for line in text.lines() {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|_| panic!("not a JSON log line: {line}"));
    }
    let config = stack.emulator.config();
    let forbidden = [
        "Zelda",
        "Ophelia",
        "Quimby",
        "1987-06-05",
        "zelda.quimby",
        "5550123456",
        "39001011234",
        "123-45-6789",
        "123456789",
        "198.51.100.7",
        "Evergreen",
        "49007",
        "emu-",
        &config.providers.ondato.client_secret,
        &config.providers.ondato.webhook_password,
        "Yolanda",
        "Xerxes",
        "yolanda",
        "2025550199",
        "321-54-9876",
        "321549876",
        "1979-03-14",
        "Quarry",
        "203.0.113.77",
        &config.providers.bond.authorization,
        &config.providers.bond.webhook_secret,
        "zelda-guess",
        url,
        idv,
    ];
    for needle in forbidden {
        if let Some(line) = text.lines().find(|l| l.contains(needle)) {
            panic!("a log line contains {needle:?}: {line}");
        }
    }
}

#[tokio::test]
async fn no_log_line_of_the_full_flow_holds_pii_kyc_data_tokens_secrets_or_the_hosted_url() {
    let logs = capture_logs();
    let stack = stack().await;
    let (url, idv, ondato_id) = ondato_flow(&stack).await;
    let bond_id = bond_flow(&stack).await;
    let kyc_id = stack.emulator.idv(&idv).and_then(|i| i.kyc_id).unwrap();
    let mut kyc_values =
        kyc_data_values(&stack, &ondato_id, emulator::document_number("LT", &kyc_id)).await;
    let bond_customer = verification_item(&stack, &bond_id).await["provider_ref"]
        .as_s()
        .unwrap()
        .clone();
    kyc_values.extend(
        kyc_data_values(
            &stack,
            &bond_id,
            emulator::document_number("D", &bond_customer),
        )
        .await,
    );
    assert_no_applicant_data_in_the_table(&stack).await;
    let table = format!("{:?}", items(&stack).await);
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert_logs_are_clean(&text, &stack, &url, &idv);
    assert!(
        text.contains("kyc data read from the provider"),
        "the reads were logged (ids only)"
    );
    assert_kyc_data_left_no_trace(&kyc_values, &table, &text);
}
