//! The services the handlers call: one call per request, rules in the domain, I/O through ports.

mod create;
mod fetch;
mod refresh;
mod resubmit;
mod view;
mod webhook;

use std::sync::Arc;
use std::time::Duration;

use aws_smithy_runtime_api::client::http::SharedHttpClient;
use chrono::{DateTime, Utc};

pub use fetch::CustomerView;
pub use refresh::ReconcileReport;
pub use view::verification_json;
pub use webhook::WebhookAck;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::domain::ProviderName;
use crate::net;
use crate::provider::bond::BondAdapter;
use crate::provider::ondato::OndatoAdapter;
use crate::provider::Providers;
use crate::store::dynamodb::DynamoDbStore;
use crate::store::VerificationStore;

/// Per-request facts the services need from the edge.
#[derive(Debug, Clone)]
pub struct RequestCtx {
    pub request_id: String,
    /// When the invocation will be killed (Lambda deadline); bounds locks and claims.
    pub deadline: Option<DateTime<Utc>>,
}

/// A response as the services produce it: the exact bytes, so a replay is byte-identical.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    /// Sent again from the idempotency record (`Idempotent-Replayed: true`).
    pub replayed: bool,
}

/// Tunables of the services.
#[derive(Clone)]
pub struct Settings {
    pub default_provider: ProviderName,
    /// Keys the fingerprints of idempotent requests.
    pub idempotency_secret: IdempotencySecret,
    pub webhook_grace: Duration,
    pub event_retention: Duration,
    pub reconcile_quiet: Duration,
    pub reconcile_batch: usize,
}

/// The deployment secret behind request fingerprints; never printed.
#[derive(Clone)]
pub struct IdempotencySecret(secrecy::SecretString);

impl IdempotencySecret {
    pub fn new(secret: secrecy::SecretString) -> Self {
        Self(secret)
    }

    pub fn as_bytes(&self) -> &[u8] {
        use secrecy::ExposeSecret;
        self.0.expose_secret().as_bytes()
    }
}

impl std::fmt::Debug for IdempotencySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdempotencySecret(..)")
    }
}

/// Everything a handler needs, built once at init and shared by every invocation.
#[derive(Clone)]
pub struct App {
    pub store: Arc<dyn VerificationStore>,
    pub providers: Providers,
    pub clock: Arc<dyn Clock>,
    pub settings: Settings,
}

/// Why a function could not start.
#[derive(thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
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

impl App {
    /// What every Lambda `main` does at init: configuration from the environment (a missing
    /// variable stops the cold start, named), then every client, once, and
    /// (with `PREWARM_CONNECTIONS=true`) the DynamoDB connection opened.
    pub async fn from_env() -> Result<Self, InitError> {
        let config = Config::from_env()?;
        let clients = Clients::from_config(&config).await?;
        let app = Self::from_config(
            &config,
            aws_sdk_dynamodb::Client::from_conf(clients.dynamodb.build()),
            clients.http,
        );
        if config.prewarm_connections {
            app.store.prewarm().await;
        }
        Ok(app)
    }

    /// The production wiring: DynamoDB store and the configured provider adapters.
    pub fn from_config(
        config: &Config,
        dynamodb: aws_sdk_dynamodb::Client,
        http: reqwest::Client,
    ) -> Self {
        let mut providers = Providers::default();
        if let Some(ondato) = &config.ondato {
            providers = providers.with(Arc::new(OndatoAdapter::new(ondato.clone(), http.clone())));
        }
        if let Some(bond) = &config.bond {
            providers = providers.with(Arc::new(BondAdapter::new(bond.clone(), http)));
        }
        Self {
            store: Arc::new(DynamoDbStore::new(dynamodb, config.table_name.clone())),
            providers,
            clock: Arc::new(SystemClock),
            settings: Settings {
                default_provider: config.default_provider,
                idempotency_secret: IdempotencySecret::new(config.idempotency_secret.clone()),
                webhook_grace: config.webhook_grace,
                event_retention: config.event_retention,
                reconcile_quiet: config.reconcile_quiet,
                reconcile_batch: config.reconcile_batch,
            },
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
