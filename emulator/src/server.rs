//! Serving emulators: one at the root of its own listener ([`Emulator::serve`]), or many isolated
//! tenants on one listener ([`EmulatorServer`]), each under `/t/{id}` with its own state, settings,
//! counters, deliveries, faults and delays. A tenant's routes are the root ones, behind its prefix.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use axum::extract::{Request, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tower::ServiceExt;

use crate::state::Shared;
use crate::{control, Emulator, EmulatorConfig, Registry};

impl Emulator {
    /// Every route, without its state: the same for the root and for each tenant.
    fn routes() -> Router<Emulator> {
        Router::new()
            // Browsers ask for it on every page without a <link rel="icon">.
            .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
            .merge(Registry::routes())
            .merge(control::routes())
    }

    /// The axum router of every endpoint, at the root.
    pub fn router(&self) -> Router {
        Self::routes().with_state(self.clone())
    }

    /// Serve at the root of `addr` (port 0 picks a free port); returns the bound address. For an
    /// emulator made with [`Emulator::new`]; a tenant is served by its [`EmulatorServer`].
    pub async fn serve(
        &self,
        addr: SocketAddr,
    ) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        self.update(|c| {
            c.public_url
                .get_or_insert_with(|| format!("http://{bound}"));
        });
        let router = self.router();
        let handle = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!(error = %e, "emulator server stopped");
            }
        });
        Ok((bound, handle))
    }
}

/// One listener serving many isolated emulators (tenants), each under `{url}/t/{id}`: one server
/// for a whole test run, a tenant per test. Cheap to clone; the listener stops when the last clone
/// is dropped. A tenant lives as long as some [`Emulator`] handle on it does.
#[derive(Clone)]
pub struct EmulatorServer(Arc<ServerInner>);

struct ServerInner {
    url: String,
    routes: Router<Emulator>,
    tenants: Mutex<HashMap<String, Weak<Shared>>>,
    next: AtomicU64,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ServerInner {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl EmulatorServer {
    /// Listen on `addr` (port 0 picks a free port) on the current runtime, which must outlive
    /// every tenant's use of the server.
    pub async fn start(addr: SocketAddr) -> std::io::Result<EmulatorServer> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        let inner = Arc::new_cyclic(|weak: &Weak<ServerInner>| {
            let router = Router::new()
                .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
                .fallback(forward)
                .with_state(weak.clone());
            let task = tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, router).await {
                    tracing::error!(error = %e, "emulator server stopped");
                }
            });
            ServerInner {
                url: format!("http://{bound}"),
                routes: Emulator::routes(),
                tenants: Mutex::new(HashMap::new()),
                next: AtomicU64::new(1),
                task,
            }
        });
        Ok(EmulatorServer(inner))
    }

    /// `http://host:port`, without a tenant.
    pub fn url(&self) -> String {
        self.0.url.clone()
    }

    /// A new isolated emulator with these settings, served under `{url}/t/{id}` (its
    /// [`Emulator::base_url`]); any `public_url` in `config` is replaced by that base.
    pub fn tenant(&self, config: EmulatorConfig) -> Emulator {
        let id = self.0.next.fetch_add(1, Ordering::Relaxed).to_string();
        let prefix = format!("/t/{id}");
        let config = EmulatorConfig {
            public_url: Some(format!("{}{prefix}", self.0.url)),
            ..config
        };
        let emulator = Emulator::with_prefix(config, prefix);
        let mut tenants = self.0.tenants.lock().unwrap_or_else(|p| p.into_inner());
        tenants.retain(|_, t| t.strong_count() > 0);
        tenants.insert(id, Arc::downgrade(&emulator.0));
        emulator
    }
}

impl ServerInner {
    fn tenant(&self, id: &str) -> Option<Emulator> {
        let tenants = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        tenants.get(id).and_then(Weak::upgrade).map(Emulator)
    }
}

/// `/t/{id}/rest?query` → the tenant's own routes at `/rest?query`.
async fn forward(State(server): State<Weak<ServerInner>>, req: Request) -> Response {
    let Some(server) = server.upgrade() else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let Some((id, path)) = split_tenant(req.uri().path()) else {
        return no_tenant();
    };
    let Some(emulator) = server.tenant(id) else {
        return no_tenant();
    };
    let target = match req.uri().query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    let (mut parts, body) = req.into_parts();
    parts.uri = match Uri::builder().path_and_query(target).build() {
        Ok(uri) => uri,
        Err(_) => return StatusCode::BAD_REQUEST.into_response(),
    };
    let router = server.routes.clone().with_state::<()>(emulator);
    match router.oneshot(Request::from_parts(parts, body)).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// `/t/{id}` and the rest of the path (`/` when there is none).
fn split_tenant(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/t/")?;
    let (id, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    (!id.is_empty()).then_some((id, tail))
}

fn no_tenant() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"error": "no such tenant"})),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::http as client;

    async fn counters(url: &str) -> serde_json::Value {
        let r = client()
            .get(format!("{url}/_emulator/stats"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json::<serde_json::Value>().await.unwrap()["counters"].clone()
    }

    #[test]
    fn when_a_path_is_under_a_tenant_should_split_id_and_rest() {
        assert_eq!(split_tenant("/t/7/a/b"), Some(("7", "/a/b")));
        assert_eq!(split_tenant("/t/7/"), Some(("7", "/")));
        assert_eq!(split_tenant("/t/7"), Some(("7", "/")));
        assert_eq!(split_tenant("/t/"), None);
        assert_eq!(split_tenant("/x/7"), None);
    }

    #[tokio::test]
    async fn when_two_tenants_share_a_server_should_keep_apart_their_state() {
        let server = EmulatorServer::start(([127, 0, 0, 1], 0).into())
            .await
            .unwrap();
        let a = server.tenant(EmulatorConfig::default());
        let b = server.tenant(EmulatorConfig::default());
        assert_ne!(a.base_url(), b.base_url());
        assert!(a.base_url().starts_with(&format!("{}/t/", server.url())));
        a.fail_next("thing", 503, 1);
        assert!(b.call("thing").is_none());
        assert_eq!(counters(&a.base_url()).await, json!({}));
        assert_eq!(counters(&b.base_url()).await, json!({"thing": 1}));
        let faulted = a.call("thing").map(|r| r.status());
        assert_eq!(faulted, Some(StatusCode::SERVICE_UNAVAILABLE));
    }

    #[tokio::test]
    async fn when_a_tenant_is_dropped_or_unknown_should_answer_404() {
        let server = EmulatorServer::start(([127, 0, 0, 1], 0).into())
            .await
            .unwrap();
        let gone = server.tenant(EmulatorConfig::default()).base_url();
        for url in [gone, format!("{}/t/nope", server.url()), server.url()] {
            let r = client()
                .get(format!("{url}/_emulator/stats"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 404, "{url}");
        }
    }
}
