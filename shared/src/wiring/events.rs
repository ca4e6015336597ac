//! The composition root of the outbound-event functions: notify (stream → feed, queue, bus),
//! deliver (queue → the business's endpoint) and list-events (`GET /v1/events`). Each builds
//! only its own clients: notify DynamoDB, SQS and, when a bus is named, EventBridge; deliver SQS,
//! HTTPS and its signing keys (from Secrets Manager with `OUTBOUND_WEBHOOK_SECRETS_ARN`, read
//! again after `SECRETS_TTL_SECONDS`, so a rotation reaches warm functions); list-events
//! DynamoDB.
//!
//! Settings: `TABLE_NAME`, `DELIVERY_QUEUE_URL` (optional for notify: no webhook endpoint, no
//! queue), `EVENT_BUS_NAME` (optional),
//! `EVENT_FEED_RETENTION_DAYS` (30), `OUTBOUND_WEBHOOK_URL`, `OUTBOUND_WEBHOOK_SECRETS`
//! (`whsec_…`, two space- or comma-separated while rotating),
//! `OUTBOUND_WEBHOOK_TIMEOUT_SECONDS` (15), `OUTBOUND_RETRY_SCHEDULE_SECONDS` (the default
//! schedule of [`crate::events::retry`]); local endpoints `DYNAMODB_ENDPOINT`,
//! `AWS_ENDPOINT_URL_SQS`, `AWS_ENDPOINT_URL_EVENTBRIDGE`, `AWS_ENDPOINT_URL_SECRETS_MANAGER`.

use std::sync::Arc;

use super::{aws_sdk_config, dynamodb_builder, InitError};
use crate::clock::{Clock, SystemClock};
use crate::config::{invalid, AwsEnvironment, ConfigError, Env};
use crate::events::retry::RetrySchedule;
use crate::events::signature::{KeyRing, SigningKeys};
use crate::net;
use crate::outbound::endpoint::{EndpointUrl, HttpEndpoint};
use crate::outbound::eventbridge::EventBridgeBus;
use crate::outbound::sqs::SqsDeliveryQueue;
use crate::secrets::env::Lookup;
use crate::secrets::refresh::Apply;
use crate::secrets::{
    EnvSecrets, RoutedSecrets, SecretName, SecretSource, SecretsManagerSecrets, SecretsRefresh,
};
use crate::service::{Deliver, ListEvents, Notify};
use crate::store::dynamodb::DynamoDbStore;
use crate::store::Port;

/// The signing keys of outbound webhooks.
pub const OUTBOUND_WEBHOOK_SECRETS: SecretName = SecretName::new("OUTBOUND_WEBHOOK_SECRETS");

/// notify: the table's stream → the feed, the delivery queue and the bus.
pub struct NotifyDeps {
    pub notify: Notify,
}

/// deliver: the delivery queue → the business's endpoint.
pub struct DeliverDeps {
    pub deliver: Deliver,
    /// Read first by the handler: keys due for a refresh are read again.
    pub secrets: SecretsRefresh,
}

/// list-events: `GET /v1/events`.
pub struct ListEventsDeps {
    pub list: ListEvents,
}

impl NotifyDeps {
    pub const PORTS: &'static [Port] = &[Port::EventFeedWriter];
}

impl ListEventsDeps {
    pub const PORTS: &'static [Port] = &[Port::EventFeedReader];
}

/// What the three functions are built from.
pub struct EventsWiring {
    lookup: Lookup,
    /// The one TLS configuration every client of the function is built on.
    tls: Arc<rustls::ClientConfig>,
    sdk: aws_config::SdkConfig,
    /// Set instead of one built from the SDK configuration (the local stack's, which enforces
    /// the function's IAM policy).
    dynamodb: Option<aws_sdk_dynamodb::Client>,
    clock: Arc<dyn Clock>,
}

impl EventsWiring {
    pub async fn new(lookup: Lookup) -> Result<Self, InitError> {
        let env = Env::new(&*lookup);
        let tls = net::tls_config()?;
        let sdk = aws_sdk_config(
            &AwsEnvironment::from_env(&env),
            net::dynamodb_http_client(&tls)?,
        )
        .await;
        Ok(Self {
            lookup,
            tls,
            sdk,
            dynamodb: None,
            clock: Arc::new(SystemClock),
        })
    }

