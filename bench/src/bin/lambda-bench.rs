//! `make bench`: each function's release `bootstrap` (and a hello-world `lambda_runtime` floor)
//! run as Lambda runs them, under a local implementation of the Lambda Runtime API, fed API
//! Gateway HTTP API v2 events, against DynamoDB Local and the provider emulator. Reports size,
//! init (process start to first `/next` poll), first-request and warm latency against a bare
//! DynamoDB GetItem/PutItem issued from Rust through the same path, peak RSS, and DynamoDB and
//! provider calls per request.
//!
//! Absolute times on a shared machine drift; ratios measured in one run do not. DynamoDB Local is
//! not DynamoDB: its latencies are for comparison only.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bench::{ms, percentile};
use local_stack::{LocalStack, StackOptions};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};

const COLD_STARTS: usize = 50;
const WARM: usize = 1000;
const WARM_UP: usize = 2000;

type Reply = oneshot::Sender<(Instant, Value)>;

#[derive(Default)]
struct Runtime {
    first_poll: Mutex<Option<Instant>>,
    queue: tokio::sync::Mutex<Option<mpsc::Receiver<(String, Value, Reply)>>>,
    waiting: Mutex<HashMap<String, Reply>>,
    errors: Mutex<Vec<String>>,
}

async fn next(State(rt): State<Arc<Runtime>>) -> Response {
    rt.first_poll
        .lock()
        .unwrap()
        .get_or_insert_with(Instant::now);
    let item = {
        let mut queue = rt.queue.lock().await;
        match queue.as_mut() {
            Some(rx) => rx.recv().await,
            None => None,
        }
    };
    let Some((id, event, reply)) = item else {
        return StatusCode::GONE.into_response();
    };
    rt.waiting.lock().unwrap().insert(id.clone(), reply);
    let deadline = (std::time::SystemTime::now() + Duration::from_secs(25))
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    (
        [
            ("lambda-runtime-aws-request-id", id),
            ("lambda-runtime-deadline-ms", deadline.to_string()),
            (
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:000000000000:function:bench".to_owned(),
            ),
            (
                "lambda-runtime-trace-id",
                "Root=1-00000000-000000000000000000000000".to_owned(),
            ),
        ],
        Json(event),
    )
        .into_response()
}

async fn respond(
    State(rt): State<Arc<Runtime>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    let at = Instant::now();
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Some(reply) = rt.waiting.lock().unwrap().remove(&id) {
        let _ = reply.send((at, value));
    }
    StatusCode::ACCEPTED
}

async fn error(State(rt): State<Arc<Runtime>>, body: Bytes) -> StatusCode {
    rt.errors
        .lock()
        .unwrap()
        .push(String::from_utf8_lossy(&body).into_owned());
    StatusCode::ACCEPTED
}

/// A pass-through to DynamoDB Local that counts calls by operation.
#[derive(Clone)]
struct Proxy {
    target: String,
    http: reqwest::Client,
    counts: Arc<Mutex<BTreeMap<String, usize>>>,
}

async fn forward(State(p): State<Proxy>, headers: HeaderMap, body: Bytes) -> Response {
    let op = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.rsplit('.').next())
        .unwrap_or("unknown")
        .to_owned();
    *p.counts.lock().unwrap().entry(op).or_default() += 1;
    let mut req = p.http.post(&p.target).body(body);
    for (k, v) in &headers {
        if k != "host" && k != "content-length" {
            req = req.header(k, v);
        }
    }
    match req.send().await {
        Ok(resp) => {
            let status =
                StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            let ct = resp.headers().get("content-type").cloned();
            let bytes = resp.bytes().await.unwrap_or_default();
            let mut out = (status, bytes).into_response();
            if let Some(ct) = ct {
                out.headers_mut().insert("content-type", ct);
            }
            out
        }
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}

/// A counting pass-through to `target`, served on a free port: the proxy and its URL.
async fn pass_through(target: &str) -> (Proxy, String) {
    let proxy = Proxy {
        target: target.to_owned(),
        http: http_client(),
        counts: Default::default(),
    };
    let url = format!(
        "http://{}",
        serve(Router::new().fallback(forward).with_state(proxy.clone())).await
    );
    (proxy, url)
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr.to_string()
}

struct Function {
    name: &'static str,
    binary: PathBuf,
    make_event: Box<dyn Fn(usize) -> Value>,
    floor: Floor,
    /// Environment on top of the stack's.
    env: Vec<(String, String)>,
}

