//! Every integration test in one binary, so a run has one process, one DynamoDB Local (the one
//! `make test` starts, or one this process starts) and one place to share fixtures. Each test gets
//! its own table and its own emulator state.

mod api;
mod bond;
mod bond_fidelity;
mod conformance;
mod create_contract;
mod deadline;
mod delivery;
mod emulator_controls;
mod handlers;
mod iam;
mod idempotency;
mod kyc_data;
mod ondato_fidelity;
mod outage;
mod outbound;
mod privacy;
mod reconciler;
mod redaction;
mod secrets_manager;
mod store;
mod tenants;
mod verdicts;
mod veriff;
mod webhooks;
