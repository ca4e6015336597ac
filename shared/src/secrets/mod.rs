//! Where secret values come from: the [`SecretSource`] port and its two adapters, the process
//! environment ([`env::EnvSecrets`]) and AWS Secrets Manager
//! ([`secrets_manager::SecretsManagerSecrets`]).
//!
//! # Which source
//!
//! Every secret has one environment variable name, `X` (`IDEMPOTENCY_SECRET`, and the names each
//! provider declares in its [`crate::provider::Plugin`]). For each one:
//!
//! * if `X_ARN` is set, `X` is the `SecretString` of that Secrets Manager secret (an ARN or a
//!   secret name), read at init in one `BatchGetSecretValue` for all of the function's secrets;
//! * otherwise `X` is the value of the variable `X` itself (the local stack and the tests).
//!
//! The secret's text has exactly the format of the variable: one value, or a comma-separated
//! list for the webhook secrets and passwords (several while rotating). `X_ARN` wins over `X`.
//!
//! # Which secrets a function reads
//!
//! Each secret serves one [`SecretUse`]; each function names the uses it needs (see
//! `crate::wiring`), and reads only those secrets: create-verification the idempotency key and
//! the provider API credentials, webhook-ingest the webhook credentials and the API credentials,
//! fetch-result and the reconciler only the API credentials. `template.yaml` grants each function
//! exactly those secrets (checked by a test in the local stack).
//!
//! # Refresh
//!
//! Secrets read from Secrets Manager are read again after `SECRETS_TTL_SECONDS` (default 300)
//! and after a webhook fails authentication (at most every [`refresh::MIN_INTERVAL`]), see
//! [`refresh::SecretsRefresh`]. Values are [`SecretString`]s: never logged, never in an error.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use secrecy::SecretString;

pub mod env;
pub mod refresh;
pub mod secrets_manager;

pub use env::EnvSecrets;
pub use refresh::SecretsRefresh;
pub use secrets_manager::SecretsManagerSecrets;

/// A secret's name: the environment variable that names it (`X`, or `X_ARN` for its ARN).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretName(&'static str);

impl SecretName {
    pub const fn new(name: &'static str) -> Self {
        Self(name)
    }

    pub const fn as_str(&self) -> &'static str {
        self.0
    }

    /// The variable that carries its Secrets Manager ARN.
    pub fn arn_variable(&self) -> String {
        format!("{}_ARN", self.0)
    }
}

impl std::fmt::Display for SecretName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// What a secret is for, which decides which functions read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SecretUse {
    /// The key of idempotency-request fingerprints (create-verification).
    Idempotency,
    /// Credentials of a provider's API, or a secret that also signs our requests to it (every
    /// function that calls the provider).
    ProviderApi,
    /// Credentials only used to authenticate a provider's webhooks (webhook-ingest).
    ProviderWebhook,
}

/// A secret and what it is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretSpec {
    pub name: SecretName,
    pub used_for: SecretUse,
}

impl SecretSpec {
    pub const fn api(name: &'static str) -> Self {
        Self {
            name: SecretName::new(name),
            used_for: SecretUse::ProviderApi,
        }
    }

    pub const fn webhook(name: &'static str) -> Self {
        Self {
            name: SecretName::new(name),
            used_for: SecretUse::ProviderWebhook,
        }
    }
}

/// The general (not provider) secret.
pub const IDEMPOTENCY_SECRET: SecretSpec = SecretSpec {
    name: SecretName::new("IDEMPOTENCY_SECRET"),
    used_for: SecretUse::Idempotency,
};

/// Loaded values by name.
pub type SecretValues = HashMap<SecretName, SecretString>;

/// Why secrets could not be read. Names variables and error codes, never a value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("secret {name} not found in Secrets Manager (from {name}_ARN)")]
    Missing { name: SecretName },
    #[error("secret {name} cannot be read from Secrets Manager (from {name}_ARN): {reason}")]
    Unreadable { name: SecretName, reason: String },
    #[error("Secrets Manager could not be read: {0}")]
    Unavailable(String),
}

