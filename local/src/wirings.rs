//! Each function's own composition root in the local stack, as its Lambda builds it, on a
//! DynamoDB client of its own that counts its calls and enforces its IAM policy.

use std::sync::Arc;

use shared::clock::Clock;
use shared::store::dynamodb::DynamoDbStore;
use shared::store::metrics::CallCounter;
use shared::wiring::{
    Clients, CreateVerificationDeps, FetchResultDeps, ReconcilerDeps, WebhookIngestDeps, Wiring,
};
use shared::Config;

use crate::iam::PolicyGuard;
use crate::template::Template;

/// `template.yaml` declares no function of that name.
#[derive(Debug, thiserror::Error)]
#[error("template.yaml declares no function {0}")]
pub struct UnknownFunction(String);

/// Each function's own [`Wiring`], as its Lambda builds it, on a DynamoDB client of its own that
/// counts its calls and refuses what the function's policy in `template.yaml` does not grant.
#[derive(Clone)]
pub struct Wirings {
    create_verification: Wiring,
    webhook_ingest: Wiring,
    fetch_result: Wiring,
    reconciler: Wiring,
    /// The DynamoDB clients of the outbound-event functions, under their own policies.
    notify_dynamodb: aws_sdk_dynamodb::Client,
    list_events_dynamodb: aws_sdk_dynamodb::Client,
    guards: Vec<PolicyGuard>,
}

impl Wirings {
    pub(crate) fn new(
        template: &Template,
        config: &Config,
        clients: &Clients,
        calls: &CallCounter,
        clock: Option<Arc<dyn Clock>>,
    ) -> Result<Self, UnknownFunction> {
        let mut guards = Vec::new();
        // The request functions' calls are counted (their round trips are a design goal); the
        // outbound-event functions' are not, so turning events on changes no count.
        let mut client =
            |function: &str, counted: bool| -> Result<aws_sdk_dynamodb::Client, UnknownFunction> {
                let grants = template
                    .grants
                    .get(function)
                    .cloned()
                    .ok_or_else(|| UnknownFunction(function.to_owned()))?;
                let guard = PolicyGuard::new(function, grants);
                guards.push(guard.clone());
                let mut config = clients.dynamodb.clone().interceptor(guard);
                if counted {
                    config = config.interceptor(calls.clone());
                }
                Ok(aws_sdk_dynamodb::Client::from_conf(config.build()))
            };
        let notify_dynamodb = client("notify", false)?;
        let list_events_dynamodb = client("list-events", false)?;
        let mut wire = |function: &str| -> Result<Wiring, UnknownFunction> {
            let wiring = Wiring::new(config, client(function, true)?, clients.http.clone());
            Ok(match &clock {
                Some(c) => wiring.with_clock(c.clone()),
                None => wiring,
            })
        };
        Ok(Self {
            create_verification: wire("create-verification")?,
            webhook_ingest: wire("webhook-ingest")?,
            fetch_result: wire("fetch-result")?,
            reconciler: wire("reconciler")?,
            notify_dynamodb,
            list_events_dynamodb,
            guards,
        })
    }

    pub fn create_verification(&self) -> CreateVerificationDeps {
        self.create_verification.create_verification()
    }

    pub fn webhook_ingest(&self) -> WebhookIngestDeps {
        self.webhook_ingest.webhook_ingest()
    }

    pub fn fetch_result(&self) -> FetchResultDeps {
        self.fetch_result.fetch_result()
    }

    pub fn reconciler(&self) -> ReconcilerDeps {
        self.reconciler.reconciler()
    }

    /// notify's DynamoDB client (its policy: the feed's batch writes).
    pub fn notify_dynamodb(&self) -> aws_sdk_dynamodb::Client {
        self.notify_dynamodb.clone()
    }

    /// list-events' DynamoDB client (its policy: Query).
    pub fn list_events_dynamodb(&self) -> aws_sdk_dynamodb::Client {
        self.list_events_dynamodb.clone()
    }

    /// The store as fetch-result holds it (reads and a refresh's write).
    pub fn store(&self) -> &DynamoDbStore {
        self.fetch_result.store()
    }

    /// Every DynamoDB call any function made that its policy does not allow.
    pub fn denied(&self) -> Vec<String> {
        self.guards.iter().flat_map(PolicyGuard::denied).collect()
    }
}
