//! Harness of the outbound-event tests: one moto server for the test binary (each stack makes
//! queues and a bus of its own on it), stacks whose events run, and a business's receiver on the
//! official `standardwebhooks` npm package (`tests/receiver/receiver.mjs`).

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use local_stack::moto::MotoServer;
use local_stack::{EventsOptions, LocalStack, StackOptions};
use serde_json::{json, Value};
use tokio::io::AsyncBufReadExt;

static MOTO: OnceLock<MotoServer> = OnceLock::new();

/// The binary's moto server, started on first use (stopped when the process ends).
pub async fn moto_endpoint() -> String {
    tokio::task::spawn_blocking(|| {
        MOTO.get_or_init(|| {
            MotoServer::start().unwrap_or_else(|e| panic!("cannot start moto_server: {e}"))
        })
        .endpoint
        .clone()
    })
    .await
    .expect("moto thread")
}

/// A stack whose status changes go out as events (stream → notify → queue → deliver → `events`'
/// webhook URL or the stack's sample receiver), on the binary's moto server.
pub async fn stack_with_events(events: EventsOptions) -> LocalStack {
    let moto = moto_endpoint().await;
    crate::stack_with_options(StackOptions {
        events: Some(EventsOptions {
            moto_endpoint: Some(moto),
            ..events
        }),
        ..StackOptions::default()
    })
    .await
}

/// A `whsec_` key of 32 bytes made of `byte`.
pub fn key(byte: u8) -> String {
    use base64::Engine;
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode([byte; 32])
    )
}

/// The Node receiver: each delivery verified with every named key by the official library.
pub struct NodeReceiver {
    child: tokio::process::Child,
    pub url: String,
}

impl NodeReceiver {
    /// Start it with these keys; it answers 2xx when the key named `accept` verifies.
    pub async fn start(keys: &[(&str, &str)], accept: &str) -> Self {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let keys: HashMap<&str, &str> = keys.iter().copied().collect();
        let mut child = tokio::process::Command::new("node")
            .arg(format!("{root}/tests/receiver/receiver.mjs"))
            .env("RECEIVER_KEYS", json!(keys).to_string())
            .env("RECEIVER_ACCEPT", accept)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs tests/receiver/receiver.mjs");
        let stdout = child.stdout.take().expect("the receiver's stdout");
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("the receiver starts within 20 s")
            .expect("the receiver's stdout")
            .expect("the receiver prints its port");
        let port = line
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("unexpected first line of the receiver: {line}"));
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    pub fn webhook_url(&self) -> String {
        format!("{}/webhook", self.url)
    }

    /// Every delivery so far.
    pub async fn received(&self) -> Vec<Value> {
        crate::client()
            .get(format!("{}/received", self.url))
            .send()
            .await
            .expect("the receiver answers")
            .json()
            .await
            .expect("the receiver's JSON")
    }

    /// Answer `status` to every delivery for `for_how_long`.
    pub async fn fail_for(&self, for_how_long: Duration, status: u16) {
        let until = chrono::Utc::now() + chrono::Duration::from_std(for_how_long).expect("a span");
        crate::client()
            .post(format!("{}/control", self.url))
            .body(json!({"fail_until_ms": until.timestamp_millis(), "status": status}).to_string())
            .send()
            .await
            .expect("the receiver answers");
    }

    /// Wait (at most `within`) until `done` holds for what was received; what was received.
    pub async fn wait_until(
        &self,
        within: Duration,
        done: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let received = self.received().await;
            if done(&received) {
                return received;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the receiver did not get what was expected within {within:?}: {} deliveries",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for NodeReceiver {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// The deliveries the receiver accepted, one per `webhook-id` (a consumer's dedupe), by
/// verification, ordered by `sequence`.
pub fn accepted_by_verification(received: &[Value]) -> HashMap<String, Vec<Value>> {
    let mut seen = std::collections::HashSet::new();
    let mut by: HashMap<String, Vec<Value>> = HashMap::new();
    for r in received {
        let ok = r["answered"]
            .as_u64()
            .is_some_and(|s| (200..300).contains(&s));
        if !ok || !seen.insert(r["webhook_id"].as_str().unwrap_or_default().to_owned()) {
            continue;
        }
        let event = r["event"].clone();
        let id = event["data"]["verification_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        by.entry(id).or_default().push(event);
    }
    for events in by.values_mut() {
        events.sort_by_key(|e| e["data"]["sequence"].as_u64());
    }
    by
}
