//! Lambda entry point: configuration and clients built once, then the runtime loop.

use lambda_http::{run, service_fn, Error};
use shared::wiring::{WebhookIngestDeps, Wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let deps = Wiring::from_env(WebhookIngestDeps::SECRETS)
        .await?
        .webhook_ingest();
    run(service_fn(|req| async {
        Ok::<_, Error>(webhook_ingest::handle(&deps, req).await)
    }))
    .await
}
