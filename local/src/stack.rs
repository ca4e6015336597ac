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
use crate::events::{EventsOptions, LocalEvents, LOCAL_SIGNING_KEY};
use crate::receiver::SampleReceiver;
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
    #[error(transparent)]
    Events(#[from] crate::events::EventsError),
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
    /// Outbound events: the table's stream to notify, the delivery queue to deliver (moto's
    /// server), and the sample receiver unless a webhook URL is given (`None`: no events go
    /// out; `GET /v1/events` still reads the feed).
    pub events: Option<EventsOptions>,
    /// Where the sample receiver listens (port 0: any free port).
    pub receiver_addr: SocketAddr,
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
            events: None,
            receiver_addr: ([127, 0, 0, 1], 0).into(),
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
    /// The queues and the bus of the outbound events, when they run.
    pub events: Option<LocalEvents>,
    /// The sample receiver, when deliveries go to it.
    pub receiver: Option<SampleReceiver>,
    _db: Option<DynamoDbLocal>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// The AWS configuration of a local endpoint (DynamoDB Local, moto): fixed region and
/// credentials, so nothing probes for instance metadata, on the shared transport.
pub(crate) fn local_sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    // Both fail only on a build-time mismatch of TLS crates, never on input.
    let tls = net::tls_config().expect("the TLS configuration builds");
    let http = net::dynamodb_http_client(&tls).expect("the HTTP client builds");
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(http)
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(Credentials::new(
                "local",
                "local",
                None,
                None,
                "local-stack",
            )),
        )
        .build()
}

/// A DynamoDB client for a local endpoint (see [`local_sdk_config`]), counting its calls when
/// given a counter.
pub fn local_dynamodb_client(
    endpoint: &str,
    counter: Option<&CallCounter>,
) -> aws_sdk_dynamodb::Client {
    let mut builder = aws_sdk_dynamodb::config::Builder::from(&local_sdk_config(endpoint));
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

        let mut env = function_env(
            &options.table_name,
            &endpoint,
            &emulator,
            options.env.clone(),
        );
        let config = Config::from_lookup(|k| env.get(k).cloned())?;
        // The functions' own wiring, plus a counter of DynamoDB calls.
        let calls = CallCounter::new();
        let clients = Clients::from_config(&config).await?;
        let wiring = Wirings::new(&template, &config, &clients, &calls, options.clock.clone())?;
        let mut tasks: Vec<_> = emulator_task.into_iter().collect();
        let parts = StackParts {
            table_name: options.table_name.clone(),
            receiver_addr: options.receiver_addr,
            clock: options.clock.clone(),
        };
        let (events, receiver) = match &options.events {
            Some(events) => {
                let (outbound, pumps) =
                    Outbound::run(events, &mut env, &wiring, (&admin, &endpoint), &parts).await?;
                tasks.extend(pumps);
                (Some(outbound.events), outbound.receiver)
            }
            None => (None, None),
        };
        let list_events = events_wiring(
            &env,
            Some(wiring.list_events_dynamodb()),
            options.clock.clone(),
        )
        .await?
        .list_events()?;
        let functions = crate::api::Functions::new(&wiring, list_events);
        let (api_addr, api_task) =
            crate::api::serve(functions, &template.routes, api_addr, options.gateway_iam).await?;
        tasks.push(api_task);
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
            events,
            receiver,
            _db: db,
            tasks,
        })
    }

    /// The outbound-event functions' composition root on this stack's function environment, on
    /// `dynamodb` (a function's policy-guarded client, from [`Wirings`]) where given.
    pub async fn events_wiring(
        &self,
        dynamodb: Option<aws_sdk_dynamodb::Client>,
    ) -> Result<shared::wiring::events::EventsWiring, StackError> {
        events_wiring(&self.function_env, dynamodb, None).await
    }

    /// The one line `make dev` prints once everything is up.
    pub fn ready_line(&self) -> String {
        let mut line = format!(
            "ready api={} emulator={} dynamodb={}",
            self.api_url, self.emulator_url, self.dynamodb_endpoint
        );
        if let Some(r) = &self.receiver {
            line.push_str(&format!(" receiver={}", r.url));
        }
        line
    }
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// The outbound-event functions' composition root on this environment (and clock), on a
/// DynamoDB client under the function's own policy.
async fn events_wiring(
    env: &HashMap<String, String>,
    dynamodb: Option<aws_sdk_dynamodb::Client>,
    clock: Option<Arc<dyn Clock>>,
) -> Result<shared::wiring::events::EventsWiring, StackError> {
    let env = env.clone();
    let wiring =
        shared::wiring::events::EventsWiring::new(Arc::new(move |k: &str| env.get(k).cloned()))
            .await?;
    let wiring = match dynamodb {
        Some(client) => wiring.with_dynamodb(client),
        None => wiring,
    };
    Ok(match clock {
        Some(c) => wiring.with_clock(c),
        None => wiring,
    })
}

