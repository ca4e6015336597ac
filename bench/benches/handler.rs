//! The handlers' own work without I/O, per route: parsing, validation, signature verification,
//! transition rules, item mapping and serialisation. `cargo bench -p bench --bench handler`.

use std::time::{Duration, Instant};

use bench::{ms, percentile};
use chrono::Utc;
use serde_json::{json, Value};
use shared::domain::idempotency::fingerprint;
use shared::domain::request::CreateRequest;
use shared::domain::{
    CustomerId, Metadata, NewVerification, Observation, Source, Status, Verification,
    VerificationId,
};
use shared::provider::bond::{self, signature, BondAdapter, BondConfig};
use shared::provider::{Interpreted, KycProvider, RawWebhook};
use shared::service::verification_json;
use shared::store::dynamodb::{verification_from_item, verification_to_item};

const ITERATIONS: usize = 20_000;

fn run(name: &str, mut work: impl FnMut()) {
    for _ in 0..1_000 {
        work();
    }
    let mut samples: Vec<Duration> = Vec::with_capacity(ITERATIONS);
    for _ in 0..ITERATIONS {
        let t = Instant::now();
        work();
        samples.push(t.elapsed());
    }
    let p99 = percentile(&samples, 99.0);
    println!(
        "| {name} | {:.3} ms | {:.3} ms | {} |",
        ms(percentile(&samples, 50.0)),
        ms(p99),
        if p99 <= Duration::from_millis(1) {
            "yes"
        } else {
            "NO"
        }
    );
}

fn verification() -> Verification {
    let now = Utc::now();
    let mut v = Verification::start(
        NewVerification {
            id: VerificationId::generate(),
            customer_id: CustomerId::parse("cus_bench").unwrap(),
            provider: bond::NAME,
            provider_ref: Some("931e2341-c3eb-4681-97d4-f6e09d90da14".into()),
            verification_url: None,
            metadata: Metadata::from([("plan".to_owned(), "gold".to_owned())]),
            initial: Observation {
                status: Status::Pending,
                raw_status: "KYC submitted".into(),
                reason: None,
                required_actions: vec![],
                occurred_at: now,
                decision_ref: None,
            },
        },
        now,
    );
    for (i, s) in [Status::InReview, Status::ActionRequired, Status::InReview]
        .into_iter()
        .enumerate()
    {
        let o = Observation {
            status: s,
            raw_status: s.to_string(),
            reason: None,
            required_actions: vec![],
            occurred_at: now + chrono::Duration::seconds(i as i64 + 1),
            decision_ref: None,
        };
        v.apply(&o, Source::Webhook, Some("e"), now);
    }
    v
}

fn main() {
    println!("| route: work without I/O | p50 | p99 | p99 <= 1 ms |");
    println!("|---|---|---|---|");
    create();
    fetch();
    webhook();
}

/// `POST /v1/verifications`: everything but the two writes and the provider call.
fn create() {
    let body = json!({
        "customer_id": "cus_42", "provider": "bond",
        "applicant": {"first_name": "Grace", "last_name": "Hopper", "date_of_birth": "1986-12-09", "email": "grace@example.com",
            "phone": "2025550147", "phone_country_code": "1", "ssn": "123-45-6789", "ip": "203.0.113.9",
            "address": {"street": "1 Navy Way", "city": "Arlington", "state": "VA", "zip_code": "22202", "country": "US"}},
        "metadata": {"plan": "gold"}
    })
    .to_string();
    let required = BondAdapter::new(
        config(),
        shared::net::client_builder().unwrap().build().unwrap(),
    )
    .required_fields();
    run(
        "POST /v1/verifications: JSON, validation, fingerprint, new verification, response JSON",
        || {
            let value: Value = serde_json::from_str(&body).unwrap();
            let today = Utc::now().date_naive();
            let r = CreateRequest::parse(&value, &bond::NAME, &[bond::NAME], |_| required, today)
                .unwrap();
            let _ = fingerprint(
                b"0123456789abcdef0123456789abcdef",
                "POST /v1/verifications",
                &value,
            );
            let now = Utc::now();
            let v = Verification::start(
                NewVerification {
                    id: VerificationId::generate(),
                    customer_id: r.customer_id,
                    provider: r.provider,
                    provider_ref: Some("x".into()),
                    verification_url: None,
                    metadata: r.metadata,
                    initial: Observation {
                        status: Status::Pending,
                        raw_status: "customer created".into(),
                        reason: None,
                        required_actions: vec![],
                        occurred_at: now,
                        decision_ref: None,
                    },
                },
                now,
            );
            let _ = verification_to_item(&v).unwrap();
            let _ = verification_json(&v).to_string();
        },
    );
}

/// `GET /v1/verifications/{id}`: everything but the read.
fn fetch() {
    let item = verification_to_item(&verification()).unwrap();
    run(
        "GET /v1/verifications/{id}: item to verification, response JSON",
        || {
            let v = verification_from_item(item.clone()).unwrap();
            let _ = verification_json(&v).to_string();
        },
    );
}

/// `POST /v1/webhooks/bond`: everything but the read and the write.
fn webhook() {
    let adapter = BondAdapter::new(
        config(),
        shared::net::client_builder().unwrap().build().unwrap(),
    );
    let stored = verification();
    let raw = json!({"event": "kyc.verification.success", "customer_id": "931e2341-c3eb-4681-97d4-f6e09d90da14", "occurred_at": "2031-10-20T10:27:20.154286+00:00"}).to_string();
    run(
        "POST /v1/webhooks/bond: signature, parse, transition, items",
        || {
            let now = Utc::now();
            let t = now.timestamp().to_string();
            let sig = signature::sign(b"whsec_bench_0123456789", &t, raw.as_bytes());
            let mut headers = http::HeaderMap::new();
            headers.insert("bond-signature", format!("t={t},v2={sig}").parse().unwrap());
            let hook = RawWebhook {
                headers: &headers,
                body: raw.as_bytes(),
                source_ip: None,
            };
            adapter.authenticate(&hook, now).unwrap();
            let Interpreted::Event(event) =
                futures::executor::block_on(adapter.interpret(&hook)).unwrap()
            else {
                panic!("event")
            };
            let mut v = stored.clone();
            let tr = v.apply(
                &event.observation,
                Source::Webhook,
                Some(&event.event_id),
                now,
            );
            let _ = v.customer_effect(tr);
            let _ = verification_to_item(&v).unwrap();
        },
    );
}

fn config() -> BondConfig {
    let vars = std::collections::HashMap::from([
        ("BOND_BASE_URL", "https://sandbox.bond.tech/api/v0.1"),
        ("BOND_IDENTITY", "id"),
        ("BOND_AUTHORIZATION", "auth"),
        ("BOND_PROGRAM_ID", "prog"),
        ("BOND_WEBHOOK_SECRETS", "whsec_bench_0123456789"),
    ]);
    let lookup = |k: &str| vars.get(k).map(|v| (*v).to_owned());
    BondConfig::from_env(&shared::config::env::Env::new(&lookup)).expect("a complete Bond config")
}
