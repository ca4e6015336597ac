//! The local stack: everything `make dev` runs and the integration tests start, on loopback.

pub mod api;
pub mod capture;
pub mod dynamodb_local;
pub mod events;
pub mod gateway;
pub mod iam;
pub mod moto;
pub mod receiver;
pub mod stack;
pub mod template;
pub mod wirings;

pub use events::EventsOptions;
pub use stack::{Database, LocalStack, StackOptions};
pub use wirings::Wirings;
