//! The composition root: configuration → clients → adapters → the services of one function.
//!
//! Every `main.rs` is `Wiring::from_env().await?.<function>()` and the runtime loop. Each
//! function's services hold only the storage ports its IAM role allows ([`Port`], listed per
//! function below and checked against `template.yaml` by a test), so fetch-result's code cannot
//! call a create's writes even by mistake. Likewise each reads only the secrets of its
//! [`SecretUse`]s, the ones its policy lets it read (see [`crate::secrets`]).

use std::sync::Arc;

pub mod events;

use aws_smithy_runtime_api::client::http::SharedHttpClient;

use crate::clock::{Clock, SystemClock};
use crate::config::{AwsEnvironment, Config, ConfigError, Env};
use crate::net;
use crate::provider::{LiveAdapter, Plugin, Providers};
use crate::secrets::env::Lookup;
use crate::secrets::refresh::Apply;
use crate::secrets::{
    self, EnvSecrets, LoadedSecrets, RoutedSecrets, SecretError, SecretName, SecretSource,
    SecretUse, SecretValues, SecretsManagerSecrets, SecretsRefresh,
};
use crate::service::{
    CreateVerification, FetchVerification, IdempotencySecret, IngestWebhook, ReadKycData,
    Reconcile, ReconcileSettings, RedactVerification, RefreshVerification, ResubmitVerification,
};
use crate::store::dynamodb::DynamoDbStore;
use crate::store::Port;

/// Why a function could not start.
#[derive(thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Secrets(#[from] SecretError),
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
    secrets: SecretsRefresh,
}

/// create-verification: `POST /v1/verifications`, `PATCH /v1/verifications/{id}`,
/// `POST /v1/verifications/{id}/redact`.
pub struct CreateVerificationDeps {
    pub create: CreateVerification,
    pub resubmit: ResubmitVerification,
    pub redact: RedactVerification,
    /// Read first by the handler: secrets due for a refresh are read again.
    pub secrets: SecretsRefresh,
}

/// webhook-ingest: `POST /v1/webhooks/{provider}`.
pub struct WebhookIngestDeps {
    pub ingest: IngestWebhook,
    /// Read first by the handler: secrets due for a refresh are read again.
    pub secrets: SecretsRefresh,
}

/// fetch-result: `GET /v1/verifications/{id}` (`?refresh=true`), the customer's verification.
pub struct FetchResultDeps {
    pub fetch: FetchVerification,
    pub refresh: RefreshVerification,
    /// `?include=kyc_data`: the provider's identification data, read live, never stored.
    pub kyc_data: ReadKycData,
    /// Read first by the handler: secrets due for a refresh are read again.
    pub secrets: SecretsRefresh,
}

/// reconciler: the scheduled refresh of quiet open verifications.
pub struct ReconcilerDeps {
    pub reconcile: Reconcile,
    /// Read first by the handler: secrets due for a refresh are read again.
    pub secrets: SecretsRefresh,
}

impl CreateVerificationDeps {
    pub const PORTS: &'static [Port] = &[
        Port::CreateClaims,
        Port::IdempotencyKeys,
        Port::VerificationReader,
        Port::VerificationWriter,
        Port::Redactions,
    ];
    pub const SECRETS: &'static [SecretUse] = &[SecretUse::Idempotency, SecretUse::ProviderApi];
}

impl WebhookIngestDeps {
    pub const PORTS: &'static [Port] = &[Port::EventLog];
    /// The API credentials too: some webhooks are re-fetched from the provider.
    pub const SECRETS: &'static [SecretUse] = &[SecretUse::ProviderApi, SecretUse::ProviderWebhook];
}

impl FetchResultDeps {
    pub const PORTS: &'static [Port] = &[
        Port::VerificationReader,
        Port::CustomerReader,
        Port::VerificationWriter,
    ];
    pub const SECRETS: &'static [SecretUse] = &[SecretUse::ProviderApi];
}

impl ReconcilerDeps {
    pub const PORTS: &'static [Port] = &[
        Port::OpenVerifications,
        Port::VerificationReader,
        Port::VerificationWriter,
    ];
    pub const SECRETS: &'static [SecretUse] = &[SecretUse::ProviderApi];
}