/// The I/O floor a function is compared with: the one bare DynamoDB call closest to its work.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Floor {
    None,
    GetItem,
    PutItem,
}

/// Bare SDK calls from Rust, through a pass-through of their own (same code, same hop), issued
/// between the function's warm requests so that both see the same machine at the same moment.
struct FloorClient {
    client: aws_sdk_dynamodb::Client,
    table: String,
    verification_id: String,
}

impl FloorClient {
    async fn time(&self, floor: Floor, i: usize) -> Option<Duration> {
        let t = Instant::now();
        match floor {
            Floor::None => return None,
            Floor::GetItem => {
                self.client
                    .get_item()
                    .table_name(&self.table)
                    .key(
                        "pk",
                        AttributeValue::S(format!("VER#{}", self.verification_id)),
                    )
                    .key("sk", AttributeValue::S("VERIFICATION".into()))
                    .consistent_read(true)
                    .send()
                    .await
                    .expect("floor GetItem");
            }
            Floor::PutItem => {
                self.client
                    .put_item()
                    .table_name(&self.table)
                    .item("pk", AttributeValue::S(format!("FLOOR#{i}")))
                    .item("sk", AttributeValue::S("FLOOR".into()))
                    .item("n", AttributeValue::N(i.to_string()))
                    .send()
                    .await
                    .expect("floor PutItem");
            }
        }
        Some(t.elapsed())
    }
}

fn apigw(
    method: &str,
    route: &str,
    path: &str,
    params: Value,
    body: Option<String>,
    headers: Value,
) -> Value {
    json!({
        "version": "2.0",
        "routeKey": format!("{method} {route}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000", "apiId": "bench", "domainName": "bench.local", "domainPrefix": "bench",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"},
            "requestId": ulid::Ulid::new().to_string(), "routeKey": format!("{method} {route}"), "stage": "$default",
            "time": "24/Nov/2026:00:00:00 +0000", "timeEpoch": 0
        },
        "pathParameters": params,
        "body": body,
        "isBase64Encoded": false
    })
}

/// One function's cold starts: from a quiet CPU (init and first request), and back to back (init).
#[derive(Default)]
struct Cold {
    init: Vec<Duration>,
    first: Vec<Duration>,
    back_to_back: Vec<Duration>,
    failures: usize,
}

struct Sample {
    init: Vec<Duration>,
    first: Vec<Duration>,
    warm: Vec<Duration>,
    floor: Vec<Duration>,
    rss_kib: u64,
    dynamodb_per_request: f64,
    provider_per_request: f64,
    failures: usize,
}

fn http_client() -> reqwest::Client {
    shared::net::client_builder()
        .expect("tls")
        .build()
        .expect("client")
}

/// A fixture: `POST /v1/verifications` through the local stack's API, the answer's body.
async fn create(stack: &LocalStack, body: Value) -> Value {
    http_client()
        .post(format!("{}/v1/verifications", stack.api_url))
        .json(&body)
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("create's JSON")
}

fn fetch_event(id: &str) -> Value {
    apigw(
        "GET",
        "/v1/verifications/{id}",
        &format!("/v1/verifications/{id}"),
        json!({"id": id}),
        None,
        json!({}),
    )
}

fn ok(v: &Value) -> bool {
    v.get("statusCode")
        .and_then(Value::as_u64)
        .is_some_and(|s| s < 300)
}

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

struct Bench {
    runtime: Arc<Runtime>,
    runtime_addr: String,
    env: HashMap<String, String>,
}

