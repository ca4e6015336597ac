//! The real function binary under the Lambda Runtime API with the most verbose log settings
//! (`AWS_LAMBDA_LOG_LEVEL=TRACE`, `RUST_LOG=trace`): no body, header or secret reaches its output.
//! At trace level the Lambda runtime would print every raw event; our logging must not let it.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;
use tokio::io::AsyncReadExt;

/// Values that must never appear in a log line.
const SECRET: &str = "whsec-never-in-a-log-0123456789";
const BASIC: &str = "QmFzaWMtbmV2ZXItaW4tYS1sb2c=";
const SSN: &str = "987-65-4321";
const NAME: &str = "Ottoline-Never-Logged";

#[derive(Clone, Default)]
struct RuntimeApi {
    served: Arc<Mutex<bool>>,
    responses: Arc<Mutex<Vec<String>>>,
}

/// The one invocation: a webhook API Gateway would forward, carrying PII and credentials.
fn event() -> String {
    let body =
        json!({"event": "kyc.verification.success", "customer_id": NAME, "ssn": SSN}).to_string();
    json!({
        "version": "2.0",
        "routeKey": "POST /v1/webhooks/{provider}",
        "rawPath": "/v1/webhooks/bond",
        "rawQueryString": "",
        "headers": {
            "content-type": "application/json",
            "authorization": format!("Basic {BASIC}"),
            "bond-signature": format!("t=1700000000,v1={}", "ab".repeat(32)),
        },
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "api.example", "domainPrefix": "api",
            "http": {"method": "POST", "path": "/v1/webhooks/bond", "protocol": "HTTP/1.1",
                     "sourceIp": "192.0.2.1", "userAgent": "bond"},
            "requestId": "req-1", "routeKey": "POST /v1/webhooks/{provider}", "stage": "$default",
            "time": "30/Nov/2026:10:00:00 +0000", "timeEpoch": 1796032800000u64
        },
        "pathParameters": {"provider": "bond"},
        "body": body,
        "isBase64Encoded": false
    })
    .to_string()
}

async fn next(State(api): State<RuntimeApi>) -> (HeaderMap, String) {
    let first = !std::mem::replace(&mut *api.served.lock().unwrap(), true);
    if !first {
        // One invocation only: later polls wait until the process is stopped.
        std::future::pending::<()>().await;
    }
    let mut headers = HeaderMap::new();
    let deadline = deadline_ms();
    for (k, v) in [
        ("lambda-runtime-aws-request-id", "inv-1".to_owned()),
        ("lambda-runtime-deadline-ms", deadline.to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:us-east-1:123456789012:function:webhook-ingest".to_owned(),
        ),
        (
            "lambda-runtime-trace-id",
            "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1".to_owned(),
        ),
    ] {
        headers.insert(k, v.parse().unwrap());
    }
    (headers, event())
}

fn deadline_ms() -> u128 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    (now + Duration::from_secs(20)).as_millis()
}

async fn respond(
    State(api): State<RuntimeApi>,
    Path(_id): Path<String>,
    body: String,
) -> &'static str {
    api.responses.lock().unwrap().push(body);
    "{}"
}

/// The function's environment: the most verbose log settings, and secrets that must stay unseen.
const ENV: &[(&str, &str)] = &[
    ("AWS_LAMBDA_LOG_LEVEL", "TRACE"),
    ("RUST_LOG", "trace"),
    ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
    ("AWS_LAMBDA_FUNCTION_NAME", "webhook-ingest"),
    ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
    ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"),
    ("AWS_REGION", "us-east-1"),
    ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
    ("AWS_SECRET_ACCESS_KEY", "not-a-real-secret-key-0123456789"),
    ("TABLE_NAME", "kyc"),
    ("DYNAMODB_ENDPOINT", "http://127.0.0.1:9"),
    (
        "IDEMPOTENCY_SECRET",
        "idempotency-secret-never-logged-0123456789",
    ),
    ("PROVIDERS", "bond"),
    ("BOND_BASE_URL", "http://127.0.0.1:9/bond"),
    ("BOND_IDENTITY", "00000000-0000-4000-8000-000000000001"),
    ("BOND_AUTHORIZATION", "bond-authorization-never-logged"),
    ("BOND_PROGRAM_ID", "00000000-0000-4000-8000-000000000002"),
    ("BOND_WEBHOOK_SECRETS", SECRET),
];

/// A Runtime API on a free port, serving the one invocation.
async fn serve_runtime_api() -> (std::net::SocketAddr, RuntimeApi) {
    let api = RuntimeApi::default();
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(respond),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(respond))
        .route(
            "/2018-06-01/runtime/init/error",
            post(|body: String| async move { body }),
        )
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, api)
}

/// Run the function until it answered once (at most 10 s); its answers and everything it printed.
async fn run_once(addr: std::net::SocketAddr, api: &RuntimeApi) -> (Vec<String>, String) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_webhook-ingest"))
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .envs(ENV.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the function binary starts");
    for _ in 0..200 {
        if !api.responses.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let answered = api.responses.lock().unwrap().clone();
    child.start_kill().ok();
    let mut out = String::new();
    let mut err = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .await
        .ok();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .await
        .ok();
    (answered, format!("{out}{err}"))
}

#[tokio::test]
async fn at_trace_level_no_body_header_or_secret_reaches_the_logs() {
    let (addr, api) = serve_runtime_api().await;
    let (answered, logs) = run_once(addr, &api).await;
    assert_eq!(
        answered.len(),
        1,
        "the invocation was answered; logs:\n{logs}"
    );
    assert!(
        answered[0].contains("401"),
        "refused without credentials: {}",
        answered[0]
    );
    assert!(
        logs.contains("webhook refused"),
        "our own trace-level logging works:\n{logs}"
    );
    for value in [
        SECRET,
        BASIC,
        SSN,
        NAME,
        "bond-authorization-never-logged",
        "idempotency-secret-never-logged",
        "abababab",
    ] {
        assert!(!logs.contains(value), "{value} reached the logs:\n{logs}");
    }
}
