//! The environment adapter: the secret's value is the environment variable's own (the local
//! stack, the tests, and any deployment that sets no `X_ARN`).

use std::sync::Arc;

use async_trait::async_trait;
use secrecy::SecretString;

use super::{SecretError, SecretName, SecretSource, SecretValues};

/// How a variable is looked up (the process environment, or a test's map).
pub type Lookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Reads each secret from its variable; an unset or blank one is left out (configuration names
/// it missing where it is required).
#[derive(Clone)]
pub struct EnvSecrets {
    lookup: Lookup,
}

impl EnvSecrets {
    pub fn new(lookup: Lookup) -> Self {
        Self { lookup }
    }
}

#[async_trait]
impl SecretSource for EnvSecrets {
    async fn load(&self, names: &[SecretName]) -> Result<SecretValues, SecretError> {
        Ok(names
            .iter()
            .filter_map(|name| {
                let value = (self.lookup)(name.as_str())?;
                let value = value.trim();
                (!value.is_empty()).then(|| (*name, SecretString::from(value.to_owned())))
            })
            .collect())
    }
}
