//! Typed configuration from the environment, read once at init. A missing or invalid variable
//! fails the cold start with a message that names it. Secrets are [`SecretString`]s.

use std::time::Duration;

use secrecy::SecretString;

use crate::domain::ProviderName;
use crate::provider::bond::BondConfig;
use crate::provider::ondato::OndatoConfig;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("missing environment variable {0}")]
    Missing(String),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: String, reason: String },
}

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
    pub providers: Vec<ProviderName>,
    pub default_provider: ProviderName,
    /// Keys request fingerprints of idempotent requests (at least 32 characters).
    pub idempotency_secret: SecretString,
    pub ondato: Option<OndatoConfig>,
    pub bond: Option<BondConfig>,
    /// Timeout of one call to a provider.
    pub provider_timeout: Duration,
    /// How long a webhook for an unknown verification is answered 5xx (so it is retried).
    pub webhook_grace: Duration,
    /// How long processed webhook events are kept for deduplication and audit.
    pub event_retention: Duration,
    /// The reconciler refreshes open verifications quiet for longer than this.
    pub reconcile_quiet: Duration,
    /// At most this many verifications per reconciler run.
    pub reconcile_batch: usize,
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
        f.debug_struct("Config")
            .field("table_name", &self.table_name)
            .field("providers", &self.providers)
            .finish_non_exhaustive()
    }
}

struct Env<F>(F);

impl<F: Fn(&str) -> Option<String>> Env<F> {
    fn optional(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn required(&self, name: &str) -> Result<String, ConfigError> {
        self.optional(name)
            .ok_or_else(|| ConfigError::Missing(name.to_owned()))
    }

    fn url(&self, name: &str, default: &str) -> Result<url::Url, ConfigError> {
        let raw = self.optional(name).unwrap_or_else(|| default.to_owned());
        url::Url::parse(&raw)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| invalid(name, "must be an http(s) URL"))
    }

    fn seconds(&self, name: &str, default: u64) -> Result<Duration, ConfigError> {
        match self.optional(name) {
            None => Ok(Duration::from_secs(default)),
            Some(raw) => raw
                .parse::<u64>()
                .map(Duration::from_secs)
                .map_err(|_| invalid(name, "must be a whole number of seconds")),
        }
    }

    fn flag(&self, name: &str) -> Result<bool, ConfigError> {
        match self.optional(name).as_deref() {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(_) => Err(invalid(name, "must be true or false")),
        }
    }

