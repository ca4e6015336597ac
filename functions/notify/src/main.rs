//! Lambda entry point: configuration and clients built once, then the runtime loop.

use std::sync::Arc;

use aws_lambda_events::event::dynamodb::Event;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use shared::wiring::events::EventsWiring;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let deps = EventsWiring::new(Arc::new(|name: &str| std::env::var(name).ok()))
        .await?
        .notify()?;
    run(service_fn(|event: LambdaEvent<Event>| async {
        Ok::<_, Error>(notify::handle(&deps, event.payload).await)
    }))
    .await
}
