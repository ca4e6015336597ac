//! Lambda entry point: configuration and clients built once, then the runtime loop.

use lambda_http::{run, service_fn, Error};
use shared::App;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let app = App::from_env().await?;
    run(service_fn(|req| async {
        Ok::<_, Error>(fetch_result::handle(&app, req).await)
    }))
    .await
}
