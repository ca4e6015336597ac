//! The sample receiver of the local stack: a business's webhook endpoint in a few lines. It
//! verifies each delivery with the Standard Webhooks reference library (`standardwebhooks`),
//! keeps what it received, and lists it at `/` (a page) and `/received` (JSON). `POST /fail`
//! with `{"status": 500}` makes it answer that status until `{"status": null}`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::Value;

/// One delivery as the receiver saw it.
#[derive(Clone, Debug, Serialize)]
pub struct Received {
    pub webhook_id: String,
    pub webhook_timestamp: String,
    /// Whether the reference library verified the signature with the receiver's key.
    pub verified: bool,
    /// The status the receiver answered.
    pub answered: u16,
    pub event: Value,
}

#[derive(Default)]
struct Inner {
    received: Vec<Received>,
    fail_with: Option<u16>,
}

#[derive(Clone)]
struct Receiver {
    verifier: Arc<standardwebhooks::Webhook>,
    inner: Arc<Mutex<Inner>>,
}

pub struct SampleReceiver {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl SampleReceiver {
    /// Serve on `addr` (port 0: any free port), verifying with `key` (`whsec_…`).
    pub async fn start(addr: SocketAddr, key: &str) -> std::io::Result<Self> {
        let verifier = standardwebhooks::Webhook::new(key)
            .map_err(|e| std::io::Error::other(format!("receiver key: {e}")))?;
        let inner = Arc::new(Mutex::new(Inner::default()));
        let state = Receiver {
            verifier: Arc::new(verifier),
            inner: inner.clone(),
        };
        let app = Router::new()
            .route("/", get(page))
            .route("/received", get(list))
            .route("/webhook", post(receive))
            .route("/fail", post(fail))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "sample receiver stopped");
            }
        });
        Ok(Self {
            url: format!("http://{bound}"),
            inner,
            task,
        })
    }

    /// Where deliveries go.
    pub fn webhook_url(&self) -> String {
        format!("{}/webhook", self.url)
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner
            .lock()
            .map(|i| i.received.clone())
            .unwrap_or_default()
    }
}

impl Drop for SampleReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(
    State(r): State<Receiver>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let verified = r.verifier.verify(&body, &headers).is_ok();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let Ok(mut inner) = r.inner.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR;
    };
    let answered = inner.fail_with.unwrap_or(if verified { 204 } else { 401 });
    inner.received.push(Received {
        webhook_id: header("webhook-id"),
        webhook_timestamp: header("webhook-timestamp"),
        verified,
        answered,
        event: serde_json::from_slice(&body).unwrap_or(Value::Null),
    });
    StatusCode::from_u16(answered).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

async fn fail(State(r): State<Receiver>, Json(body): Json<Value>) -> StatusCode {
    let status = body["status"].as_u64().and_then(|s| u16::try_from(s).ok());
    if let Ok(mut inner) = r.inner.lock() {
        inner.fail_with = status;
    }
    StatusCode::NO_CONTENT
}

async fn list(State(r): State<Receiver>) -> impl IntoResponse {
    let received = r
        .inner
        .lock()
        .map(|i| i.received.clone())
        .unwrap_or_default();
    Json(received)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

async fn page(State(r): State<Receiver>) -> Html<String> {
    let received = r
        .inner
        .lock()
        .map(|i| i.received.clone())
        .unwrap_or_default();
    let rows: String = received
        .iter()
        .rev()
        .map(|d| {
            let e = &d.event;
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&d.webhook_id),
                escape(e["type"].as_str().unwrap_or("?")),
                escape(e["data"]["verification_id"].as_str().unwrap_or("?")),
                e["data"]["sequence"],
                escape(&d.webhook_timestamp),
                if d.verified { "✔ verified" } else { "✘ NOT verified" },
                d.answered,
            )
        })
        .collect();
    Html(format!(
        "<!doctype html><html><head><meta charset=utf-8><meta http-equiv=refresh content=2>\
         <title>Sample receiver</title><style>body{{font-family:sans-serif}}td,th{{padding:2px 8px;text-align:left}}</style></head>\
         <body><h1>Events received ({})</h1><p>Each delivery's signature is checked with the Standard Webhooks reference library.</p>\
         <table><tr><th>webhook-id</th><th>type</th><th>verification</th><th>sequence</th><th>webhook-timestamp</th><th>signature</th><th>answered</th></tr>{rows}</table></body></html>",
        received.len()
    ))
}
