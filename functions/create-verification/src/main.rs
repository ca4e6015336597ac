//! Lambda entry point: configuration and clients built once, then the runtime loop.

use lambda_http::{run, service_fn, Error};
use shared::wiring::Wiring;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let deps = Wiring::from_env().await?.create_verification();
    run(service_fn(|req| async {
        Ok::<_, Error>(create_verification::handle(&deps, req).await)
    }))
    .await
}
