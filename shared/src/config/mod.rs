//! Typed configuration from the environment, read once at init. A missing or invalid variable
//! fails the cold start with a message that names it. Secrets are [`SecretString`]s.
//!
//! The general settings live here; each provider reads its own variables in its folder
//! (`crate::provider::<name>::config`) through the same [`Env`] reader, called by the registry.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

pub mod env;

pub use env::{invalid, ConfigError, Env};

use crate::domain::ProviderName;
use crate::provider::{self, ProviderSettings};
use crate::secrets::{LoadedSecrets, SecretSpec, IDEMPOTENCY_SECRET};

#[derive(Clone)]
pub struct Config {
    pub table_name: String,
    /// Override for DynamoDB's endpoint (DynamoDB Local); unset on AWS.
    pub dynamodb_endpoint: Option<String>,
    /// The region and credentials Lambda puts in the environment, when it does.
    pub aws: AwsEnvironment,
    /// Open the DynamoDB connection during init (`PREWARM_CONNECTIONS=true`), so the first
    /// request does not pay for TCP, TLS and credentials.
    pub prewarm_connections: bool,
    /// The enabled providers' settings, in the order `PROVIDERS` names them.
    pub providers: Vec<Arc<dyn ProviderSettings>>,
    pub default_provider: ProviderName,
    /// Keys request fingerprints of idempotent requests (at least 32 characters); only read
    /// where it is used (create-verification; everywhere from the environment).
    pub idempotency_secret: Option<SecretString>,
    /// Secrets read from Secrets Manager are read again after this long
    /// (`SECRETS_TTL_SECONDS`, default 300).
    pub secrets_ttl: Duration,
    /// Timeout of one call to a provider.
    pub provider_timeout: Duration,
    /// How long all provider calls of one request may take together (`PROVIDER_BUDGET_MS`).
    pub provider_budget: Duration,
    /// How long a webhook for an unknown verification is answered 5xx (so it is retried).
    pub webhook_grace: Duration,
    /// How far in the future an unsigned event time may lie before the receive time is used.
    pub webhook_max_clock_skew: Duration,
    /// How long processed webhook events are kept for deduplication and audit.
    pub event_retention: Duration,
    /// Days the personal fields of an ended verification are kept (`PERSONAL_DATA_RETENTION_DAYS`,
    /// 1 to 3650, default 90); the decision record has no TTL.
    pub personal_retention_days: u32,
    /// The reconciler refreshes open verifications quiet for longer than this.
    pub reconcile_quiet: Duration,
    /// At most this many verifications per reconciler run.
    pub reconcile_batch: usize,
    /// At most this many refreshes at once in a reconciler run.
    pub reconcile_concurrency: usize,
    /// A reconciler run takes no new verification closer than this to its Lambda deadline.
    pub reconcile_margin: Duration,
}

/// `AWS_REGION` and the execution role's credentials (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), as Lambda sets them. Taken from here, the SDK
/// builds no provider chain at init (no profile files, no STS client, no metadata service). A
/// Lambda process's environment never changes, so reading them once equals reading them per call.
/// Where they are absent the SDK's default chains apply.
#[derive(Clone, Default)]
pub struct AwsEnvironment {
    pub region: Option<String>,
    pub credentials: Option<AwsCredentials>,
}

