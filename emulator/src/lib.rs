//! A provider emulator: a real HTTP server speaking each registered provider's wire format (its
//! API, its hosted or upload pages, its signed webhooks), for the local stack and the tests.
//!
//! This file is the registry: one line per provider folder. Each folder holds everything about
//! its provider (settings, routes, state, webhook envelope and authentication, pages, tests);
//! the rest of the crate is generic and names none of them:
//! - `state`: the per-emulator state container, counters, injected faults and delays;
//! - `delivery`: recorded webhooks, the chaos settings that decide how they are sent, redelivery;
//! - `control`: the test controls under `/_emulator/...`;
//! - `server`: serving one emulator at the root, or many isolated tenants under `/t/{id}`;
//! - `page`: the layout every page shares;
//! - `provider`: the contract a provider folder implements and the `providers!` macro;
//! - `config`: the emulator's settings, generic and per provider, and their flags;
//! - `util`: small helpers; `testing`: fixtures for the unit tests.

#[macro_use]
mod provider;
mod config;
mod control;
mod delivery;
mod page;
mod server;
mod state;
#[cfg(test)]
mod testing;
mod util;

pub use config::{EmulatorConfig, Outcome};
pub use delivery::{Attempt, AttemptTime, Delivery};
pub use provider::Provider;
pub use server::EmulatorServer;
pub use state::Emulator;
/// The document number the emulated providers read from a person's document (tests compare).
pub use util::document_number;

providers! {
    ondato::Ondato,
    bond::Bond,
    veriff::Veriff,
}
