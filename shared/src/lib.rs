//! The library every KYC Lambda function uses: the domain and its rules, the error shape, typed
//! configuration, the DynamoDB store and the provider adapters, and the services the handlers call.

pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod net;
pub mod provider;
pub mod service;
pub mod store;
pub mod telemetry;

pub use config::Config;
pub use error::{ApiError, ErrorCode};
pub use service::{App, RequestCtx};
