//! The KYC providers. Each is one folder (`provider/<name>/`: configuration, HTTP client, status
//! mapping, webhook authentication and parsing, tests) exporting a [`Plugin`], plus one line in
//! the registry below. Nothing outside these folders and this list names a provider.

mod live;
mod port;
mod registry;

pub use live::LiveAdapter;
pub use port::*;
pub use registry::{configure, enabled, Plugin, ProviderSettings, Providers};

registry::registry! {
    ondato,
    bond,
    veriff,
}

#[cfg(test)]
pub(crate) mod test_plugin;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ProviderName;

    #[test]
    fn every_registered_name_is_a_valid_unique_provider_name() {
        let mut names: Vec<&str> = PLUGINS.iter().map(|p| p.name.as_str()).collect();
        for name in &names {
            assert_eq!(
                ProviderName::parse(name).map(|n| n.to_string()).as_deref(),
                Ok(*name)
            );
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), PLUGINS.len());
    }
}