#[derive(Clone)]
pub struct AwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    pub session_token: Option<SecretString>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let providers: Vec<String> = self
            .providers
            .iter()
            .map(|p| p.name().to_string())
            .collect();
        f.debug_struct("Config")
            .field("table_name", &self.table_name)
            .field("providers", &providers)
            .finish_non_exhaustive()
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::with_plugins(lookup, provider::PLUGINS)
    }

    /// The configuration with these providers known (the registry's, or a test's own), secrets
    /// included, from `lookup`.
    pub fn with_plugins(
        lookup: impl Fn(&str) -> Option<String>,
        plugins: &[provider::Plugin],
    ) -> Result<Self, ConfigError> {
        Self::parse(&Env::new(&lookup), plugins)
    }

    /// The configuration with the secrets a function's source loaded (see [`crate::secrets`]).
    pub fn with_secrets(
        lookup: impl Fn(&str) -> Option<String>,
        secrets: &LoadedSecrets,
        plugins: &[provider::Plugin],
    ) -> Result<Self, ConfigError> {
        Self::parse(&Env::with_secrets(&lookup, secrets), plugins)
    }

    /// Every secret the configuration may read: the idempotency key and the enabled providers'.
    pub fn secret_specs(
        lookup: impl Fn(&str) -> Option<String>,
        plugins: &[provider::Plugin],
    ) -> Result<Vec<SecretSpec>, ConfigError> {
        let enabled = provider::enabled(&Env::new(&lookup), plugins)?;
        Ok(std::iter::once(IDEMPOTENCY_SECRET)
            .chain(enabled.iter().flat_map(|p| p.secrets.iter().copied()))
            .collect())
    }

    fn parse(env: &Env<'_>, plugins: &[provider::Plugin]) -> Result<Self, ConfigError> {
        let idempotency_secret = env.secret_if_used(IDEMPOTENCY_SECRET.name.as_str())?;
        if idempotency_secret
            .as_ref()
            .is_some_and(|s| secrecy::ExposeSecret::expose_secret(s).len() < 32)
        {
            return Err(invalid(
                "IDEMPOTENCY_SECRET",
                "must be at least 32 characters",
            ));
        }
        let providers = provider::configure(env, plugins)?;
        let default_provider = match env.optional("DEFAULT_PROVIDER") {
            None => providers[0].name(),
            Some(raw) => ProviderName::parse(&raw)
                .ok()
                .filter(|p| providers.iter().any(|s| s.name() == *p))
                .ok_or_else(|| invalid("DEFAULT_PROVIDER", "must be one of PROVIDERS"))?,
        };
        Ok(Self {
            table_name: env.required("TABLE_NAME")?,
            dynamodb_endpoint: env.optional("DYNAMODB_ENDPOINT"),
            prewarm_connections: env.flag("PREWARM_CONNECTIONS")?,
            aws: AwsEnvironment::from_env(env),
            providers,
            default_provider,
            idempotency_secret,
            secrets_ttl: env.seconds("SECRETS_TTL_SECONDS", 300)?,
            provider_timeout: env.millis("PROVIDER_TIMEOUT_MS", 10_000)?,
            provider_budget: env.millis("PROVIDER_BUDGET_MS", 20_000)?,
            webhook_grace: env.seconds("WEBHOOK_GRACE_SECONDS", 3600)?,
            webhook_max_clock_skew: env.seconds("WEBHOOK_MAX_CLOCK_SKEW_SECONDS", 300)?,
            event_retention: env.seconds("EVENT_RETENTION_SECONDS", 7 * 24 * 3600)?,
            personal_retention_days: Some(env.number(
                "PERSONAL_DATA_RETENTION_DAYS",
                90u32,
                "must be a whole number of days from 1 to 3650",
            )?)
            .filter(|d| (1..=3650).contains(d))
            .ok_or_else(|| {
                invalid(
                    "PERSONAL_DATA_RETENTION_DAYS",
                    "must be a whole number of days from 1 to 3650",
                )
            })?,
            reconcile_quiet: env.seconds("RECONCILE_QUIET_SECONDS", 900)?,
            reconcile_batch: env.number("RECONCILE_BATCH", 200, "must be a whole number")?,
            reconcile_concurrency: env.number(
                "RECONCILE_CONCURRENCY",
                8,
                "must be a whole number",
            )?,
            reconcile_margin: env.seconds("RECONCILE_MARGIN_SECONDS", 30)?,
        })
    }
}

