//! Lambda entry point: configuration, clients and signing keys built once, then the runtime loop.

use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use shared::wiring::events::EventsWiring;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let deps = EventsWiring::new(Arc::new(|name: &str| std::env::var(name).ok()))
        .await?
        .deliver()
        .await?;
    run(service_fn(|event: LambdaEvent<SqsEvent>| async {
        Ok::<_, Error>(deliver::handle(&deps, event.payload).await)
    }))
    .await
}
