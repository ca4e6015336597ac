//! The whole flow on one machine: DynamoDB Local with the table from `template.yaml`, the provider
//! emulator, and the API serving the template's routes with the Lambda handlers.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use aws_credential_types::Credentials;
use aws_sdk_dynamodb::config::{BehaviorVersion, Region};
use emulator::{Emulator, EmulatorConfig, EmulatorServer};
use shared::clock::Clock;
use shared::net;
use shared::store::metrics::CallCounter;
use shared::wiring::Clients;
use shared::Config;

use crate::dynamodb_local::DynamoDbLocal;
use crate::template::{self, Template};
pub use crate::wirings::Wirings;

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error(transparent)]
    Template(#[from] template::TemplateError),
    #[error(transparent)]
    LocalDb(#[from] crate::dynamodb_local::LocalDbError),
    #[error("could not create the table: {0}")]
    Table(String),
    #[error("configuration: {0}")]
    Config(#[from] shared::config::ConfigError),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Init(#[from] shared::wiring::InitError),
    #[error(transparent)]
    Function(#[from] crate::wirings::UnknownFunction),
}

/// Where the stack's DynamoDB comes from.
pub enum Database {
    /// Start DynamoDB Local on this port (0: any free port) and own it.
    Start { port: u16 },
    /// Use one that is already running.
    Endpoint(String),
}

pub struct StackOptions {
    pub database: Database,
    pub table_name: String,
    pub api_addr: SocketAddr,
    pub emulator_addr: SocketAddr,
    /// Extra or overriding environment for the functions' configuration.
    pub env: HashMap<String, String>,
    /// The emulator's settings (its webhook URLs are set to the stack's API).
    pub emulator: EmulatorConfig,
    /// Take a tenant on this shared emulator server instead of serving an emulator of our own
    /// (`emulator_addr` is then unused).
    pub emulator_server: Option<EmulatorServer>,
    /// The functions' clock (tests move it); the system clock when `None`.
    pub clock: Option<Arc<dyn Clock>>,
    /// Run the reconciler this often, as the template's schedule does on AWS (`None`: never).
    pub reconcile_every: Option<std::time::Duration>,
    /// Refuse unsigned requests to the IAM routes as API Gateway does (see [`crate::gateway`]).
    pub gateway_iam: bool,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            database: Database::Start { port: 0 },
            table_name: "kyc-local".into(),
            api_addr: ([127, 0, 0, 1], 0).into(),
            emulator_addr: ([127, 0, 0, 1], 0).into(),
            env: HashMap::new(),
            emulator: EmulatorConfig::default(),
            emulator_server: None,
            clock: None,
            reconcile_every: None,
            gateway_iam: false,
        }
    }
}

pub struct LocalStack {
    pub api_url: String,
    pub emulator_url: String,
    pub dynamodb_endpoint: String,
    pub table_name: String,
    /// Each function's composition root, as its Lambda builds it, on a DynamoDB client that
    /// enforces the function's IAM policy (tests take services from it).
    pub wiring: Wirings,
    pub emulator: Emulator,
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// Every DynamoDB call the functions make, by operation.
    pub calls: CallCounter,
    /// The environment the functions were configured from (what a Lambda would get).
    pub function_env: HashMap<String, String>,
    _db: Option<DynamoDbLocal>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// A DynamoDB client for a local endpoint: fixed region and credentials, so nothing probes for
/// instance metadata.
pub fn local_dynamodb_client(
    endpoint: &str,
    counter: Option<&CallCounter>,
) -> aws_sdk_dynamodb::Client {
    // Both fail only on a build-time mismatch of TLS crates, never on input.
    let tls = net::tls_config().expect("the TLS configuration builds");
    let http = net::dynamodb_http_client(&tls).expect("the DynamoDB HTTP client builds");
    let mut builder = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(http)
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(
            "local",
            "local",
            None,
            None,
            "local-stack",
        ));
    if let Some(c) = counter {
        builder = builder.interceptor(c.clone());
    }
    aws_sdk_dynamodb::Client::from_conf(builder.build())
}

/// The DynamoDB to use: one started here (owned, stopped with the stack), or a running one.
async fn database(database: Database) -> Result<(Option<DynamoDbLocal>, String), StackError> {
    match database {
        Database::Start { port } => {
            let db = tokio::task::spawn_blocking(move || DynamoDbLocal::start(port))
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))??;
            let endpoint = db.endpoint.clone();
            Ok((Some(db), endpoint))
        }
        Database::Endpoint(e) => Ok((None, e)),
    }
}

