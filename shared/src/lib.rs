//! The library every KYC Lambda function uses: the domain and its rules, the error shape, typed
//! configuration, the storage and provider ports with their adapters, the use-case services the
//! handlers call, and the composition root that builds them ([`wiring`]).

pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod http;
pub mod net;
pub mod outbound;
pub mod provider;
pub mod secrets;
pub mod service;
pub mod store;
pub mod telemetry;
pub mod wiring;

pub use config::Config;
pub use error::{ApiError, ErrorCode};
pub use service::RequestCtx;
