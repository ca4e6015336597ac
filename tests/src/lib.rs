//! Test harness: one DynamoDB Local for the whole run (`make test` starts it and names it in
//! `DYNAMODB_ENDPOINT`; a bare `cargo test` starts one for this process on first use) and one
//! emulator server for the test binary; per test a fresh table from `template.yaml`, a tenant of
//! the emulator server (its own state under `/t/{id}`) and the API on a free port.

use std::collections::HashMap;
use std::sync::OnceLock;

use aws_sdk_dynamodb::types::AttributeValue;
use emulator::EmulatorServer;
use local_stack::dynamodb_local::DynamoDbLocal;
use local_stack::{Database, LocalStack, StackOptions};
use serde_json::{json, Value};

pub mod cable;
pub mod outbound;
pub mod spec;

static EMULATOR: OnceLock<EmulatorServer> = OnceLock::new();

static DYNAMODB: OnceLock<String> = OnceLock::new();
/// This process's own DynamoDB Local, when the run did not provide one.
static OWN_DYNAMODB: OnceLock<DynamoDbLocal> = OnceLock::new();

/// The run's DynamoDB Local: the one `make test` started, else one for this process.
pub fn dynamodb_endpoint() -> String {
    DYNAMODB
        .get_or_init(|| match std::env::var("DYNAMODB_ENDPOINT") {
            Ok(endpoint) => endpoint,
            Err(_) => OWN_DYNAMODB
                .get_or_init(|| {
                    DynamoDbLocal::start(0)
                        .unwrap_or_else(|e| panic!("cannot start DynamoDB Local: {e}"))
                })
                .endpoint
                .clone(),
        })
        .clone()
}

/// The binary's shared emulator server. Each test has its own runtime, so the server runs on a
/// thread and runtime of its own that outlive every test's.
pub fn emulator_server() -> EmulatorServer {
    EMULATOR
        .get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::Builder::new()
                .name("emulator-server".into())
                .spawn(move || {
                    let runtime = tokio::runtime::Builder::new_multi_thread()
                        .worker_threads(2)
                        .enable_all()
                        .build()
                        .expect("the emulator server's runtime");
                    runtime.block_on(async {
                        let started = EmulatorServer::start(([127, 0, 0, 1], 0).into()).await;
                        // The receiver only goes away when the test binary panicked already.
                        let _ = tx.send(started);
                        std::future::pending::<()>().await;
                    });
                })
                .expect("the emulator server's thread");
            rx.recv()
                .expect("the emulator server's thread answers")
                .unwrap_or_else(|e| panic!("cannot start the emulator server: {e}"))
        })
        .clone()
}

/// A whole stack with its own table.
pub async fn stack() -> LocalStack {
    stack_with(HashMap::new()).await
}

pub async fn stack_with(env: HashMap<String, String>) -> LocalStack {
    stack_with_options(StackOptions {
        env,
        ..StackOptions::default()
    })
    .await
}

/// A whole stack with its own table, on the shared DynamoDB Local, with a tenant of the shared
/// emulator server, from these options.
pub async fn stack_with_options(options: StackOptions) -> LocalStack {
    let endpoint = tokio::task::spawn_blocking(dynamodb_endpoint)
        .await
        .expect("DynamoDB Local thread");
    stack_on(endpoint, options).await
}

/// A whole stack with its own table on the DynamoDB at `endpoint`, with a tenant of the shared
/// emulator server.
pub async fn stack_on(endpoint: String, options: StackOptions) -> LocalStack {
    let emulator = tokio::task::spawn_blocking(emulator_server)
        .await
        .expect("emulator server thread");
    let stack = LocalStack::start(StackOptions {
        database: Database::Endpoint(endpoint),
        table_name: format!("t-{}", ulid::Ulid::new()),
        emulator_server: Some(emulator),
        ..options
    })
    .await
    .unwrap_or_else(|e| panic!("cannot start the local stack: {e}"));
    spec::register_api(&stack.api_url);
    stack
}

/// An HTTP answer, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub raw: String,
}

impl Answer {
    /// Status and error code together, for one-line assertions on refusals.
    pub fn refusal(&self) -> (u16, &str) {
        (
            self.status,
            self.body["error"]["code"].as_str().unwrap_or(""),
        )
    }
}

/// Read an answer whole; an answer of our API is checked against `openapi.yaml` for its route
/// and status (with every method the spec declares on the route: see [`answer_to`]).
pub async fn answer(resp: reqwest::Response) -> Answer {
    read(None, resp).await
}

