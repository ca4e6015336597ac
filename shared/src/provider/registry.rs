//! The provider registry's machinery: what a provider folder exports ([`Plugin`]), what its
//! configuration builds ([`ProviderSettings`]), and the set of adapters a function runs with
//! ([`Providers`]). The list itself is one line per provider in `provider/mod.rs`.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{KycProvider, LiveAdapter};
use crate::config::env::{invalid, ConfigError, Env};
use crate::domain::ProviderName;
use crate::secrets::SecretSpec;

/// What a provider folder exports to the registry.
#[derive(Clone)]
pub struct Plugin {
    pub name: ProviderName,
    /// Read this provider's own variables (a missing or invalid one is named).
    pub configure: fn(&Env<'_>) -> Result<Arc<dyn ProviderSettings>, ConfigError>,
    /// The variables `configure` reads as secrets, and what each is for (see
    /// [`crate::secrets`]: each may come from Secrets Manager through its `X_ARN`).
    pub secrets: &'static [SecretSpec],
}

/// A provider's validated settings, able to build its adapter on the function's HTTP client.
pub trait ProviderSettings: Send + Sync {
    fn name(&self) -> ProviderName;
    fn adapter(&self, http: &reqwest::Client) -> Arc<dyn KycProvider>;
}

/// The plugins `PROVIDERS` enables, in its order, each once (default: the first plugin).
pub fn enabled<'p>(env: &Env<'_>, plugins: &'p [Plugin]) -> Result<Vec<&'p Plugin>, ConfigError> {
    let mut names = env.list("PROVIDERS");
    if names.is_empty() {
        names.extend(plugins.first().map(|p| p.name.to_string()));
    }
    let mut enabled: Vec<&Plugin> = Vec::new();
    for raw in names {
        let plugin = plugins
            .iter()
            .find(|p| p.name.as_str() == raw)
            .ok_or_else(|| invalid("PROVIDERS", "names a provider this build does not know"))?;
        if enabled.iter().all(|p| p.name != plugin.name) {
            enabled.push(plugin);
        }
    }
    if enabled.is_empty() {
        return Err(ConfigError::Missing("PROVIDERS".into()));
    }
    Ok(enabled)
}

/// The settings of every provider `PROVIDERS` enables, in its order (default: the first plugin).
pub fn configure(
    env: &Env<'_>,
    plugins: &[Plugin],
) -> Result<Vec<Arc<dyn ProviderSettings>>, ConfigError> {
    enabled(env, plugins)?
        .into_iter()
        .map(|plugin| (plugin.configure)(env))
        .collect()
}

/// The provider adapters a function runs with, by name.
#[derive(Clone, Default)]
pub struct Providers {
    by_name: BTreeMap<ProviderName, Arc<dyn KycProvider>>,
}

impl Providers {
    /// Every enabled provider's adapter, on one HTTP client.
    pub fn build(settings: &[Arc<dyn ProviderSettings>], http: &reqwest::Client) -> Self {
        settings
            .iter()
            .fold(Self::default(), |set, s| set.with(s.adapter(http)))
    }

    /// Every enabled provider's adapter behind a [`LiveAdapter`], so that refreshed secrets can
    /// swap in adapters built from them; the handles to swap them with.
    pub fn build_live(
        settings: &[Arc<dyn ProviderSettings>],
        http: &reqwest::Client,
    ) -> (Self, Vec<Arc<LiveAdapter>>) {
        let live: Vec<Arc<LiveAdapter>> = settings
            .iter()
            .map(|s| Arc::new(LiveAdapter::new(s.adapter(http))))
            .collect();
        let providers = live.iter().fold(Self::default(), |set, a| {
            set.with(a.clone() as Arc<dyn KycProvider>)
        });
        (providers, live)
    }

    pub fn with(mut self, provider: Arc<dyn KycProvider>) -> Self {
        self.by_name.insert(provider.name(), provider);
        self
    }

    pub fn get(&self, name: &ProviderName) -> Option<&Arc<dyn KycProvider>> {
        self.by_name.get(name)
    }

    /// The adapter a webhook route or a request names, if this deployment enabled it.
    pub fn find(&self, raw: &str) -> Option<&Arc<dyn KycProvider>> {
        ProviderName::parse(raw)
            .ok()
            .and_then(|n| self.by_name.get(&n))
    }

    pub fn names(&self) -> Vec<ProviderName> {
        self.by_name.keys().cloned().collect()
    }
}

/// Declares the provider folders and lists their plugins, one line per provider.
macro_rules! registry {
    ($($name:ident),+ $(,)?) => {
        $(pub mod $name;)+

        /// Every provider this build knows, in registry order (the first is the default).
        pub const PLUGINS: &[Plugin] = &[$($name::PLUGIN),+];
    };
}
pub(crate) use registry;