/// A place secret values are read from, all of a function's at once.
#[async_trait]
pub trait SecretSource: Send + Sync {
    /// The values of these secrets, in one call. A secret the source does not hold is left out
    /// of the map (the configuration then names it missing) or, where the source was told it
    /// holds it, is an error naming it.
    async fn load(&self, names: &[SecretName]) -> Result<SecretValues, SecretError>;
}

/// What configuration reads secrets from: the loaded values, the secrets declared (read through
/// [`crate::config::Env::secret`] and [`crate::config::Env::secrets`] only), and among those the
/// ones this function does not use (read as absent).
#[derive(Clone, Default)]
pub struct LoadedSecrets {
    pub values: SecretValues,
    pub declared: BTreeSet<SecretName>,
    pub unused: BTreeSet<SecretName>,
}

impl LoadedSecrets {
    /// Whether configuration may read `name` as a secret, and whether this function uses it.
    pub fn status(&self, name: &str) -> Option<(SecretName, bool)> {
        let name = *self.declared.iter().find(|n| n.as_str() == name)?;
        Some((name, !self.unused.contains(&name)))
    }
}

/// The secrets a function reads: every declared secret, split into those of its uses and the
/// others.
pub fn plan(specs: &[SecretSpec], uses: &[SecretUse]) -> (Vec<SecretName>, BTreeSet<SecretName>) {
    let mut used = Vec::new();
    let mut unused = BTreeSet::new();
    for spec in specs {
        if uses.contains(&spec.used_for) {
            if !used.contains(&spec.name) {
                used.push(spec.name);
            }
        } else {
            unused.insert(spec.name);
        }
    }
    (used, unused)
}

/// The two adapters behind one [`SecretSource`]: names with an `X_ARN` go to Secrets Manager in
/// one batch, the others are read from the environment.
pub struct RoutedSecrets {
    pub env: EnvSecrets,
    pub manager: Option<SecretsManagerSecrets>,
}

impl RoutedSecrets {
    /// The names `manager` holds (an `X_ARN` was set for them).
    pub fn from_manager(&self, names: &[SecretName]) -> Vec<SecretName> {
        names
            .iter()
            .copied()
            .filter(|n| self.manager.as_ref().is_some_and(|m| m.holds(*n)))
            .collect()
    }

    pub fn shared(self) -> Arc<dyn SecretSource> {
        Arc::new(self)
    }
}

#[async_trait]
impl SecretSource for RoutedSecrets {
    async fn load(&self, names: &[SecretName]) -> Result<SecretValues, SecretError> {
        let remote = self.from_manager(names);
        let local: Vec<SecretName> = names
            .iter()
            .copied()
            .filter(|n| !remote.contains(n))
            .collect();
        let mut values = self.env.load(&local).await?;
        if let (Some(manager), false) = (&self.manager, remote.is_empty()) {
            values.extend(manager.load(&remote).await?);
        }
        Ok(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_function_reads_the_secrets_of_its_uses_and_knows_the_others_as_unused() {
        let specs = [
            IDEMPOTENCY_SECRET,
            SecretSpec::api("P_KEY"),
            SecretSpec::webhook("P_HOOK"),
        ];
        let (used, unused) = plan(&specs, &[SecretUse::ProviderApi]);
        assert_eq!(used, [SecretName::new("P_KEY")]);
        assert_eq!(
            unused.into_iter().map(|n| n.as_str()).collect::<Vec<_>>(),
            ["IDEMPOTENCY_SECRET", "P_HOOK"]
        );
        assert_eq!(SecretName::new("P_KEY").arn_variable(), "P_KEY_ARN");
    }

    #[tokio::test]
    async fn without_arns_every_secret_comes_from_the_environment() {
        let routed = RoutedSecrets {
            env: EnvSecrets::new(Arc::new(|k: &str| {
                (k == "A").then(|| " a-value ".to_owned())
            })),
            manager: None,
        };
        let names = [SecretName::new("A"), SecretName::new("B")];
        assert!(routed.from_manager(&names).is_empty());
        let values = routed.load(&names).await.unwrap();
        use secrecy::ExposeSecret;
        assert_eq!(values[&names[0]].expose_secret(), "a-value");
        assert!(
            !values.contains_key(&names[1]),
            "absent: configuration names it"
        );
    }
}