impl AwsEnvironment {
    pub fn from_env(env: &Env<'_>) -> Self {
        let credentials = match (
            env.optional("AWS_ACCESS_KEY_ID"),
            env.optional("AWS_SECRET_ACCESS_KEY"),
        ) {
            (Some(access_key_id), Some(secret)) => Some(AwsCredentials {
                access_key_id,
                secret_access_key: SecretString::from(secret),
                session_token: env.optional("AWS_SESSION_TOKEN").map(SecretString::from),
            }),
            _ => None,
        };
        Self {
            region: env.optional("AWS_REGION"),
            credentials,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::provider::test_plugin::{plugin, FIRST, SECOND};

    fn full() -> HashMap<&'static str, &'static str> {
        HashMap::from([
            ("TABLE_NAME", "kyc"),
            ("IDEMPOTENCY_SECRET", "0123456789abcdef0123456789abcdef"),
            ("FIRST_KEY", "first-secret-key"),
            ("FIRST_HOOKS", "first-webhook-secret"),
        ])
    }

    fn load(env: &HashMap<&str, &str>) -> Result<Config, ConfigError> {
        Config::with_plugins(
            |k| env.get(k).map(|v| v.to_string()),
            &[plugin(FIRST), plugin(SECOND)],
        )
    }

    fn names(c: &Config) -> Vec<String> {
        c.providers.iter().map(|p| p.name().to_string()).collect()
    }

    #[test]
    fn a_complete_environment_loads_with_production_defaults() {
        let c = load(&full()).unwrap();
        assert_eq!(names(&c), [FIRST]);
        assert_eq!(c.default_provider.as_str(), FIRST);
        assert_eq!(c.webhook_grace, Duration::from_secs(3600));
        assert_eq!(c.webhook_max_clock_skew, Duration::from_secs(300));
        assert_eq!(c.event_retention, Duration::from_secs(7 * 24 * 3600));
        assert_eq!(c.personal_retention_days, 90);
        assert_eq!(c.provider_timeout, Duration::from_millis(10_000));
        assert_eq!(c.provider_budget, crate::service::DEFAULT_PROVIDER_BUDGET);
        assert_eq!(c.reconcile_batch, 200);
        assert_eq!(c.reconcile_concurrency, 8);
        assert_eq!(c.reconcile_margin, Duration::from_secs(30));
    }

    #[test]
    fn the_personal_data_retention_is_days_from_one_to_ten_years() {
        let mut env = full();
        env.insert("PERSONAL_DATA_RETENTION_DAYS", "30");
        assert_eq!(load(&env).unwrap().personal_retention_days, 30);
        for bad in ["0", "3651", "-1", "ninety"] {
            env.insert("PERSONAL_DATA_RETENTION_DAYS", bad);
            let Err(err) = load(&env) else {
                panic!("{bad} accepted");
            };
            let err = err.to_string();
            assert!(err.contains("PERSONAL_DATA_RETENTION_DAYS"), "{err}");
        }
    }

    #[test]
    fn the_providers_list_picks_providers_in_its_order_and_each_reads_its_own_settings() {
        let mut env = full();
        env.insert("PROVIDERS", "second, first");
        assert_eq!(
            load(&env).unwrap_err(),
            ConfigError::Missing("SECOND_KEY".into())
        );
        env.insert("SECOND_KEY", "second-secret-key");
        let c = load(&env).unwrap();
        assert_eq!(names(&c), [SECOND, FIRST]);
        assert_eq!(c.default_provider.as_str(), SECOND);
        env.insert("DEFAULT_PROVIDER", "first");
        assert_eq!(load(&env).unwrap().default_provider.as_str(), FIRST);
    }

    #[test]
    fn unknown_or_unlisted_providers_are_refused_by_name() {
        let mut env = full();
        env.insert("PROVIDERS", "first,nope");
        assert!(load(&env).unwrap_err().to_string().contains("PROVIDERS"));
        let mut env = full();
        env.insert("DEFAULT_PROVIDER", "second");
        assert!(load(&env)
            .unwrap_err()
            .to_string()
            .contains("DEFAULT_PROVIDER"));
    }

    #[test]
    fn lambda_region_and_credentials_are_read_when_present_and_left_to_the_sdk_otherwise() {
        let c = load(&full()).unwrap();
        assert!(c.aws.region.is_none() && c.aws.credentials.is_none());
        let mut env = full();
        env.extend([
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "token"),
        ]);
        let c = load(&env).unwrap();
        assert_eq!(c.aws.region.as_deref(), Some("eu-west-1"));
        let creds = c.aws.credentials.unwrap();
        assert_eq!(creds.access_key_id, "ASIAEXAMPLE");
        assert!(creds.session_token.is_some());
        // A key without its secret is not a credential: the SDK's chain decides.
        env.remove("AWS_SECRET_ACCESS_KEY");
        assert!(load(&env).unwrap().aws.credentials.is_none());
    }

    #[test]
    fn prewarming_is_off_unless_asked_for_and_only_true_or_false_are_accepted() {
        assert!(!load(&full()).unwrap().prewarm_connections);
        let mut env = full();
        env.insert("PREWARM_CONNECTIONS", "true");
        assert!(load(&env).unwrap().prewarm_connections);
        env.insert("PREWARM_CONNECTIONS", "yes");
        assert_eq!(
            load(&env).err(),
            Some(invalid("PREWARM_CONNECTIONS", "must be true or false"))
        );
    }

    #[test]
    fn each_missing_variable_is_named() {
        for name in [
            "TABLE_NAME",
            "IDEMPOTENCY_SECRET",
            "FIRST_KEY",
            "FIRST_HOOKS",
        ] {
            let mut env = full();
            env.remove(name);
            let err = load(&env).unwrap_err();
            assert_eq!(err, ConfigError::Missing(name.into()));
            assert!(err.to_string().contains(name));
        }
    }

    #[test]
    fn invalid_values_are_named_too() {
        for (name, value) in [
            ("IDEMPOTENCY_SECRET", "short"),
            ("WEBHOOK_GRACE_SECONDS", "soon"),
            ("PROVIDER_TIMEOUT_MS", "1s"),
            ("RECONCILE_BATCH", "-1"),
            ("SECRETS_TTL_SECONDS", "5m"),
        ] {
            let mut env = full();
            env.insert(name, value);
            assert!(load(&env).unwrap_err().to_string().contains(name), "{name}");
        }
    }

    #[test]
    fn the_env_reader_parses_urls_lists_secrets_and_addresses() {
        let vars = HashMap::from([
            ("URL", "https://example.com/a"),
            ("NOT_URL", "ftp://example.com"),
            ("LIST", " a, ,b "),
            ("SECRETS", " first-long-secret, ,second-long-secret "),
            ("IPS", "127.0.0.1, ::1"),
            ("BAD_IPS", "127.0.0.1, nope"),
        ]);
        let lookup = |k: &str| vars.get(k).map(|v| v.to_string());
        let env = Env::new(&lookup);
        assert_eq!(
            env.url("URL", None).unwrap().as_str(),
            "https://example.com/a"
        );
        assert!(env.url("NOT_URL", None).is_err());
        assert_eq!(
            env.url("UNSET", None).unwrap_err(),
            ConfigError::Missing("UNSET".into())
        );
        assert_eq!(
            env.url("UNSET", Some("http://d/")).unwrap().as_str(),
            "http://d/"
        );
        assert_eq!(env.list("LIST"), ["a", "b"]);
        assert_eq!(env.secrets("SECRETS").unwrap().len(), 2);
        assert!(env.secrets("LIST").is_err(), "too short");
        assert_eq!(
            env.secrets("UNSET").unwrap_err(),
            ConfigError::Missing("UNSET".into())
        );
        assert_eq!(env.ips("IPS").unwrap().len(), 2);
        assert!(env
            .ips("BAD_IPS")
            .unwrap_err()
            .to_string()
            .contains("BAD_IPS"));
    }

    #[test]
    fn webhook_secrets_shorter_than_16_characters_stop_the_start_named_not_shown() {
        let mut env = full();
        env.insert("FIRST_HOOKS", "long-enough-secret, short-secret");
        let err = load(&env).unwrap_err().to_string();
        assert!(err.contains("FIRST_HOOKS") && err.contains("16"), "{err}");
        assert!(!err.contains("short-secret"), "{err}");
        env.insert("FIRST_HOOKS", "exactly-16-chars");
        assert!(load(&env).is_ok());
    }

    /// The secrets as a function's source loads them: `values`, the rest declared but unused.
    fn loaded(values: &[(&'static str, &str)], unused: &[&'static str]) -> LoadedSecrets {
        use crate::secrets::SecretName;
        let declared = ["IDEMPOTENCY_SECRET", "FIRST_KEY", "FIRST_HOOKS"];
        LoadedSecrets {
            values: values
                .iter()
                .map(|(k, v)| (SecretName::new(k), SecretString::from(v.to_string())))
                .collect(),
            declared: declared.into_iter().map(SecretName::new).collect(),
            unused: unused.iter().copied().map(SecretName::new).collect(),
        }
    }

    fn load_with(secrets: &LoadedSecrets) -> Result<Config, ConfigError> {
        let env = HashMap::from([("TABLE_NAME", "kyc"), ("FIRST_KEY", "ignored: a secret")]);
        Config::with_secrets(
            |k| env.get(k).map(|v| v.to_string()),
            secrets,
            &[plugin(FIRST)],
        )
    }

    #[test]
    fn secrets_come_from_the_loaded_values_and_unused_ones_are_absent() {
        let api_only = loaded(
            &[("FIRST_KEY", "from-secrets-manager")],
            &["IDEMPOTENCY_SECRET", "FIRST_HOOKS"],
        );
        let c = load_with(&api_only).unwrap();
        assert!(c.idempotency_secret.is_none());
        // A secret this function uses is still required, wherever it comes from.
        let missing = loaded(&[], &["IDEMPOTENCY_SECRET", "FIRST_HOOKS"]);
        assert_eq!(
            load_with(&missing).err(),
            Some(ConfigError::Missing("FIRST_KEY".into()))
        );
        let all = loaded(
            &[
                ("FIRST_KEY", "k"),
                ("FIRST_HOOKS", "first-webhook-secret"),
                ("IDEMPOTENCY_SECRET", "0123456789abcdef0123456789abcdef"),
            ],
            &[],
        );
        assert!(load_with(&all).unwrap().idempotency_secret.is_some());
    }

    #[test]
    fn a_secret_read_but_not_declared_is_refused_by_name() {
        let mut undeclared = loaded(&[("FIRST_KEY", "k")], &["IDEMPOTENCY_SECRET"]);
        undeclared
            .declared
            .remove(&crate::secrets::SecretName::new("FIRST_HOOKS"));
        let err = load_with(&undeclared).unwrap_err().to_string();
        assert!(
            err.contains("FIRST_HOOKS") && err.contains("declared"),
            "{err}"
        );
    }

    #[test]
    fn the_secrets_a_configuration_may_read_are_the_general_and_the_enabled_providers() {
        let specs = Config::secret_specs(|_| None, &[plugin(FIRST), plugin(SECOND)]).unwrap();
        let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["IDEMPOTENCY_SECRET", "FIRST_KEY", "FIRST_HOOKS"]);
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let printed = format!("{:?}", load(&full()).unwrap());
        assert!(!printed.contains("first-secret-key") && !printed.contains("0123456789"));
        assert!(printed.contains(FIRST));
    }
}
