//! Unit-test helpers: call an emulator's routes in process, without a listener.

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;

use crate::{Emulator, EmulatorConfig};

/// An answer, read whole.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Answer {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

/// A client as the emulator builds its own (this workspace's TLS setup).
pub(crate) fn http() -> reqwest::Client {
    shared::net::client_builder().unwrap().build().unwrap()
}

/// A root emulator with default settings, whose links start at `http://emulator.test`.
pub(crate) fn emulator() -> Emulator {
    Emulator::new(EmulatorConfig {
        public_url: Some("http://emulator.test".into()),
        ..EmulatorConfig::default()
    })
}

/// Send `method uri` with `headers` and an optional body (JSON unless a content type is given).
pub(crate) async fn call(
    emu: &Emulator,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> Answer {
    let mut req = Request::builder().method(method).uri(uri);
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        req = req.header("content-type", "application/json");
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req
        .body(body.map(Body::from).unwrap_or_else(Body::empty))
        .unwrap();
    let resp = emu.router().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    Answer {
        status,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// Wait until the emulator has recorded `n` webhooks (about 2 s at most).
pub(crate) async fn wait_for_deliveries(emu: &Emulator, n: usize) {
    for _ in 0..100 {
        if emu.deliveries().len() >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("{} of {n} webhooks recorded", emu.deliveries().len());
}
