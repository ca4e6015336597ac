//! Lambda entry point: configuration and clients built once, then the runtime loop.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use shared::App;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let app = App::from_env().await?;
    run(service_fn(|_event: LambdaEvent<Value>| async {
        reconciler::handle(&app).await.map_err(Error::from)
    }))
    .await
}