impl Bench {
    async fn spawn(&self, f: &Function) -> (Child, Instant, mpsc::Sender<(String, Value, Reply)>) {
        let (tx, rx) = mpsc::channel(1);
        // A poll of the previous process may still hold the queue until its sender is gone.
        *self.runtime.queue.lock().await = Some(rx);
        *self.runtime.first_poll.lock().unwrap() = None;
        let started = Instant::now();
        let child = Command::new(&f.binary)
            .envs(&self.env)
            .envs(f.env.iter().map(|(k, v)| (k, v)))
            .env("AWS_LAMBDA_RUNTIME_API", &self.runtime_addr)
            .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env("AWS_LAMBDA_LOG_LEVEL", "INFO")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "local")
            .env("AWS_SECRET_ACCESS_KEY", "local")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", f.binary.display()));
        (child, started, tx)
    }

    async fn wait_first_poll(&self, started: Instant) -> Duration {
        for _ in 0..20_000 {
            if let Some(at) = *self.runtime.first_poll.lock().unwrap() {
                return at - started;
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        panic!("the function never polled /next");
    }

    async fn invoke(
        &self,
        tx: &mpsc::Sender<(String, Value, Reply)>,
        event: Value,
    ) -> (Duration, Value) {
        let (reply, done) = oneshot::channel();
        let sent = Instant::now();
        tx.send((ulid::Ulid::new().to_string(), event, reply))
            .await
            .expect("runtime queue");
        let (at, value) = tokio::time::timeout(Duration::from_secs(30), done)
            .await
            .expect("a response in 30 s")
            .expect("a response");
        (at - sent, value)
    }

    /// One cold start: process start to first `/next` poll, then the first request.
    async fn cold_start(
        &self,
        f: &Function,
        counter: usize,
        settle: bool,
    ) -> (Duration, Duration, bool) {
        // A Lambda sandbox starts on a quiet CPU: let the previous process's teardown finish and
        // the machine idle first. Without the pause the CPU is hot from the previous start.
        if settle {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let (mut child, started, tx) = self.spawn(f).await;
        let init = self.wait_first_poll(started).await;
        let (first, value) = self.invoke(&tx, (f.make_event)(counter)).await;
        let _ = child.kill();
        let _ = child.wait();
        drop(tx);
        (init, first, ok(&value))
    }

    /// One warm process: a first request to open connections, then `WARM` timed requests, each
    /// followed by one floor call.
    async fn warm(
        &self,
        f: &Function,
        proxy: &Proxy,
        floor_client: &FloorClient,
        stack: &LocalStack,
    ) -> Sample {
        let mut counter = 2 * COLD_STARTS;
        let mut failures = 0;
        let (mut child, started, tx) = self.spawn(f).await;
        self.wait_first_poll(started).await;
        // One request to open connections, as a warm function has; the floor's too.
        self.invoke(&tx, (f.make_event)(counter)).await;
        counter += 1;
        floor_client.time(f.floor, counter).await;
        proxy.counts.lock().unwrap().clear();
        let provider_before: usize = stack.emulator.counters().values().sum();
        let mut warm = Vec::with_capacity(WARM);
        let mut floor = Vec::with_capacity(WARM);
        for _ in 0..WARM {
            let (latency, value) = self.invoke(&tx, (f.make_event)(counter)).await;
            counter += 1;
            failures += usize::from(!ok(&value));
            warm.push(latency);
            floor.extend(floor_client.time(f.floor, counter).await);
        }
        let dynamodb: usize = proxy.counts.lock().unwrap().values().sum();
        let provider: usize = stack.emulator.counters().values().sum::<usize>() - provider_before;
        let rss_kib = peak_rss_kib(child.id());
        let _ = child.kill();
        let _ = child.wait();
        Sample {
            init: Vec::new(),
            first: Vec::new(),
            warm,
            floor,
            rss_kib,
            dynamodb_per_request: dynamodb as f64 / WARM as f64,
            provider_per_request: provider as f64 / WARM as f64,
            failures,
        }
    }
}

fn size(path: &Path) -> String {
    std::fs::metadata(path).map_or_else(
        |_| "-".to_owned(),
        |m| format!("{:.2} MiB", m.len() as f64 / 1_048_576.0),
    )
}

#[tokio::main]
async fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let release = root.join("target/release");
    let stack = LocalStack::start(StackOptions::default())
        .await
        .expect("local stack");

    // The functions reach DynamoDB through a counting pass-through.
    let (proxy, proxy_url) = pass_through(&stack.dynamodb_endpoint).await;
    let runtime = Arc::new(Runtime::default());
    let runtime_addr = serve(runtime_api(runtime.clone())).await;
    let mut env = stack.function_env.clone();
    env.insert("DYNAMODB_ENDPOINT".into(), proxy_url.clone());
    let bench = Bench {
        runtime: runtime.clone(),
        runtime_addr,
        env,
    };
    let fixtures = Fixtures::create(&stack).await;
    let moto = secrets_manager::Moto::start();
    let from_secrets_manager = match &moto {
        Some(m) => Some(m.function_env(&stack.function_env).await),
        None => None,
    };
    let functions = functions(&release, &fixtures, from_secrets_manager);
    let floor_client = floor_client(&stack, &fixtures).await;
    let colds = cold_starts(&bench, &functions).await;
    let mut report = Report::default();
    for (f, cold) in functions.iter().zip(colds) {
        eprintln!("measuring {} warm ...", f.name);
        let mut s = bench.warm(f, &proxy, &floor_client, &stack).await;
        s.init = cold.init;
        s.first = cold.first;
        s.failures += cold.failures;
        report.add(&root, f, &s, percentile(&cold.back_to_back, 50.0));
    }
    let errors = runtime.errors.lock().unwrap().len();
    report.print(errors);
}

/// A local Secrets Manager (moto's server, when installed) holding the functions' secrets, so
/// init is measured reading them by ARN as deployed.
mod secrets_manager {
    use std::collections::HashMap;

    use local_stack::moto::MotoServer;
    use serde_json::{json, Value};

    /// The secrets fetch-result reads (the providers' API credentials).
    const SECRETS: &[&str] = &[
        "ONDATO_CLIENT_SECRET",
        "BOND_AUTHORIZATION",
        "VERIFF_API_KEY",
        "VERIFF_SHARED_SECRETS",
    ];

    /// moto's server (`local_stack::moto`), stopped when dropped.
    pub struct Moto {
        server: MotoServer,
    }

    impl Moto {
        /// moto_server on a free port, or `None` (said on stderr) when it is not installed.
        pub fn start() -> Option<Self> {
            match MotoServer::start() {
                Ok(server) => Some(Self { server }),
                Err(e) => {
                    eprintln!("{e}: the Secrets Manager row is left out");
                    None
                }
            }
        }

        /// Each secret stored in moto with the stack's value; the function's environment that
        /// names them by ARN (`X_ARN`) at this endpoint, pre-warming on as deployed.
        pub async fn function_env(
            &self,
            stack_env: &HashMap<String, String>,
        ) -> Vec<(String, String)> {
            let http = super::http_client();
            let mut env = vec![
                ("PREWARM_CONNECTIONS".to_owned(), "true".to_owned()),
                (
                    "AWS_ENDPOINT_URL_SECRETS_MANAGER".to_owned(),
                    self.server.endpoint.clone(),
                ),
            ];
            for name in SECRETS {
                let value = stack_env.get(*name).cloned().unwrap_or_default();
                let created: Value = http
                    .post(&self.server.endpoint)
                    .header("x-amz-target", "secretsmanager.CreateSecret")
                    .header("content-type", "application/x-amz-json-1.1")
                    .header("authorization", "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=0")
                    .body(json!({"Name": format!("bench/{name}"), "SecretString": value}).to_string())
                    .send()
                    .await
                    .expect("CreateSecret at moto")
                    .json()
                    .await
                    .expect("CreateSecret's answer");
                let arn = created["ARN"].as_str().expect("an ARN").to_owned();
                env.push((format!("{name}_ARN"), arn));
            }
            env
        }
    }
}

/// A local Lambda Runtime API: `/next` hands out events, `/response` and `/error` take answers.
fn runtime_api(runtime: Arc<Runtime>) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(respond),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(error))
        .with_state(runtime)
}

