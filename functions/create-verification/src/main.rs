//! Lambda entry point: configuration and clients built once, then the runtime loop.

use lambda_http::{run, service_fn, Error};
use shared::wiring::{CreateVerificationDeps, Wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let deps = Wiring::from_env(CreateVerificationDeps::SECRETS)
        .await?
        .create_verification();
    run(service_fn(|req| async {
        Ok::<_, Error>(create_verification::handle(&deps, req).await)
    }))
    .await
}
