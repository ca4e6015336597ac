//! The one way environment variables are read: trimmed, empty means unset, every problem named
//! ([`ConfigError`]). The general configuration and every provider's own settings use it.

use std::time::Duration;

use secrecy::SecretString;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("missing environment variable {0}")]
    Missing(String),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: String, reason: String },
}

/// Reads environment variables the one way: trimmed, empty means unset, every problem named.
pub struct Env<'a>(&'a dyn Fn(&str) -> Option<String>);

impl<'a> Env<'a> {
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self(lookup)
    }

    pub fn optional(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    pub fn required(&self, name: &str) -> Result<String, ConfigError> {
        self.optional(name)
            .ok_or_else(|| ConfigError::Missing(name.to_owned()))
    }

    /// An http(s) URL, or `default` when unset (`None`: required).
    pub fn url(&self, name: &str, default: Option<&str>) -> Result<url::Url, ConfigError> {
        let raw = match (self.optional(name), default) {
            (Some(raw), _) => raw,
            (None, Some(d)) => d.to_owned(),
            (None, None) => return Err(ConfigError::Missing(name.to_owned())),
        };
        url::Url::parse(&raw)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| invalid(name, "must be an http(s) URL"))
    }

    pub fn seconds(&self, name: &str, default: u64) -> Result<Duration, ConfigError> {
        self.number(name, default, "must be a whole number of seconds")
            .map(Duration::from_secs)
    }

    pub fn millis(&self, name: &str, default: u64) -> Result<Duration, ConfigError> {
        self.number(name, default, "must be milliseconds")
            .map(Duration::from_millis)
    }

    pub fn number<T: std::str::FromStr>(
        &self,
        name: &str,
        default: T,
        reason: &str,
    ) -> Result<T, ConfigError> {
        match self.optional(name) {
            None => Ok(default),
            Some(raw) => raw.parse().map_err(|_| invalid(name, reason)),
        }
    }

    pub fn flag(&self, name: &str) -> Result<bool, ConfigError> {
        match self.optional(name).as_deref() {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(_) => Err(invalid(name, "must be true or false")),
        }
    }

    /// A comma-separated list; empty items are dropped.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.optional(name)
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A required comma-separated list of secrets (several at once while rotating).
    pub fn secrets(&self, name: &str) -> Result<Vec<SecretString>, ConfigError> {
        let secrets: Vec<SecretString> = self
            .list(name)
            .into_iter()
            .map(SecretString::from)
            .collect();
        if secrets.is_empty() {
            return Err(ConfigError::Missing(name.to_owned()));
        }
        Ok(secrets)
    }

    /// A comma-separated list of IP addresses.
    pub fn ips(&self, name: &str) -> Result<Vec<std::net::IpAddr>, ConfigError> {
        self.list(name)
            .iter()
            .map(|raw| {
                raw.parse()
                    .map_err(|_| invalid(name, "must be comma-separated IP addresses"))
            })
            .collect()
    }
}

pub fn invalid(name: &str, reason: &str) -> ConfigError {
    ConfigError::Invalid {
        name: name.to_owned(),
        reason: reason.to_owned(),
    }
}