impl Wiring {
    /// What every Lambda `main` does at init, for a function reading the secrets of `uses`:
    /// configuration from the environment (a missing variable stops the cold start, named), its
    /// secrets read (one Secrets Manager batch for those with an `X_ARN`) while, with
    /// `PREWARM_CONNECTIONS=true`, the DynamoDB connection is opened, then every client, once.
    pub async fn from_env(uses: &[SecretUse]) -> Result<Self, InitError> {
        let lookup: Lookup = Arc::new(|name: &str| std::env::var(name).ok());
        Self::from_lookup(lookup, uses, crate::provider::PLUGINS).await
    }

    /// [`Self::from_env`] on another environment and set of providers (tests).
    pub async fn from_lookup(
        lookup: Lookup,
        uses: &[SecretUse],
        plugins: &'static [Plugin],
    ) -> Result<Self, InitError> {
        let tls = net::tls_config()?;
        let init = Init::read(&*lookup, net::dynamodb_http_client(&tls)?).await?;
        let specs = Config::secret_specs(&*lookup, plugins)?;
        let (names, unused) = secrets::plan(&specs, uses);
        let source = init.secret_source(lookup.clone());
        let remote = source.from_manager(&names);
        let prewarm = async {
            if let Some(table) = &init.prewarm_table {
                DynamoDbStore::new(init.dynamodb.clone(), table.clone())
                    .prewarm()
                    .await;
            }
        };
        let (values, ()) = tokio::join!(source.load(&names), prewarm);
        let loaded = LoadedSecrets {
            values: values?,
            declared: specs.iter().map(|s| s.name).collect(),
            unused,
        };
        let config = Config::with_secrets(&*lookup, &loaded, plugins)?;
        let http = net::provider_http_client(&tls, config.provider_timeout)?;
        let wiring = Self::new(&config, init.dynamodb, http.clone());
        if remote.is_empty() {
            return Ok(wiring);
        }
        let refresh = Refresh {
            lookup,
            plugins,
            loaded,
            http,
        };
        Ok(refresh.wire(wiring, source.shared(), remote))
    }

    /// The production adapters on these clients: the DynamoDB store and every enabled provider.
    pub fn new(config: &Config, dynamodb: aws_sdk_dynamodb::Client, http: reqwest::Client) -> Self {
        Self {
            config: config.clone(),
            store: Arc::new(
                DynamoDbStore::new(dynamodb, config.table_name.clone())
                    .with_personal_retention(config.personal_retention_days),
            ),
            providers: Providers::build(&config.providers, &http),
            clock: Arc::new(SystemClock),
            secrets: SecretsRefresh::none(),
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

    /// # Panics
    /// When the wiring was built for a function that does not use the idempotency key (a
    /// programming error: [`CreateVerificationDeps::SECRETS`] names it).
    fn secret(&self) -> IdempotencySecret {
        IdempotencySecret::new(
            self.config
                .idempotency_secret
                .clone()
                .expect("a wiring for create-verification reads IDEMPOTENCY_SECRET"),
        )
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
            redact: RedactVerification {
                store: self.store.clone(),
                providers: self.providers.clone(),
                clock: self.clock.clone(),
                budget: self.config.provider_budget,
            },
            secrets: self.secrets.clone(),
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
            secrets: self.secrets.clone(),
        }
    }

    pub fn fetch_result(&self) -> FetchResultDeps {
        FetchResultDeps {
            fetch: FetchVerification::new(self.store.clone()),
            refresh: self.refresh(),
            kyc_data: ReadKycData::new(
                self.store.clone(),
                self.providers.clone(),
                self.refresh(),
                self.config.provider_budget,
            ),
            secrets: self.secrets.clone(),
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
            secrets: self.secrets.clone(),
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
    dynamodb_builder(
        &aws_sdk_config(&config.aws, http).await,
        config.dynamodb_endpoint.as_deref(),
    )
}

pub(crate) fn dynamodb_builder(
    sdk: &aws_config::SdkConfig,
    endpoint: Option<&str>,
) -> aws_sdk_dynamodb::config::Builder {
    let builder = aws_sdk_dynamodb::config::Builder::from(sdk);
    match endpoint {
        Some(endpoint) => builder.endpoint_url(endpoint),
        None => builder,
    }
}

/// What every AWS client shares: region, credentials, the transport and its connect timeout.
pub(crate) async fn aws_sdk_config(
    aws: &AwsEnvironment,
    http: SharedHttpClient,
) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http)
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(net::DYNAMODB_CONNECT_TIMEOUT)
                .build(),
        );
    if let Some(region) = &aws.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    if let Some(c) = &aws.credentials {
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
    loader.load().await
}

/// What init needs before the secrets are read: the AWS clients' configuration and DynamoDB.
struct Init {
    sdk: aws_config::SdkConfig,
    dynamodb: aws_sdk_dynamodb::Client,
    /// The table to pre-warm, with `PREWARM_CONNECTIONS=true`.
    prewarm_table: Option<String>,
    /// `AWS_ENDPOINT_URL_SECRETS_MANAGER` (a local Secrets Manager); unset on AWS.
    secrets_endpoint: Option<String>,
}

impl Init {
    async fn read(
        lookup: &dyn Fn(&str) -> Option<String>,
        http: SharedHttpClient,
    ) -> Result<Self, ConfigError> {
        let env = Env::new(lookup);
        let table = env.required("TABLE_NAME")?;
        let sdk = aws_sdk_config(&AwsEnvironment::from_env(&env), http).await;
        let endpoint = env.optional("DYNAMODB_ENDPOINT");
        Ok(Self {
            dynamodb: aws_sdk_dynamodb::Client::from_conf(
                dynamodb_builder(&sdk, endpoint.as_deref()).build(),
            ),
            prewarm_table: env.flag("PREWARM_CONNECTIONS")?.then_some(table),
            secrets_endpoint: env.optional("AWS_ENDPOINT_URL_SECRETS_MANAGER"),
            sdk,
        })
    }

