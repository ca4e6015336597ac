//! Two providers known only to unit tests, so configuration rules are tested without any real
//! provider's variables. Each requires one variable of its own (`FIRST_KEY`, `SECOND_KEY`).

use std::sync::Arc;

use super::{KycProvider, Plugin, ProviderSettings};
use crate::config::env::{ConfigError, Env};
use crate::domain::ProviderName;

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
    env.required("FIRST_KEY")?;
    Ok(Arc::new(Settings(ProviderName::from_static(FIRST))))
}

fn second(env: &Env<'_>) -> Result<Arc<dyn ProviderSettings>, ConfigError> {
    env.required("SECOND_KEY")?;
    Ok(Arc::new(Settings(ProviderName::from_static(SECOND))))
}

pub fn plugin(name: &str) -> Plugin {
    let configure = if name == FIRST { first } else { second };
    let name = if name == FIRST { FIRST } else { SECOND };
    Plugin {
        name: ProviderName::from_static(name),
        configure,
    }
}
