//! Veriff's settings from `VERIFF_*` variables: the API base, the integration's API key, its
//! shared secrets (several while rotating) and an optional webhook source allowlist.

use std::sync::Arc;

use secrecy::SecretString;

use super::{VeriffAdapter, NAME};
use crate::config::env::{ConfigError, Env};
use crate::domain::ProviderName;
use crate::provider::{KycProvider, ProviderSettings};
use crate::secrets::SecretSpec;

/// The variables read as secrets (each may come from Secrets Manager, see `crate::secrets`).
pub(super) const SECRETS: &[SecretSpec] = &[
    // The shared secrets sign our requests too: every function that calls Veriff needs them.
    SecretSpec::api("VERIFF_API_KEY"),
    SecretSpec::api("VERIFF_SHARED_SECRETS"),
];

/// Veriff's production API.
pub const DEFAULT_BASE_URL: &str = "https://stationapi.veriff.com";

/// Everything the Veriff adapter needs; secrets stay in [`SecretString`].
#[derive(Clone)]
pub struct VeriffConfig {
    /// `https://stationapi.veriff.com`, or the emulator's `{base}/veriff`.
    pub base_url: url::Url,
    /// Sent as `X-AUTH-CLIENT`, and expected back on every webhook.
    pub api_key: SecretString,
    /// The first signs our requests; any of them verifies a webhook (rotation).
    pub shared_secrets: Vec<SecretString>,
    /// When non-empty, webhooks from other source addresses are refused.
    pub allowed_ips: Vec<std::net::IpAddr>,
}

impl VeriffConfig {
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            base_url: env.url("VERIFF_BASE_URL", Some(DEFAULT_BASE_URL))?,
            api_key: env.secret("VERIFF_API_KEY")?,
            shared_secrets: env.secrets("VERIFF_SHARED_SECRETS")?,
            allowed_ips: env.ips("VERIFF_WEBHOOK_ALLOWED_IPS")?,
        })
    }

    /// The secret our requests are signed with: the first of the list.
    pub fn signing_secret(&self) -> &SecretString {
        // `Env::secrets` refuses an empty list, so there is always a first one.
        &self.shared_secrets[0]
    }
}

/// The registry's entry point.
pub(super) fn configure(env: &Env<'_>) -> Result<Arc<dyn ProviderSettings>, ConfigError> {
    Ok(Arc::new(VeriffConfig::from_env(env)?))
}

impl ProviderSettings for VeriffConfig {
    fn name(&self) -> ProviderName {
        NAME
    }

    fn adapter(&self, http: &reqwest::Client) -> Arc<dyn KycProvider> {
        Arc::new(VeriffAdapter::new(self.clone(), http.clone()))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use secrecy::ExposeSecret;

    use super::*;

    fn full() -> HashMap<&'static str, &'static str> {
        HashMap::from([
            ("VERIFF_API_KEY", "local-veriff-api-key"),
            ("VERIFF_SHARED_SECRETS", "local-veriff-shared-secret"),
        ])
    }

    fn load(vars: &HashMap<&str, &str>) -> Result<VeriffConfig, ConfigError> {
        let lookup = |k: &str| vars.get(k).map(|v| v.to_string());
        VeriffConfig::from_env(&Env::new(&lookup))
    }

    #[test]
    fn a_minimal_environment_loads_with_the_production_api_and_no_allowlist() {
        let c = load(&full()).unwrap();
        assert_eq!(c.base_url.as_str(), "https://stationapi.veriff.com/");
        assert_eq!(c.api_key.expose_secret(), "local-veriff-api-key");
        assert_eq!(c.shared_secrets.len(), 1);
        assert!(c.allowed_ips.is_empty());
    }

    #[test]
    fn each_missing_variable_is_named() {
        for name in ["VERIFF_API_KEY", "VERIFF_SHARED_SECRETS"] {
            let mut vars = full();
            vars.remove(name);
            assert_eq!(load(&vars).err(), Some(ConfigError::Missing(name.into())));
            vars.insert(name, "  ");
            assert_eq!(
                load(&vars).err(),
                Some(ConfigError::Missing(name.into())),
                "blank is unset"
            );
        }
        let mut vars = full();
        vars.insert("VERIFF_SHARED_SECRETS", " , ,");
        assert_eq!(
            load(&vars).err(),
            Some(ConfigError::Missing("VERIFF_SHARED_SECRETS".into()))
        );
    }

    #[test]
    fn while_rotating_the_first_secret_signs_and_every_one_is_kept() {
        let mut vars = full();
        vars.insert(
            "VERIFF_SHARED_SECRETS",
            " new-shared-secret-1 , old-shared-secret-2 ",
        );
        let c = load(&vars).unwrap();
        let secrets: Vec<&str> = c.shared_secrets.iter().map(|s| s.expose_secret()).collect();
        assert_eq!(secrets, ["new-shared-secret-1", "old-shared-secret-2"]);
        assert_eq!(c.signing_secret().expose_secret(), "new-shared-secret-1");
    }

    #[test]
    fn the_emulator_base_and_an_allowlist_are_read() {
        let mut vars = full();
        vars.insert("VERIFF_BASE_URL", "http://127.0.0.1:9000/t/abc/veriff");
        vars.insert("VERIFF_WEBHOOK_ALLOWED_IPS", "10.0.0.7, 2001:db8::1");
        let c = load(&vars).unwrap();
        assert_eq!(c.base_url.as_str(), "http://127.0.0.1:9000/t/abc/veriff");
        assert_eq!(c.allowed_ips.len(), 2);
    }

    #[test]
    fn a_bad_base_url_or_address_is_named() {
        for (name, value) in [
            ("VERIFF_BASE_URL", "stationapi.veriff.com"),
            ("VERIFF_BASE_URL", "ftp://stationapi.veriff.com"),
            ("VERIFF_WEBHOOK_ALLOWED_IPS", "10.0.0.1, nope"),
        ] {
            let mut vars = full();
            vars.insert(name, value);
            let err = load(&vars).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains(name), "{err}");
        }
    }
}
