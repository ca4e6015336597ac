//! The local stack: everything `make dev` runs and the integration tests start, on loopback.

pub mod api;
pub mod capture;
pub mod dynamodb_local;
pub mod gateway;
pub mod iam;
pub mod stack;
pub mod template;
pub mod wirings;

pub use stack::{Database, LocalStack, StackOptions};
pub use wirings::Wirings;