    fn list(&self, name: &str) -> Vec<String> {
        self.optional(name)
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn invalid(name: &str, reason: &str) -> ConfigError {
    ConfigError::Invalid {
        name: name.to_owned(),
        reason: reason.to_owned(),
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(lookup);
        let table_name = env.required("TABLE_NAME")?;
        let idempotency_secret = env.required("IDEMPOTENCY_SECRET")?;
        if idempotency_secret.len() < 32 {
            return Err(invalid(
                "IDEMPOTENCY_SECRET",
                "must be at least 32 characters",
            ));
        }
        let mut providers = Vec::new();
        for raw in env.list("PROVIDERS") {
            let name = ProviderName::parse(&raw)
                .ok_or_else(|| invalid("PROVIDERS", "names a provider this build does not know"))?;
            providers.push(name);
        }
        if providers.is_empty() {
            providers.push(ProviderName::Ondato);
        }
        let default_provider = match env.optional("DEFAULT_PROVIDER") {
            None => providers[0],
            Some(raw) => ProviderName::parse(&raw)
                .filter(|p| providers.contains(p))
                .ok_or_else(|| invalid("DEFAULT_PROVIDER", "must be one of PROVIDERS"))?,
        };
        let ondato = if providers.contains(&ProviderName::Ondato) {
            let passwords: Vec<SecretString> = env
                .list("ONDATO_WEBHOOK_PASSWORDS")
                .into_iter()
                .map(SecretString::from)
                .collect();
            if passwords.is_empty() {
                return Err(ConfigError::Missing("ONDATO_WEBHOOK_PASSWORDS".into()));
            }
            let mut allowed_ips = Vec::new();
            for raw in env.list("ONDATO_WEBHOOK_ALLOWED_IPS") {
                allowed_ips.push(raw.parse().map_err(|_| {
                    invalid(
                        "ONDATO_WEBHOOK_ALLOWED_IPS",
                        "must be comma-separated IP addresses",
                    )
                })?);
            }
            Some(OndatoConfig {
                token_url: env.url("ONDATO_TOKEN_URL", "https://id.ondato.com/connect/token")?,
                idv_api_url: env.url("ONDATO_IDV_API_URL", "https://idvapi.ondato.com")?,
                kyc_api_url: env.url("ONDATO_KYC_API_URL", "https://kycid.ondato.com")?,
                hosted_url: env.url("ONDATO_HOSTED_URL", "https://idv.ondato.com/")?,
                client_id: env.required("ONDATO_CLIENT_ID")?,
                client_secret: SecretString::from(env.required("ONDATO_CLIENT_SECRET")?),
                scope: env.optional("ONDATO_SCOPE"),
                setup_id: env.required("ONDATO_SETUP_ID")?,
                webhook_username: env.required("ONDATO_WEBHOOK_USERNAME")?,
                webhook_passwords: passwords,
                application_id: env.optional("ONDATO_APPLICATION_ID"),
                allowed_ips,
            })
        } else {
            None
        };
        let bond = if providers.contains(&ProviderName::Bond) {
            let secrets: Vec<SecretString> = env
                .list("BOND_WEBHOOK_SECRETS")
                .into_iter()
                .map(SecretString::from)
                .collect();
            if secrets.is_empty() {
                return Err(ConfigError::Missing("BOND_WEBHOOK_SECRETS".into()));
            }
            let base = env.required("BOND_BASE_URL")?;
            Some(BondConfig {
                base_url: env.url("BOND_BASE_URL", &base)?,
                identity: env.required("BOND_IDENTITY")?,
                authorization: SecretString::from(env.required("BOND_AUTHORIZATION")?),
                program_id: env.required("BOND_PROGRAM_ID")?,
                webhook_secrets: secrets,
                signature_tolerance_secs: env
                    .seconds("BOND_SIGNATURE_TOLERANCE_SECONDS", 300)?
                    .as_secs() as i64,
            })
        } else {
            None
        };
        Ok(Self {
            table_name,
            dynamodb_endpoint: env.optional("DYNAMODB_ENDPOINT"),
            prewarm_connections: env.flag("PREWARM_CONNECTIONS")?,
            aws: AwsEnvironment {
                region: env.optional("AWS_REGION"),
                credentials: match (
                    env.optional("AWS_ACCESS_KEY_ID"),
                    env.optional("AWS_SECRET_ACCESS_KEY"),
                ) {
                    (Some(access_key_id), Some(secret)) => Some(AwsCredentials {
                        access_key_id,
                        secret_access_key: SecretString::from(secret),
                        session_token: env.optional("AWS_SESSION_TOKEN").map(SecretString::from),
                    }),
                    _ => None,
                },
            },
            providers,
            default_provider,
            idempotency_secret: SecretString::from(idempotency_secret),
            ondato,
            bond,
            provider_timeout: Duration::from_millis(
                env.optional("PROVIDER_TIMEOUT_MS")
                    .map(|v| {
                        v.parse::<u64>()
                            .map_err(|_| invalid("PROVIDER_TIMEOUT_MS", "must be milliseconds"))
                    })
                    .transpose()?
                    .unwrap_or(10_000),
            ),
            webhook_grace: env.seconds("WEBHOOK_GRACE_SECONDS", 3600)?,
            event_retention: env.seconds("EVENT_RETENTION_SECONDS", 7 * 24 * 3600)?,
            reconcile_quiet: env.seconds("RECONCILE_QUIET_SECONDS", 900)?,
            reconcile_batch: env
                .optional("RECONCILE_BATCH")
                .map(|v| {
                    v.parse::<usize>()
                        .map_err(|_| invalid("RECONCILE_BATCH", "must be a whole number"))
                })
                .transpose()?
                .unwrap_or(200),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn full() -> HashMap<&'static str, &'static str> {
        HashMap::from([
            ("TABLE_NAME", "kyc"),
            ("IDEMPOTENCY_SECRET", "0123456789abcdef0123456789abcdef"),
            ("ONDATO_CLIENT_ID", "client"),
            ("ONDATO_CLIENT_SECRET", "secret"),
            ("ONDATO_SETUP_ID", "setup"),
            ("ONDATO_WEBHOOK_USERNAME", "ondato"),
            ("ONDATO_WEBHOOK_PASSWORDS", "old, new"),
        ])
    }

    fn load(env: &HashMap<&str, &str>) -> Result<Config, ConfigError> {
        Config::from_lookup(|k| env.get(k).map(|v| v.to_string()))
    }

    #[test]
    fn a_complete_environment_loads_with_production_defaults() {
        let c = load(&full()).unwrap();
        assert_eq!(c.default_provider, ProviderName::Ondato);
        let o = c.ondato.unwrap();
        assert_eq!(o.idv_api_url.as_str(), "https://idvapi.ondato.com/");
        assert_eq!(o.webhook_passwords.len(), 2);
        assert_eq!(c.webhook_grace, Duration::from_secs(3600));
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
            "ONDATO_CLIENT_ID",
            "ONDATO_CLIENT_SECRET",
            "ONDATO_SETUP_ID",
            "ONDATO_WEBHOOK_USERNAME",
            "ONDATO_WEBHOOK_PASSWORDS",
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
        let mut env = full();
        env.insert("ONDATO_IDV_API_URL", "not a url");
        assert!(load(&env)
            .unwrap_err()
            .to_string()
            .contains("ONDATO_IDV_API_URL"));
        let mut env = full();
        env.insert("IDEMPOTENCY_SECRET", "short");
        assert!(load(&env)
            .unwrap_err()
            .to_string()
            .contains("IDEMPOTENCY_SECRET"));
        let mut env = full();
        env.insert("WEBHOOK_GRACE_SECONDS", "soon");
        assert!(load(&env)
            .unwrap_err()
            .to_string()
            .contains("WEBHOOK_GRACE_SECONDS"));
    }

    #[test]
    fn bond_needs_its_own_settings_when_enabled() {
        let mut env = full();
        env.insert("PROVIDERS", "ondato,bond");
        assert_eq!(
            load(&env).unwrap_err(),
            ConfigError::Missing("BOND_WEBHOOK_SECRETS".into())
        );
        for (k, v) in [
            ("BOND_WEBHOOK_SECRETS", "s1,s2"),
            ("BOND_BASE_URL", "https://sandbox.bond.tech/api/v0.1"),
            ("BOND_IDENTITY", "id"),
            ("BOND_AUTHORIZATION", "auth"),
            ("BOND_PROGRAM_ID", "prog"),
        ] {
            env.insert(k, v);
        }
        let c = load(&env).unwrap();
        assert_eq!(c.providers, [ProviderName::Ondato, ProviderName::Bond]);
        assert_eq!(c.bond.unwrap().webhook_secrets.len(), 2);
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let c = load(&full()).unwrap();
        let printed = format!("{c:?}");
        assert!(
            !printed.contains("secret")
                && !printed.contains("new")
                && !printed.contains("0123456789")
        );
    }
}
