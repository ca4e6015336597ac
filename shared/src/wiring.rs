//! The composition root: configuration → clients → adapters → the services of one function.
//!
//! Every `main.rs` is `Wiring::from_env().await?.<function>()` and the runtime loop. Each
//! function's services hold only the storage ports its IAM role allows ([`Port`], listed per
//! function below and checked against `template.yaml` by a test), so fetch-result's code cannot
//! call a create's writes even by mistake.

use std::sync::Arc;

use aws_smithy_runtime_api::client::http::SharedHttpClient;

use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ConfigError};
use crate::net;
use crate::provider::Providers;
use crate::service::{
    CreateVerification, FetchVerification, IdempotencySecret, IngestWebhook, Reconcile,
    ReconcileSettings, RefreshVerification, ResubmitVerification,
};
use crate::store::dynamodb::DynamoDbStore;
use crate::store::Port;

/// Why a function could not start.
#[derive(thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("could not build the TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    #[error("could not build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

/// `main` prints its error with `Debug`: make that the readable message.
impl std::fmt::Debug for InitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// Everything built once at init, from which each function takes its services.
#[derive(Clone)]
pub struct Wiring {
    config: Config,
    store: Arc<DynamoDbStore>,
    providers: Providers,
    clock: Arc<dyn Clock>,
}

/// create-verification: `POST /v1/verifications`, `PATCH /v1/verifications/{id}`.
pub struct CreateVerificationDeps {
    pub create: CreateVerification,
    pub resubmit: ResubmitVerification,
}

/// webhook-ingest: `POST /v1/webhooks/{provider}`.
pub struct WebhookIngestDeps {
    pub ingest: IngestWebhook,
}

/// fetch-result: `GET /v1/verifications/{id}` (`?refresh=true`), the customer's verification.
pub struct FetchResultDeps {
    pub fetch: FetchVerification,
    pub refresh: RefreshVerification,
}

/// reconciler: the scheduled refresh of quiet open verifications.
pub struct ReconcilerDeps {
    pub reconcile: Reconcile,
}

impl CreateVerificationDeps {
    pub const PORTS: &'static [Port] = &[
        Port::CreateClaims,
        Port::IdempotencyKeys,
        Port::VerificationReader,
        Port::VerificationWriter,
    ];
}

impl WebhookIngestDeps {
    pub const PORTS: &'static [Port] = &[Port::EventLog];
}

impl FetchResultDeps {
    pub const PORTS: &'static [Port] = &[
        Port::VerificationReader,
        Port::CustomerReader,
        Port::VerificationWriter,
    ];
}

impl ReconcilerDeps {
    pub const PORTS: &'static [Port] = &[
        Port::OpenVerifications,
        Port::VerificationReader,
        Port::VerificationWriter,
    ];
}

impl Wiring {
    /// What every Lambda `main` does at init: configuration from the environment (a missing
    /// variable stops the cold start, named), then every client, once, and (with
    /// `PREWARM_CONNECTIONS=true`) the DynamoDB connection opened.
    pub async fn from_env() -> Result<Self, InitError> {
        let config = Config::from_env()?;
        let clients = Clients::from_config(&config).await?;
        let wiring = Self::new(
            &config,
            aws_sdk_dynamodb::Client::from_conf(clients.dynamodb.build()),
            clients.http,
        );
        if config.prewarm_connections {
            wiring.store.prewarm().await;
        }
        Ok(wiring)
    }

    /// The production adapters on these clients: the DynamoDB store and every enabled provider.
    pub fn new(config: &Config, dynamodb: aws_sdk_dynamodb::Client, http: reqwest::Client) -> Self {
        Self {
            config: config.clone(),
            store: Arc::new(DynamoDbStore::new(dynamodb, config.table_name.clone())),
            providers: Providers::build(&config.providers, &http),
            clock: Arc::new(SystemClock),
        }
    }

    /// The same wiring on another clock (tests move time).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn store(&self) -> &DynamoDbStore {
        &self.store
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    fn secret(&self) -> IdempotencySecret {
        IdempotencySecret::new(self.config.idempotency_secret.clone())
    }

    fn refresh(&self) -> RefreshVerification {
        RefreshVerification::new(
            self.store.clone(),
            self.providers.clone(),
            self.clock.clone(),
        )
        .with_budget(self.config.provider_budget)
    }

    pub fn create_verification(&self) -> CreateVerificationDeps {
        CreateVerificationDeps {
            create: CreateVerification {
                store: self.store.clone(),
                providers: self.providers.clone(),
                clock: self.clock.clone(),
                default_provider: self.config.default_provider.clone(),
                secret: self.secret(),
                budget: self.config.provider_budget,
            },
            resubmit: ResubmitVerification {
                store: self.store.clone(),
                providers: self.providers.clone(),
                clock: self.clock.clone(),
                secret: self.secret(),
                budget: self.config.provider_budget,
            },
        }
    }

    pub fn webhook_ingest(&self) -> WebhookIngestDeps {
        WebhookIngestDeps {
            ingest: IngestWebhook::new(
                self.store.clone(),
                self.providers.clone(),
                self.clock.clone(),
                self.config.webhook_grace,
                self.config.webhook_max_clock_skew,
                self.config.event_retention,
            )
            .with_budget(self.config.provider_budget),
        }
    }

    pub fn fetch_result(&self) -> FetchResultDeps {
        FetchResultDeps {
            fetch: FetchVerification::new(self.store.clone()),
            refresh: self.refresh(),
        }
    }

    pub fn reconciler(&self) -> ReconcilerDeps {
        ReconcilerDeps {
            reconcile: Reconcile::new(
                self.store.clone(),
                self.refresh(),
                self.clock.clone(),
                ReconcileSettings {
                    quiet: self.config.reconcile_quiet,
                    batch: self.config.reconcile_batch,
                    concurrency: self.config.reconcile_concurrency,
                    margin: self.config.reconcile_margin,
                },
            ),
        }
    }
}

/// The clients a function needs, on one TLS configuration: the DynamoDB configuration (to which
/// a caller may still add interceptors) and the provider HTTP client.
pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::config::Builder,
    pub http: reqwest::Client,
}

impl Clients {
    pub async fn from_config(config: &Config) -> Result<Self, InitError> {
        let tls = net::tls_config()?;
        Ok(Self {
            dynamodb: dynamodb_config(config, net::dynamodb_http_client(&tls)?).await,
            http: net::provider_http_client(&tls, config.provider_timeout)?,
        })
    }
}

/// The DynamoDB client configuration: region and credentials as Lambda sets them (see
/// [`crate::config::AwsEnvironment`]; the SDK's chains where they are absent), endpoint
/// overridable for DynamoDB Local, transport from [`crate::net`].
pub async fn dynamodb_config(
    config: &Config,
    http: SharedHttpClient,
) -> aws_sdk_dynamodb::config::Builder {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http)
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(net::DYNAMODB_CONNECT_TIMEOUT)
                .build(),
        );
    if let Some(region) = &config.aws.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    if let Some(c) = &config.aws.credentials {
        use secrecy::ExposeSecret;
        loader = loader.credentials_provider(aws_credential_types::Credentials::new(
            c.access_key_id.clone(),
            c.secret_access_key.expose_secret().to_owned(),
            c.session_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned()),
            None,
            "Environment",
        ));
    }
    let mut builder = aws_sdk_dynamodb::config::Builder::from(&loader.load().await);
    if let Some(endpoint) = &config.dynamodb_endpoint {
        builder = builder.endpoint_url(endpoint);
    }
    builder
}