/// A verification to fetch, and a Bond verification whose events the webhook receives.
struct Fixtures {
    created: Value,
    fetch_id: String,
    bond_customer: String,
    secret: String,
    base: chrono::DateTime<chrono::Utc>,
}

impl Fixtures {
    async fn create(stack: &LocalStack) -> Self {
        let created = create(stack, json!({"customer_id": "cus_bench_fetch"})).await;
        let fetch_id = created["id"].as_str().unwrap().to_owned();
        stack.emulator.set_auto_deliver(false);
        let bond = create(stack, json!({"customer_id": "cus_bench_bond", "provider": "bond", "applicant": {
                "first_name": "Ada", "last_name": "King", "date_of_birth": "1985-12-10", "email": "ada@example.org",
                "phone": "2025550111", "phone_country_code": "1", "ssn": "000-00-0000",
                "address": {"street": "2 Analytical Row", "city": "Boston", "state": "MA", "zip_code": "02108", "country": "US"}}}))
        .await;
        assert!(bond["id"].is_string(), "{bond}");
        let bond_customer = loop {
            if let Some(d) = stack.emulator.deliveries().first() {
                break d.resource_id.clone();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        Self {
            created,
            fetch_id,
            bond_customer,
            secret: stack.emulator.config().providers.bond.webhook_secret,
            base: chrono::Utc::now(),
        }
    }
}

/// The functions measured, hello-world first (the floor of init and of the Runtime API hop).
fn functions(
    release: &Path,
    fixtures: &Fixtures,
    secrets_manager: Option<Vec<(String, String)>>,
) -> Vec<Function> {
    let fetch_id = fixtures.fetch_id.clone();
    // As deployed, secrets included: read by ARN from a local Secrets Manager (moto).
    let from_secrets_manager = secrets_manager.map(|env| Function {
        name: "fetch-result, PREWARM_CONNECTIONS=true, secrets from Secrets Manager",
        floor: Floor::GetItem,
        env,
        binary: release.join("fetch-result"),
        make_event: Box::new({
            let id = fetch_id.clone();
            move |_| fetch_event(&id)
        }),
    });
    let mut list = vec![
        Function {
            name: "hello-world",
            floor: Floor::None,
            env: vec![],
            binary: release.join("hello-world"),
            make_event: Box::new(|_| json!({"hello": "world"})),
        },
        Function {
            name: "fetch-result",
            floor: Floor::GetItem,
            env: vec![],
            binary: release.join("fetch-result"),
            make_event: Box::new({
                let id = fetch_id.clone();
                move |_| fetch_event(&id)
            }),
        },
        Function {
            // As deployed: the template turns pre-warming on.
            name: "fetch-result, PREWARM_CONNECTIONS=true",
            floor: Floor::GetItem,
            env: vec![("PREWARM_CONNECTIONS".into(), "true".into())],
            binary: release.join("fetch-result"),
            make_event: Box::new({
                let id = fetch_id.clone();
                move |_| fetch_event(&id)
            }),
        },
        Function {
            name: "create-verification",
            floor: Floor::PutItem,
            env: vec![],
            binary: release.join("create-verification"),
            make_event: Box::new(|i| {
                let body = json!({"customer_id": format!("cus_bench_{i}_{}", ulid::Ulid::new())})
                    .to_string();
                apigw(
                    "POST",
                    "/v1/verifications",
                    "/v1/verifications",
                    Value::Null,
                    Some(body),
                    json!({"content-type": "application/json"}),
                )
            }),
        },
        webhook_function(release, fixtures),
    ];
    if let Some(f) = from_secrets_manager {
        list.insert(3, f);
    }
    list
}

/// webhook-ingest, fed signed Bond events of the fixture's customer.
fn webhook_function(release: &Path, fixtures: &Fixtures) -> Function {
    let bond_customer = fixtures.bond_customer.clone();
    let secret = fixtures.secret.clone();
    let base = fixtures.base;
    Function {
        name: "webhook-ingest",
        floor: Floor::PutItem,
        env: vec![],
        binary: release.join("webhook-ingest"),
        make_event: Box::new(move |i| {
            let at = (base + chrono::Duration::microseconds(i as i64 + 1))
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, false);
            let body = json!({"event": "kyc.verification.under_review", "customer_id": bond_customer, "occurred_at": at}).to_string();
            let t = chrono::Utc::now().timestamp().to_string();
            let sig =
                shared::provider::bond::signature::sign(secret.as_bytes(), &t, body.as_bytes());
            apigw(
                "POST",
                "/v1/webhooks/{provider}",
                "/v1/webhooks/bond",
                json!({"provider": "bond"}),
                Some(body),
                json!({"content-type": "application/json", "bond-signature": format!("t={t},v1={sig},v2={sig}")}),
            )
        }),
    }
}

/// Bare SDK calls through a pass-through of their own, DynamoDB Local's JIT warmed first.
async fn floor_client(stack: &LocalStack, fixtures: &Fixtures) -> FloorClient {
    // The I/O floor: bare GetItem and PutItem from Rust, through a pass-through of their own.
    let (_, floor_url) = pass_through(&stack.dynamodb_endpoint).await;
    let floor_client = FloorClient {
        client: local_stack::stack::local_dynamodb_client(&floor_url, None),
        table: stack.table_name.clone(),
        verification_id: fixtures.created["id"].as_str().unwrap().to_owned(),
    };
    // DynamoDB Local runs on the JVM: warm its code paths first, or whichever function is measured
    // first pays for the JIT (a GetItem takes 5-10 ms until then, against about 1 ms after).
    for i in 0..WARM_UP {
        floor_client.time(Floor::GetItem, i).await;
        floor_client.time(Floor::PutItem, i).await;
    }
    floor_client
}

/// Cold starts in rounds, one of each function per round, so that drift on a shared machine
/// touches every function alike: from a quiet CPU, then back to back.
async fn cold_starts(bench: &Bench, functions: &[Function]) -> Vec<Cold> {
    let mut colds: Vec<Cold> = functions.iter().map(|_| Cold::default()).collect();
    eprintln!(
        "{COLD_STARTS} rounds of cold starts from a quiet CPU, then {COLD_STARTS} back to back ..."
    );
    for settle in [true, false] {
        for round in 0..COLD_STARTS {
            for (f, cold) in functions.iter().zip(colds.iter_mut()) {
                let counter = round + if settle { 0 } else { COLD_STARTS };
                let (init, first, ok) = bench.cold_start(f, counter, settle).await;
                cold.failures += usize::from(!ok);
                if settle {
                    cold.init.push(init);
                    cold.first.push(first);
                } else {
                    cold.back_to_back.push(init);
                }
            }
        }
    }
    colds
}

/// The table rows, and hello-world's figures the others are compared with.
#[derive(Default)]
struct Report {
    rows: Vec<String>,
    floors: Vec<String>,
    hello_init: Duration,
    hello_hot: Duration,
    /// hello-world's warm round trip: the Runtime API hop (`/next` answer, `/response` post)
    /// that every function pays on top of its own work.
    hop: Duration,
}

fn ratio(a: Duration, b: Duration) -> f64 {
    if b.is_zero() {
        1.0
    } else {
        a.as_secs_f64() / b.as_secs_f64()
    }
}

impl Report {
    fn add(&mut self, root: &Path, f: &Function, s: &Sample, hot: Duration) {
        let init = percentile(&s.init, 50.0);
        let warm50 = percentile(&s.warm, 50.0);
        if f.name == "hello-world" {
            self.hello_init = init;
            self.hello_hot = hot;
            self.hop = warm50;
        }
        let floor = percentile(&s.floor, 50.0);
        let vs_floor = match f.floor {
            Floor::None => "-".to_owned(),
            kind => {
                self.floors.push(format!(
                    "{}: {} p50 {:.2} ms, p99 {:.2} ms",
                    f.name,
                    if kind == Floor::GetItem {
                        "GetItem"
                    } else {
                        "PutItem"
                    },
                    ms(floor),
                    ms(percentile(&s.floor, 99.0))
                ));
                format!(
                    "{:.2}× ({:.2}×)",
                    ratio(warm50, floor),
                    ratio(warm50, floor + self.hop)
                )
            }
        };
        let arm64 = root
            .join("target/lambda")
            .join(f.binary.file_name().unwrap_or_default())
            .join("bootstrap");
        self.rows.push(format!(
            "| {} | {} | {} | {:.1} ms ({:.2}×) | {:.1} ms ({:.2}×) | {:.1} ms | {:.2} / {:.2} ms | {} | {:.1} MiB | {:.2} | {:.2} | {} |",
            f.name,
            size(&f.binary),
            size(&arm64),
            ms(init),
            ratio(init, self.hello_init),
            ms(hot),
            ratio(hot, self.hello_hot),
            ms(percentile(&s.first, 50.0)),
            ms(warm50),
            ms(percentile(&s.warm, 99.0)),
            vs_floor,
            s.rss_kib as f64 / 1024.0,
            s.dynamodb_per_request,
            s.provider_per_request,
            s.failures,
        ));
    }

    fn print(&self, errors: usize) {
        println!("Lambda functions under a local Runtime API ({COLD_STARTS} cold starts, {WARM} warm requests each), {}", chrono::Utc::now().format("%Y-%m-%d"));
        println!();
        println!("| function | x86_64 size | arm64 size | init p50 (vs hello) | init p50 back to back (vs hello) | first request p50 | warm p50 / p99 | warm p50 vs floor (vs floor + Runtime API hop) | peak RSS | DynamoDB calls/req | provider calls/req | failed |");
        println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
        for r in &self.rows {
            println!("{r}");
        }
        println!();
        println!(
            "I/O floor (bare SDK calls from Rust through the same kind of pass-through, one between each pair of warm requests): {}. Runtime API hop (hello-world warm p50): {:.2} ms. Runtime API errors reported: {errors}.",
            self.floors.join("; "),
            ms(self.hop)
        );
    }
}
