//! Ondato's settings: OAuth2 client, API and hosted-page bases, the IDV setup, and the webhook's
//! Basic-auth credentials (several passwords while rotating), from `ONDATO_*` variables.

use std::sync::Arc;

use secrecy::SecretString;

use super::{OndatoAdapter, NAME};
use crate::config::env::{ConfigError, Env};
use crate::domain::ProviderName;
use crate::provider::{KycProvider, ProviderSettings};
use crate::secrets::SecretSpec;

/// The variables read as secrets (each may come from Secrets Manager, see `crate::secrets`).
pub(super) const SECRETS: &[SecretSpec] = &[
    SecretSpec::api("ONDATO_CLIENT_SECRET"),
    SecretSpec::webhook("ONDATO_WEBHOOK_PASSWORDS"),
];

/// Everything the Ondato adapter needs; secrets stay in [`SecretString`].
#[derive(Clone)]
pub struct OndatoConfig {
    pub token_url: url::Url,
    pub idv_api_url: url::Url,
    pub kyc_api_url: url::Url,
    pub hosted_url: url::Url,
    pub client_id: String,
    pub client_secret: SecretString,
    pub scope: Option<String>,
    pub setup_id: String,
    pub webhook_username: String,
    /// Every password currently accepted (more than one while rotating).
    pub webhook_passwords: Vec<SecretString>,
    /// When set, events of other Ondato applications are ignored.
    pub application_id: Option<String>,
    /// When non-empty, webhooks from other source addresses are refused.
    pub allowed_ips: Vec<std::net::IpAddr>,
}

impl OndatoConfig {
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            token_url: env.url(
                "ONDATO_TOKEN_URL",
                Some("https://id.ondato.com/connect/token"),
            )?,
            idv_api_url: env.url("ONDATO_IDV_API_URL", Some("https://idvapi.ondato.com"))?,
            kyc_api_url: env.url("ONDATO_KYC_API_URL", Some("https://kycid.ondato.com"))?,
            hosted_url: env.url("ONDATO_HOSTED_URL", Some("https://idv.ondato.com/"))?,
            client_id: env.required("ONDATO_CLIENT_ID")?,
            client_secret: env.secret("ONDATO_CLIENT_SECRET")?,
            scope: env.optional("ONDATO_SCOPE"),
            setup_id: env.required("ONDATO_SETUP_ID")?,
            webhook_username: env.required("ONDATO_WEBHOOK_USERNAME")?,
            webhook_passwords: env.secrets("ONDATO_WEBHOOK_PASSWORDS")?,
            application_id: env.optional("ONDATO_APPLICATION_ID"),
            allowed_ips: env.ips("ONDATO_WEBHOOK_ALLOWED_IPS")?,
        })
    }
}

/// The registry's entry point.
pub(super) fn configure(env: &Env<'_>) -> Result<Arc<dyn ProviderSettings>, ConfigError> {
    Ok(Arc::new(OndatoConfig::from_env(env)?))
}

impl ProviderSettings for OndatoConfig {
    fn name(&self) -> ProviderName {
        NAME
    }

    fn adapter(&self, http: &reqwest::Client) -> Arc<dyn KycProvider> {
        Arc::new(OndatoAdapter::new(self.clone(), http.clone()))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn full() -> HashMap<&'static str, &'static str> {
        HashMap::from([
            ("ONDATO_CLIENT_ID", "client"),
            ("ONDATO_CLIENT_SECRET", "secret"),
            ("ONDATO_SETUP_ID", "setup"),
            ("ONDATO_WEBHOOK_USERNAME", "ondato"),
            (
                "ONDATO_WEBHOOK_PASSWORDS",
                "old-password-0001, new-password-0002",
            ),
        ])
    }

    fn load(vars: &HashMap<&str, &str>) -> Result<OndatoConfig, ConfigError> {
        let lookup = |k: &str| vars.get(k).map(|v| v.to_string());
        OndatoConfig::from_env(&Env::new(&lookup))
    }

    #[test]
    fn a_complete_environment_loads_with_production_urls_and_every_password() {
        let c = load(&full()).unwrap();
        assert_eq!(c.idv_api_url.as_str(), "https://idvapi.ondato.com/");
        assert_eq!(c.token_url.as_str(), "https://id.ondato.com/connect/token");
        assert_eq!(c.webhook_passwords.len(), 2);
        assert!(c.allowed_ips.is_empty() && c.application_id.is_none());
    }

    #[test]
    fn each_missing_variable_is_named() {
        for name in [
            "ONDATO_CLIENT_ID",
            "ONDATO_CLIENT_SECRET",
            "ONDATO_SETUP_ID",
            "ONDATO_WEBHOOK_USERNAME",
            "ONDATO_WEBHOOK_PASSWORDS",
        ] {
            let mut vars = full();
            vars.remove(name);
            assert_eq!(load(&vars).err(), Some(ConfigError::Missing(name.into())));
        }
    }

    #[test]
    fn invalid_urls_and_addresses_are_named() {
        for (name, value) in [
            ("ONDATO_IDV_API_URL", "not a url"),
            ("ONDATO_WEBHOOK_ALLOWED_IPS", "10.0.0.1, nope"),
        ] {
            let mut vars = full();
            vars.insert(name, value);
            let err = load(&vars).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains(name), "{err}");
        }
    }
}