    /// The environment, and Secrets Manager for the secrets with an `X_ARN`.
    fn secret_source(&self, lookup: Lookup) -> RoutedSecrets {
        let ids = SecretsManagerSecrets::ids_from_env(&*lookup, &all_secret_names());
        let manager = (!ids.is_empty()).then(|| {
            let mut builder = aws_sdk_secretsmanager::config::Builder::from(&self.sdk);
            if let Some(endpoint) = &self.secrets_endpoint {
                builder = builder.endpoint_url(endpoint);
            }
            SecretsManagerSecrets::new(
                aws_sdk_secretsmanager::Client::from_conf(builder.build()),
                ids,
            )
        });
        RoutedSecrets {
            env: EnvSecrets::new(lookup),
            manager,
        }
    }
}

/// Every secret name any plugin or the general configuration declares.
fn all_secret_names() -> Vec<SecretName> {
    std::iter::once(secrets::IDEMPOTENCY_SECRET)
        .chain(
            crate::provider::PLUGINS
                .iter()
                .flat_map(|p| p.secrets.iter().copied()),
        )
        .map(|s| s.name)
        .collect()
}

/// How refreshed secrets reach the provider adapters: the configuration is read again with them
/// and each provider's adapter rebuilt and swapped in. The idempotency key is not refreshed: a
/// new key would change the fingerprints of requests already stored under the old one.
struct Refresh {
    lookup: Lookup,
    plugins: &'static [Plugin],
    /// The values read at init (those from the environment never change).
    loaded: LoadedSecrets,
    http: reqwest::Client,
}

impl Refresh {
    fn wire(
        self,
        mut wiring: Wiring,
        source: Arc<dyn SecretSource>,
        names: Vec<SecretName>,
    ) -> Wiring {
        let (providers, live) = Providers::build_live(&wiring.config.providers, &self.http);
        wiring.providers = providers;
        let values: SecretValues = names
            .iter()
            .filter_map(|n| Some((*n, self.loaded.values.get(n)?.clone())))
            .collect();
        let ttl = wiring.config.secrets_ttl;
        let apply: Apply = Box::new(move |fresh| self.apply(fresh, &live));
        wiring.secrets = SecretsRefresh::new(source, names, ttl, values, apply);
        wiring
    }

    fn apply(&self, fresh: &SecretValues, live: &[Arc<LiveAdapter>]) -> Result<(), ConfigError> {
        let mut loaded = self.loaded.clone();
        loaded
            .values
            .extend(fresh.iter().map(|(k, v)| (*k, v.clone())));
        let config = Config::with_secrets(&*self.lookup, &loaded, self.plugins)?;
        for settings in &config.providers {
            if let Some(adapter) = live
                .iter()
                .find(|a| crate::provider::KycProvider::name(a.as_ref()) == settings.name())
            {
                adapter.replace(settings.adapter(&self.http));
            }
        }
        Ok(())
    }
}