    fn env(&self) -> Env<'_> {
        Env::new(&*self.lookup)
    }

    /// The same wiring on this DynamoDB client.
    pub fn with_dynamodb(mut self, client: aws_sdk_dynamodb::Client) -> Self {
        self.dynamodb = Some(client);
        self
    }

    /// The same wiring on another clock (tests move time).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    fn store(&self) -> Result<Arc<DynamoDbStore>, ConfigError> {
        let client = self.dynamodb.clone().unwrap_or_else(|| {
            aws_sdk_dynamodb::Client::from_conf(
                dynamodb_builder(
                    &self.sdk,
                    self.env().optional("DYNAMODB_ENDPOINT").as_deref(),
                )
                .build(),
            )
        });
        Ok(Arc::new(DynamoDbStore::new(
            client,
            self.env().required("TABLE_NAME")?,
        )))
    }

    fn queue(&self) -> Result<Arc<SqsDeliveryQueue>, ConfigError> {
        let mut builder = aws_sdk_sqs::config::Builder::from(&self.sdk);
        if let Some(endpoint) = self.env().optional("AWS_ENDPOINT_URL_SQS") {
            builder = builder.endpoint_url(endpoint);
        }
        Ok(Arc::new(SqsDeliveryQueue::new(
            aws_sdk_sqs::Client::from_conf(builder.build()),
            self.env().required("DELIVERY_QUEUE_URL")?,
        )))
    }

    fn bus(&self) -> Option<Arc<EventBridgeBus>> {
        let name = self.env().optional("EVENT_BUS_NAME")?;
        let mut builder = aws_sdk_eventbridge::config::Builder::from(&self.sdk);
        if let Some(endpoint) = self.env().optional("AWS_ENDPOINT_URL_EVENTBRIDGE") {
            builder = builder.endpoint_url(endpoint);
        }
        Some(Arc::new(EventBridgeBus::new(
            aws_sdk_eventbridge::Client::from_conf(builder.build()),
            name,
        )))
    }

    pub fn notify(&self) -> Result<NotifyDeps, InitError> {
        let days: i64 = self.env().number(
            "EVENT_FEED_RETENTION_DAYS",
            30,
            "must be a whole number of days",
        )?;
        if days < 30 {
            return Err(invalid("EVENT_FEED_RETENTION_DAYS", "must be at least 30").into());
        }
        Ok(NotifyDeps {
            notify: Notify {
                feed: self.store()?,
                queue: self
                    .env()
                    .optional("DELIVERY_QUEUE_URL")
                    .map(|_| self.queue())
                    .transpose()?
                    .map(|q| q as _),
                bus: self.bus().map(|b| b as _),
                clock: self.clock.clone(),
                feed_retention: chrono::Duration::days(days),
            },
        })
    }

    pub fn list_events(&self) -> Result<ListEventsDeps, InitError> {
        Ok(ListEventsDeps {
            list: ListEvents {
                feed: self.store()?,
                clock: self.clock.clone(),
            },
        })
    }

    /// deliver, with its signing keys read (one Secrets Manager call with an `_ARN`).
    pub async fn deliver(&self) -> Result<DeliverDeps, InitError> {
        let url = EndpointUrl::parse(&self.env().required("OUTBOUND_WEBHOOK_URL")?)
            .map_err(|e| invalid("OUTBOUND_WEBHOOK_URL", &e.to_string()))?;
        let timeout = self.env().seconds("OUTBOUND_WEBHOOK_TIMEOUT_SECONDS", 15)?;
        let schedule = match self.env().optional("OUTBOUND_RETRY_SCHEDULE_SECONDS") {
            Some(raw) => RetrySchedule::parse(&raw)
                .map_err(|e| invalid("OUTBOUND_RETRY_SCHEDULE_SECONDS", &e.to_string()))?,
            None => RetrySchedule::default(),
        };
        let (keys, secrets) = self.signing_keys().await?;
        Ok(DeliverDeps {
            deliver: Deliver {
                endpoint: Arc::new(HttpEndpoint::new(
                    net::provider_http_client(&self.tls, timeout)?,
                    url,
                )),
                retry: self.queue()?,
                keys,
                schedule,
                clock: self.clock.clone(),
            },
            secrets,
        })
    }

    async fn signing_keys(&self) -> Result<(Arc<KeyRing>, SecretsRefresh), InitError> {
        let names = [OUTBOUND_WEBHOOK_SECRETS];
        let ids = SecretsManagerSecrets::ids_from_env(&*self.lookup, &names);
        let manager = (!ids.is_empty()).then(|| {
            let mut builder = aws_sdk_secretsmanager::config::Builder::from(&self.sdk);
            if let Some(endpoint) = self.env().optional("AWS_ENDPOINT_URL_SECRETS_MANAGER") {
                builder = builder.endpoint_url(endpoint);
            }
            SecretsManagerSecrets::new(
                aws_sdk_secretsmanager::Client::from_conf(builder.build()),
                ids,
            )
        });
        let source = RoutedSecrets {
            env: EnvSecrets::new(self.lookup.clone()),
            manager,
        };
        let remote = source.from_manager(&names);
        let values = source.load(&names).await?;
        let parse = |values: &crate::secrets::SecretValues| {
            let raw = values
                .get(&OUTBOUND_WEBHOOK_SECRETS)
                .ok_or_else(|| ConfigError::Missing(OUTBOUND_WEBHOOK_SECRETS.to_string()))?;
            SigningKeys::parse(raw)
                .map_err(|e| invalid(OUTBOUND_WEBHOOK_SECRETS.as_str(), &e.to_string()))
        };
        let keys = Arc::new(KeyRing::new(parse(&values)?));
        if remote.is_empty() {
            return Ok((keys, SecretsRefresh::none()));
        }
        let live = keys.clone();
        let apply: Apply = Box::new(move |fresh| {
            live.replace(parse(fresh)?);
            Ok(())
        });
        let ttl = self.env().seconds("SECRETS_TTL_SECONDS", 300)?;
        let refresh = SecretsRefresh::new(source.shared(), remote, ttl, values, apply);
        Ok((keys, refresh))
    }
}
