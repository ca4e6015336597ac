//! Lambda entry point: configuration and clients built once, then the runtime loop.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use shared::wiring::{ReconcilerDeps, Wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let deps = Wiring::from_env(ReconcilerDeps::SECRETS)
        .await?
        .reconciler();
    run(service_fn(|event: LambdaEvent<Value>| async {
        reconciler::handle(&deps, event).await.map_err(Error::from)
    }))
    .await
}
