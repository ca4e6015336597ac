//! The one way environment variables are read: trimmed, empty means unset, every problem named
//! ([`ConfigError`]). The general configuration and every provider's own settings use it.
//!
//! Secrets are read with [`Env::secret`] and [`Env::secrets`]: from the environment, or, at init
//! of a Lambda function, from the values its secret source loaded (see [`crate::secrets`]).

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::secrets::LoadedSecrets;

/// The shortest webhook secret or password accepted (each of a rotation list): shorter ones can
/// be guessed or brute-forced offline from one signed delivery.
pub const MIN_WEBHOOK_SECRET_LEN: usize = 16;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("missing environment variable {0}")]
    Missing(String),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: String, reason: String },
}

/// Reads environment variables the one way: trimmed, empty means unset, every problem named.
pub struct Env<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    secrets: Option<&'a LoadedSecrets>,
}

/// A secret as configuration sees it.
enum Secret {
    /// Declared, but not one this function uses.
    Unused,
    Absent,
    Value(String),
}

impl<'a> Env<'a> {
    /// Everything, secrets included, from `lookup`.
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self {
            lookup,
            secrets: None,
        }
    }

    /// Settings from `lookup`, secrets from `secrets` (only the declared ones may be read).
    pub fn with_secrets(
        lookup: &'a dyn Fn(&str) -> Option<String>,
        secrets: &'a LoadedSecrets,
    ) -> Self {
        Self {
            lookup,
            secrets: Some(secrets),
        }
    }

    pub fn optional(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
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

    fn read_secret(&self, name: &str) -> Result<Secret, ConfigError> {
        let text = match self.secrets {
            None => self.optional(name),
            Some(loaded) => {
                let (key, used) = loaded
                    .status(name)
                    .ok_or_else(|| invalid(name, "is read as a secret but not declared as one"))?;
                if !used {
                    return Ok(Secret::Unused);
                }
                loaded
                    .values
                    .get(&key)
                    .map(|v| v.expose_secret().trim().to_owned())
                    .filter(|v| !v.is_empty())
            }
        };
        Ok(text.map_or(Secret::Absent, Secret::Value))
    }

    /// A required secret.
    pub fn secret(&self, name: &str) -> Result<SecretString, ConfigError> {
        self.secret_if_used(name)?
            .ok_or_else(|| ConfigError::Missing(name.to_owned()))
    }

    /// A secret required where this function uses it; `None` where it does not.
    pub fn secret_if_used(&self, name: &str) -> Result<Option<SecretString>, ConfigError> {
        match self.read_secret(name)? {
            Secret::Unused => Ok(None),
            Secret::Absent => Err(ConfigError::Missing(name.to_owned())),
            Secret::Value(v) => Ok(Some(SecretString::from(v))),
        }
    }

    /// A required comma-separated list of webhook secrets or passwords (several at once while
    /// rotating), each at least [`MIN_WEBHOOK_SECRET_LEN`] characters; empty where this function
    /// does not use them (it then accepts none).
    pub fn secrets(&self, name: &str) -> Result<Vec<SecretString>, ConfigError> {
        let text = match self.read_secret(name)? {
            Secret::Unused => return Ok(Vec::new()),
            Secret::Absent => String::new(),
            Secret::Value(v) => v,
        };
        let items: Vec<&str> = text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if items.is_empty() {
            return Err(ConfigError::Missing(name.to_owned()));
        }
        if items
            .iter()
            .any(|s| s.chars().count() < MIN_WEBHOOK_SECRET_LEN)
        {
            return Err(invalid(
                name,
                &format!("each value must be at least {MIN_WEBHOOK_SECRET_LEN} characters"),
            ));
        }
        Ok(items
            .into_iter()
            .map(|s| SecretString::from(s.to_owned()))
            .collect())
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
