//! Lambda entry point: configuration and clients built once, then the runtime loop.

use lambda_http::{run, service_fn, Error};
use shared::wiring::{FetchResultDeps, Wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let deps = Wiring::from_env(FetchResultDeps::SECRETS)
        .await?
        .fetch_result();
    run(service_fn(|req| async {
        Ok::<_, Error>(fetch_result::handle(&deps, req).await)
    }))
    .await
}