/// [`answer`] for a request whose method is known: checked against that method's responses.
pub async fn answer_to(method: reqwest::Method, resp: reqwest::Response) -> Answer {
    read(Some(method), resp).await
}

async fn read(method: Option<reqwest::Method>, resp: reqwest::Response) -> Answer {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let url = resp.url().clone();
    let raw = resp.text().await.expect("body");
    let body = serde_json::from_str(&raw).unwrap_or(Value::Null);
    spec::check(method.as_ref(), &url, status, &headers, &body, &raw);
    Answer {
        status,
        headers,
        body,
        raw,
    }
}

pub fn client() -> reqwest::Client {
    shared::net::client_builder()
        .expect("tls")
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// POST a JSON body with an `Idempotency-Key`.
pub async fn post_keyed(url: &str, key: &str, body: &Value) -> Answer {
    answer_to(
        reqwest::Method::POST,
        client()
            .post(url)
            .header("idempotency-key", key)
            .json(body)
            .send()
            .await
            .expect("POST"),
    )
    .await
}

/// PATCH a verification, with an `Idempotency-Key` when given.
pub async fn patch(stack: &LocalStack, id: &str, key: Option<&str>, body: &Value) -> Answer {
    let mut req = client()
        .patch(format!("{}/v1/verifications/{id}", stack.api_url))
        .json(body);
    if let Some(k) = key {
        req = req.header("idempotency-key", k);
    }
    answer_to(reqwest::Method::PATCH, req.send().await.expect("PATCH")).await
}

/// A verification's item as the table holds it (a strongly consistent read).
pub async fn verification_item(stack: &LocalStack, id: &str) -> HashMap<String, AttributeValue> {
    stack
        .dynamodb
        .get_item()
        .table_name(&stack.table_name)
        .key("pk", AttributeValue::S(format!("VER#{id}")))
        .key("sk", AttributeValue::S("VERIFICATION".into()))
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem")
        .item
        .expect("the verification's item")
}

/// How many verification items the table holds.
pub async fn verification_count(stack: &LocalStack) -> usize {
    items(stack)
        .await
        .iter()
        .filter(|i| {
            i.get("sk").and_then(|v| v.as_s().ok()).map(String::as_str) == Some("VERIFICATION")
        })
        .count()
}

pub async fn post_json(url: &str, body: &Value) -> Answer {
    answer_to(
        reqwest::Method::POST,
        client().post(url).json(body).send().await.expect("POST"),
    )
    .await
}

pub async fn get(url: &str) -> Answer {
    answer_to(
        reqwest::Method::GET,
        client().get(url).send().await.expect("GET"),
    )
    .await
}

/// Create a verification for `customer` through the API; panics unless 201.
pub async fn create(stack: &LocalStack, customer: &str) -> Value {
    let a = post_json(
        &format!("{}/v1/verifications", stack.api_url),
        &serde_json::json!({ "customer_id": customer }),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.raw);
    a.body
}

/// The IDV id inside a hosted-page URL.
pub fn idv_of(verification: &Value) -> String {
    let url = verification["verification_url"]
        .as_str()
        .expect("verification_url");
    url.rsplit_once("id=").expect("id= in url").1.to_owned()
}

/// Open the hosted page like a browser and submit the form with `action` (and a reason) to the
/// form's action, resolved against the page's URL as a browser does.
pub async fn click(verification_url: &str, action: &str, reason: Option<&str>) -> Answer {
    let page = client()
        .get(verification_url)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    let marker = "action=\"";
    let start = page.find(marker).expect("a form on the hosted page") + marker.len();
    let path = &page[start..start + page[start..].find('"').expect("closing quote")];
    let target = reqwest::Url::parse(verification_url)
        .and_then(|page| page.join(path))
        .expect("a form action relative to the page");
    let mut form = vec![("action", action.to_owned())];
    if let Some(r) = reason {
        form.push(("reason", r.to_owned()));
    }
    answer(
        client()
            .post(target)
            .form(&form)
            .send()
            .await
            .expect("submit"),
    )
    .await
}

pub async fn fetch(stack: &LocalStack, id: &str) -> Value {
    let a = get(&format!("{}/v1/verifications/{id}", stack.api_url)).await;
    assert_eq!(a.status, 200, "{}", a.raw);
    a.body
}

pub fn statuses(verification: &Value) -> Vec<String> {
    verification["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| h["status"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Every item in the stack's table.
pub async fn items(stack: &LocalStack) -> Vec<HashMap<String, AttributeValue>> {
    let mut all = Vec::new();
    let mut start = None;
    loop {
        let out = stack
            .dynamodb
            .scan()
            .table_name(&stack.table_name)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        all.extend(out.items.unwrap_or_default());
        match out.last_evaluated_key {
            Some(k) if !k.is_empty() => start = Some(k),
            _ => return all,
        }
    }
}

/// An attribute value as text, map keys sorted at every depth.
fn canonical(v: &AttributeValue) -> String {
    match v {
        AttributeValue::M(m) => {
            let mut entries: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k}={}", canonical(v)))
                .collect();
            entries.sort();
            format!("{{{}}}", entries.join(","))
        }
        AttributeValue::L(l) => format!(
            "[{}]",
            l.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => format!("{other:?}"),
    }
}

/// The table's content in a canonical form (attribute and item order fixed), for before/after
/// comparisons.
pub async fn snapshot(stack: &LocalStack) -> Vec<Vec<(String, String)>> {
    let mut all: Vec<Vec<(String, String)>> = items(stack)
        .await
        .into_iter()
        .map(|item| {
            let mut attrs: Vec<(String, String)> =
                item.into_iter().map(|(k, v)| (k, canonical(&v))).collect();
            attrs.sort();
            attrs
        })
        .collect();
    all.sort();
    all
}

/// Basic auth header value for the emulator's (and the stack's) webhook credentials.
pub fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// A complete Bond applicant (Bond's sandbox reads the outcome from the SSN).
pub fn bond_applicant(ssn: &str) -> Value {
    json!({
        "first_name": "Ada", "last_name": "King", "date_of_birth": "1985-12-10", "email": "ada@example.org",
        "phone": "2025550111", "phone_country_code": "1", "ssn": ssn,
        "address": {"street": "2 Analytical Row", "city": "Boston", "state": "MA", "zip_code": "02108", "country": "US"}
    })
}

/// Wait until the emulator has produced `n` webhook deliveries (about 4 s at most).
pub async fn wait_for_deliveries(stack: &LocalStack, n: usize) {
    for _ in 0..200 {
        if stack.emulator.deliveries().len() >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!(
        "the emulator produced {} of {n} events",
        stack.emulator.deliveries().len()
    );
}

/// The provider resource id of each delivery so far, in order (Bond: the customer id).
pub fn delivered_resource_ids(stack: &LocalStack) -> Vec<String> {
    stack
        .emulator
        .deliveries()
        .iter()
        .map(|d| d.resource_id.clone())
        .collect()
}

/// The scheduled reconciler's event, as EventBridge sends it (the function's own fixture).
pub const SCHEDULE_EVENT: &str = include_str!("../../functions/reconciler/fixtures/schedule.json");

/// One reconciler run as Lambda invokes it: the schedule's event, a fresh context; its report.
pub async fn reconcile(stack: &LocalStack) -> Value {
    let payload: Value = serde_json::from_str(SCHEDULE_EVENT).expect("the schedule fixture");
    let mut context = lambda_runtime::Context::default();
    context.request_id = format!("reconcile-{}", ulid::Ulid::new());
    reconciler::handle(
        &stack.wiring.reconciler(),
        lambda_runtime::LambdaEvent::new(payload, context),
    )
    .await
    .expect("a reconciler run")
}

/// A small deterministic generator for shuffles, so a failing order can be replayed.
pub struct XorShift(pub u64);

impl XorShift {
    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Deliver the emulator's webhook `seq` until we acknowledge it with 200, as a provider retries
/// 409 and 5xx answers (about 0.4 s at most).
pub async fn deliver_until_acked(stack: &LocalStack, seq: usize) {
    for _ in 0..20 {
        match stack.emulator.deliver(seq).await {
            Some(200) => return,
            _ => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
        }
    }
    panic!("delivery {seq} was never acknowledged");
}

/// Wait (about 4.5 s at most) until the verification reaches `status`; its view then.
pub async fn status_becomes(stack: &LocalStack, id: &str, status: &str) -> Value {
    for _ in 0..150 {
        let v = fetch(stack, id).await;
        if v["status"] == status {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    }
    panic!("{id} never reached {status}");
}

/// Upload a small PNG as a person does on a Bond upload-link page; the page's status.
pub async fn upload_id_document(link: &str) -> u16 {
    let file = reqwest::multipart::Part::bytes(vec![0x89, b'P', b'N', b'G', 1, 2, 3])
        .file_name("id.png")
        .mime_str("image/png")
        .expect("a MIME type");
    client()
        .post(link)
        .multipart(reqwest::multipart::Form::new().part("file", file))
        .send()
        .await
        .expect("upload")
        .status()
        .as_u16()
}
