//! Lambda entry point: configuration and clients built once, then the runtime loop.

use std::sync::Arc;

use lambda_http::{run, service_fn, Error};
use shared::wiring::events::EventsWiring;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let deps = EventsWiring::new(Arc::new(|name: &str| std::env::var(name).ok()))
        .await?
        .list_events()?;
    run(service_fn(|req| async {
        Ok::<_, Error>(list_events::handle(&deps, req).await)
    }))
    .await
}
