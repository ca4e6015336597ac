//! `make dev` as a user runs it: the `kyc-local` binary starts everything, prints one ready line,
//! serves the README walkthrough, and Ctrl-C stops it all (DynamoDB Local included).

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn field<'a>(line: &'a str, name: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("{name}= missing in {line:?}"))
}

/// Start the `kyc-local` binary as `make dev` does, on free ports; its child and ready line.
fn start_kyc_local() -> (Child, String) {
    if local_stack::dynamodb_local::find_jar_dir().is_err() {
        panic!("DynamoDB Local is not installed: run `make test`, which installs it");
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_kyc-local"))
        .env("TABLE_NAME", format!("kyc-dev-{}", std::process::id()))
        .env("API_PORT", "0")
        .env("EMULATOR_PORT", "0")
        .env("DYNAMODB_PORT", "0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kyc-local starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines.next().expect("a line").expect("utf-8");
    assert!(ready.starts_with("ready api=http://127.0.0.1:"), "{ready}");
    (child, ready)
}

/// The README walkthrough: create → open the hosted page → approve → fetch.
async fn walkthrough(api: &str, emulator: &str) {
    let http = shared::net::client_builder()
        .unwrap()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let created: Value = http
        .post(format!("{api}/v1/verifications"))
        .json(&json!({"customer_id": "cus_42", "applicant": {"first_name": "Ada", "last_name": "Lovelace"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = created["verification_url"]
        .as_str()
        .expect("verification_url");
    let page = http.get(url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Verify your identity"));
    let idv = url.rsplit_once("id=").unwrap().1;
    let clicked = http
        .post(format!("{emulator}/hosted/{idv}"))
        .form(&[("action", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(clicked.status(), 303);
    let id = created["id"].as_str().unwrap();
    let fetched: Value = http
        .get(format!("{api}/v1/verifications/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fetched["status"], "approved");
}

fn port(url: &str) -> u16 {
    url.rsplit(':').next().unwrap().parse().unwrap()
}

/// Wait (at most 10 s) until nothing listens on `port`.
fn wait_closed(port: u16, what: &str) {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_ok() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{what} still listening"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test]
async fn kyc_local_serves_the_walkthrough_and_stops_everything_on_ctrl_c() {
    // Under `make test` the run's one DynamoDB Local is in DYNAMODB_ENDPOINT (inherited), and
    // kyc-local uses it; alone, kyc-local starts its own.
    let shared = std::env::var("DYNAMODB_ENDPOINT").ok();
    let (mut child, ready) = start_kyc_local();
    let (api, emulator, dynamodb) = (
        field(&ready, "api"),
        field(&ready, "emulator"),
        field(&ready, "dynamodb"),
    );
    assert!(emulator.starts_with("http://127.0.0.1:"));
    walkthrough(api, emulator).await;

    // Ctrl-C stops the stack, and the DynamoDB Local it started (not a shared one).
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "kyc-local did not stop"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    wait_closed(port(api), "the API");
    match shared {
        Some(shared) => assert_eq!(
            dynamodb, shared,
            "kyc-local must use the run's DynamoDB Local"
        ),
        None => wait_closed(port(dynamodb), "DynamoDB Local"),
    }
}
