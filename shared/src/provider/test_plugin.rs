//! Two providers known only to unit tests, so configuration rules are tested without any real
//! provider's variables. Each requires one secret of its own (`FIRST_KEY`, `SECOND_KEY`); the
//! first also a webhook secret list (`FIRST_HOOKS`).

use std::sync::Arc;

use super::{KycProvider, Plugin, ProviderSettings};
use crate::config::env::{ConfigError, Env};
use crate::domain::ProviderName;
use crate::secrets::SecretSpec;

pub const FIRST: &str = "first";
pub const SECOND: &str = "second";

struct Settings(ProviderName);

impl ProviderSettings for Settings {
    fn name(&self) -> ProviderName {
        self.0.clone()
    }

    fn adapter(&self, _http: &reqwest::Client) -> Arc<dyn KycProvider> {
        unreachable!("configuration tests build no adapters")
    }
}

fn first(env: &Env<'_>) -> Result<Arc<dyn ProviderSettings>, ConfigError> {
    env.secret("FIRST_KEY")?;
    env.secrets("FIRST_HOOKS")?;
    Ok(Arc::new(Settings(ProviderName::from_static(FIRST))))
}

fn second(env: &Env<'_>) -> Result<Arc<dyn ProviderSettings>, ConfigError> {
    env.secret("SECOND_KEY")?;
    Ok(Arc::new(Settings(ProviderName::from_static(SECOND))))
}

pub fn plugin(name: &str) -> Plugin {
    let configure = if name == FIRST { first } else { second };
    const FIRST_SECRETS: &[SecretSpec] = &[
        SecretSpec::api("FIRST_KEY"),
        SecretSpec::webhook("FIRST_HOOKS"),
    ];
    const SECOND_SECRETS: &[SecretSpec] = &[SecretSpec::api("SECOND_KEY")];
    let (name, secrets) = if name == FIRST {
        (FIRST, FIRST_SECRETS)
    } else {
        (SECOND, SECOND_SECRETS)
    };
    Plugin {
        name: ProviderName::from_static(name),
        configure,
        secrets,
    }
}
