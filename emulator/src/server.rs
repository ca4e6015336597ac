//! Serving an emulator at the root of its own listener: every provider's routes, the test
//! controls, and the favicon browsers ask for.

use std::net::SocketAddr;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;

use crate::{control, Emulator, Registry};

impl Emulator {
    /// Every route, without its state.
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

    /// Serve at the root of `addr` (port 0 picks a free port); returns the bound address.
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