/// What the outbound events need of the stack's options.
struct StackParts {
    table_name: String,
    receiver_addr: SocketAddr,
    clock: Option<Arc<dyn Clock>>,
}

/// The events of one stack: its queues and bus, the receiver, and the environment that points
/// the functions at them.
struct Outbound {
    events: LocalEvents,
    receiver: Option<SampleReceiver>,
    env: HashMap<String, String>,
}

impl Outbound {
    /// The queues, the bus and the receiver, the functions' environment pointed at them, and
    /// the pumps of notify and deliver.
    async fn run(
        events: &EventsOptions,
        env: &mut HashMap<String, String>,
        wiring: &Wirings,
        (admin, endpoint): (&aws_sdk_dynamodb::Client, &str),
        options: &StackParts,
    ) -> Result<(Self, Vec<tokio::task::JoinHandle<()>>), StackError> {
        let outbound = Self::start(events, &options.table_name, options.receiver_addr).await?;
        env.extend(outbound.env.clone());
        let pumps = outbound
            .pumps(
                env,
                wiring,
                admin,
                endpoint,
                &options.table_name,
                options.clock.clone(),
            )
            .await?;
        Ok((outbound, pumps))
    }

    async fn start(
        options: &EventsOptions,
        table: &str,
        receiver_addr: SocketAddr,
    ) -> Result<Self, StackError> {
        let schedule = match &options.retry_schedule {
            Some(raw) => shared::events::retry::RetrySchedule::parse(raw).map_err(|e| {
                shared::config::invalid("OUTBOUND_RETRY_SCHEDULE_SECONDS", &e.to_string())
            })?,
            None => shared::events::retry::RetrySchedule::default(),
        };
        let prefix: String = table
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .take(40)
            .collect();
        let events = LocalEvents::create(options, &prefix, &schedule).await?;
        let keys = options.signing_keys.as_deref().unwrap_or(LOCAL_SIGNING_KEY);
        let (receiver, url) = match &options.webhook_url {
            Some(url) => (None, url.clone()),
            None => {
                // The receiver checks with the first (current) key.
                let key = keys.split([' ', ',']).next().unwrap_or(keys);
                let r = SampleReceiver::start(receiver_addr, key).await?;
                let url = r.webhook_url();
                (Some(r), url)
            }
        };
        let env = events.function_env(options, &url);
        Ok(Self {
            events,
            receiver,
            env,
        })
    }

    /// notify on the table's stream and deliver on the queue, each from its own composition
    /// root.
    async fn pumps(
        &self,
        env: &HashMap<String, String>,
        wiring: &Wirings,
        admin: &aws_sdk_dynamodb::Client,
        endpoint: &str,
        table: &str,
        clock: Option<Arc<dyn Clock>>,
    ) -> Result<Vec<tokio::task::JoinHandle<()>>, StackError> {
        let notify = events_wiring(env, Some(wiring.notify_dynamodb()), clock.clone())
            .await?
            .notify()?;
        let deliver = events_wiring(env, None, clock).await?.deliver().await?;
        Ok(vec![
            crate::events::pump_stream(admin.clone(), endpoint, table.to_owned(), Arc::new(notify)),
            crate::events::pump_queue(
                self.events.sqs.clone(),
                self.events.queue_url.clone(),
                self.events.queue_arn.clone(),
                Arc::new(deliver),
            ),
        ])
    }
}