/// What a Lambda function would find in its environment here: the table, a fixed local secret
/// (a deployment's is generated by the template), the region and credentials Lambda sets
/// (DynamoDB Local accepts any), and every emulated provider's variables pointing at the
/// emulator; then the caller's overrides.
fn function_env(
    table_name: &str,
    endpoint: &str,
    emulator: &Emulator,
    overrides: HashMap<String, String>,
) -> HashMap<String, String> {
    let mut env: HashMap<String, String> = [
        ("TABLE_NAME", table_name),
        (
            "IDEMPOTENCY_SECRET",
            "local-idempotency-secret-not-for-production",
        ),
        ("DYNAMODB_ENDPOINT", endpoint),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "local"),
        ("AWS_SECRET_ACCESS_KEY", "local"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    env.extend(emulator.function_env());
    env.extend(overrides);
    env
}

/// Run the reconciler every `every`, as the template's schedule does on AWS.
fn reconcile_every(wiring: &Wirings, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
    let reconciler = wiring.reconciler();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            if let Err(e) = reconciler.reconcile.run().await {
                tracing::warn!(code = e.code.as_str(), "local reconciler run failed");
            }
        }
    })
}

impl LocalStack {
    pub async fn start(options: StackOptions) -> Result<Self, StackError> {
        let template = Template::load(&template::default_path())?;
        let (db, endpoint) = database(options.database).await?;
        let admin = local_dynamodb_client(&endpoint, None);
        template
            .table
            .create(&admin, &options.table_name)
            .await
            .map_err(|e| {
                StackError::Table(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
            })?;

        // Bind the API first: the emulator needs its webhook URL.
        let api_listener = tokio::net::TcpListener::bind(options.api_addr).await?;
        let api_addr = api_listener.local_addr()?;
        drop(api_listener);
        // A tenant of the shared emulator server, or an emulator of our own at the root.
        let (emulator, emulator_task) = match &options.emulator_server {
            Some(server) => (server.tenant(options.emulator), None),
            None => {
                let emulator = Emulator::new(options.emulator);
                let (_, task) = emulator.serve(options.emulator_addr).await?;
                (emulator, Some(task))
            }
        };
        emulator.set_api_url(&format!("http://{api_addr}"));

        let env = function_env(&options.table_name, &endpoint, &emulator, options.env);
        let config = Config::from_lookup(|k| env.get(k).cloned())?;
        // The functions' own wiring, plus a counter of DynamoDB calls.
        let calls = CallCounter::new();
        let clients = Clients::from_config(&config).await?;
        let wiring = Wirings::new(&template, &config, &clients, &calls, options.clock)?;
        let (api_addr, api_task) =
            crate::api::serve(&wiring, &template.routes, api_addr, options.gateway_iam).await?;
        let mut tasks: Vec<_> = emulator_task.into_iter().chain([api_task]).collect();
        tasks.extend(
            options
                .reconcile_every
                .map(|every| reconcile_every(&wiring, every)),
        );
        Ok(Self {
            api_url: format!("http://{api_addr}"),
            emulator_url: emulator.base_url(),
            dynamodb_endpoint: endpoint,
            table_name: options.table_name,
            wiring,
            emulator,
            dynamodb: admin,
            calls,
            function_env: env,
            _db: db,
            tasks,
        })
    }

    /// The one line `make dev` prints once everything is up.
    pub fn ready_line(&self) -> String {
        format!(
            "ready api={} emulator={} dynamodb={}",
            self.api_url, self.emulator_url, self.dynamodb_endpoint
        )
    }
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
