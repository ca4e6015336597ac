//! Bond's settings: the API base, the key pair, the program, and the webhook secrets (several
//! while rotating) with the signature scheme and its tolerance, from `BOND_*` variables.

use std::sync::Arc;

use secrecy::SecretString;

use super::signature::SignatureScheme;
use super::{BondAdapter, NAME};
use crate::config::env::{ConfigError, Env};
use crate::domain::ProviderName;
use crate::provider::{KycProvider, ProviderSettings};
use crate::secrets::SecretSpec;

/// The variables read as secrets (each may come from Secrets Manager, see `crate::secrets`).
pub(super) const SECRETS: &[SecretSpec] = &[
    SecretSpec::api("BOND_AUTHORIZATION"),
    SecretSpec::webhook("BOND_WEBHOOK_SECRETS"),
];

#[derive(Clone)]
pub struct BondConfig {
    /// `https://sandbox.bond.tech/api/v0.1` or the production base.
    pub base_url: url::Url,
    pub identity: String,
    pub authorization: SecretString,
    pub program_id: String,
    /// Every webhook secret currently accepted (more than one while rotating).
    pub webhook_secrets: Vec<SecretString>,
    /// How `Bond-Signature` is checked (`BOND_SIGNATURE_*`), validated once here.
    pub signature: SignatureScheme,
    /// How many pages of 50 customers to search when a repeated customer request must be found
    /// again (Bond offers no search by our id).
    pub customer_lookup_pages: u32,
}

impl BondConfig {
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            webhook_secrets: env.secrets("BOND_WEBHOOK_SECRETS")?,
            base_url: env.url("BOND_BASE_URL", None)?,
            identity: env.required("BOND_IDENTITY")?,
            authorization: env.secret("BOND_AUTHORIZATION")?,
            program_id: env.required("BOND_PROGRAM_ID")?,
            signature: SignatureScheme::from_env(env)?,
            customer_lookup_pages: env.number(
                "BOND_CUSTOMER_LOOKUP_PAGES",
                20,
                "must be a whole number of pages",
            )?,
        })
    }
}

/// The registry's entry point.
pub(super) fn configure(env: &Env<'_>) -> Result<Arc<dyn ProviderSettings>, ConfigError> {
    Ok(Arc::new(BondConfig::from_env(env)?))
}

impl ProviderSettings for BondConfig {
    fn name(&self) -> ProviderName {
        NAME
    }

    fn adapter(&self, http: &reqwest::Client) -> Arc<dyn KycProvider> {
        Arc::new(BondAdapter::new(self.clone(), http.clone()))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn full() -> HashMap<&'static str, &'static str> {
        HashMap::from([
            (
                "BOND_WEBHOOK_SECRETS",
                "first-webhook-secret,second-webhook-secret",
            ),
            ("BOND_BASE_URL", "https://sandbox.bond.tech/api/v0.1"),
            ("BOND_IDENTITY", "id"),
            ("BOND_AUTHORIZATION", "auth"),
            ("BOND_PROGRAM_ID", "prog"),
        ])
    }

    fn load(vars: &HashMap<&str, &str>) -> Result<BondConfig, ConfigError> {
        let lookup = |k: &str| vars.get(k).map(|v| v.to_string());
        BondConfig::from_env(&Env::new(&lookup))
    }

    #[test]
    fn bond_needs_each_of_its_own_settings() {
        let c = load(&full()).unwrap();
        assert_eq!(c.webhook_secrets.len(), 2);
        assert_eq!(c.signature, SignatureScheme::default());
        for name in full().keys() {
            let mut vars = full();
            vars.remove(name);
            assert_eq!(
                load(&vars).err(),
                Some(ConfigError::Missing((*name).into()))
            );
        }
    }

    #[test]
    fn a_bad_base_url_or_signature_setting_is_named() {
        for (name, value) in [
            ("BOND_BASE_URL", "sandbox.bond.tech"),
            ("BOND_SIGNATURE_TOLERANCE_SECONDS", "five minutes"),
            ("BOND_SIGNATURE_LAYOUT", "t:body"),
            ("BOND_SIGNATURE_ENCODING", "base32"),
            ("BOND_SIGNATURE_ACCEPT_SHA1", "1"),
        ] {
            let mut vars = full();
            vars.insert(name, value);
            let err = load(&vars).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains(name), "{err}");
        }
    }
}
