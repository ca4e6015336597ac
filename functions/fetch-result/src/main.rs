//! Lambda entry point: configuration, clients built once, then the runtime loop.

use lambda_http::{run, service_fn, Error};
use shared::service::{dynamodb_client, provider_http_client};
use shared::{App, Config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let config = Config::from_env()?;
    let app = App::from_config(
        &config,
        dynamodb_client(&config).await,
        provider_http_client(&config),
    );
    run(service_fn(|req| async {
        Ok::<_, Error>(fetch_result::handle(&app, req).await)
    }))
    .await
}
