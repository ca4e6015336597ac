//! Reading secrets again while the function runs: after `SECRETS_TTL_SECONDS`, and after a
//! webhook failed authentication (a rotated webhook secret or password). Each handler asks
//! [`SecretsRefresh::refresh_if_stale`] first (a clock read when nothing is due); webhook-ingest
//! asks [`SecretsRefresh::refresh_after_auth_failure`] after a 401 and, when the values changed,
//! authenticates once more.
//!
//! Changed values are handed to the function's `apply` (the wiring rebuilds the provider adapters
//! from them, which then swap in, see [`crate::provider::LiveAdapter`]). A read that fails, or
//! values that do not validate, keep the values in use and are logged by secret name only.

use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;

use super::{SecretName, SecretSource, SecretValues};
use crate::config::ConfigError;

/// A failed authentication reads the secrets again at most this often (the webhook route is
/// public: refused requests must not become a stream of Secrets Manager calls).
pub const MIN_INTERVAL: Duration = Duration::from_secs(30);

/// What changed values are applied with.
pub type Apply = Box<dyn Fn(&SecretValues) -> Result<(), ConfigError> + Send + Sync>;

/// The handle every handler holds; without secrets to refresh (all from the environment) it
/// does nothing.
#[derive(Clone, Default)]
pub struct SecretsRefresh(Option<Arc<Live>>);

struct Live {
    source: Arc<dyn SecretSource>,
    names: Vec<SecretName>,
    ttl: Duration,
    apply: Apply,
    state: tokio::sync::Mutex<State>,
}

struct State {
    checked_at: Instant,
    values: SecretValues,
}

impl SecretsRefresh {
    /// Nothing to refresh.
    pub fn none() -> Self {
        Self(None)
    }

    /// Refresh `names` from `source` (whose `values` were just read) every `ttl`.
    pub fn new(
        source: Arc<dyn SecretSource>,
        names: Vec<SecretName>,
        ttl: Duration,
        values: SecretValues,
        apply: Apply,
    ) -> Self {
        if names.is_empty() {
            return Self::none();
        }
        Self(Some(Arc::new(Live {
            source,
            names,
            ttl,
            apply,
            state: tokio::sync::Mutex::new(State {
                checked_at: Instant::now(),
                values,
            }),
        })))
    }

    /// Read the secrets again if they were last read `SECRETS_TTL_SECONDS` ago or more.
    pub async fn refresh_if_stale(&self) {
        let Some(live) = &self.0 else { return };
        let mut state = live.state.lock().await;
        if state.checked_at.elapsed() >= live.ttl {
            live.reload(&mut state).await;
        }
    }

    /// After a failed authentication: read the secrets again (unless that was done less than
    /// [`MIN_INTERVAL`] ago). Whether any value changed, so that authenticating again can help.
    pub async fn refresh_after_auth_failure(&self) -> bool {
        let Some(live) = &self.0 else { return false };
        let mut state = live.state.lock().await;
        if state.checked_at.elapsed() < MIN_INTERVAL.min(live.ttl) {
            return false;
        }
        live.reload(&mut state).await
    }
}

impl Live {
    /// One read; the new values applied if they differ. Whether they did and were applied.
    async fn reload(&self, state: &mut State) -> bool {
        state.checked_at = Instant::now();
        let values = match self.source.load(&self.names).await {
            Ok(values) => values,
            Err(e) => {
                tracing::warn!(error = %e, "secrets refresh failed; the values in use stay");
                return false;
            }
        };
        let changed: Vec<&str> = self
            .names
            .iter()
            .filter(|n| {
                values.get(*n).map(ExposeSecret::expose_secret)
                    != state.values.get(*n).map(ExposeSecret::expose_secret)
            })
            .map(SecretName::as_str)
            .collect();
        if changed.is_empty() {
            return false;
        }
        if let Err(e) = (self.apply)(&values) {
            tracing::warn!(error = %e, "refreshed secrets are invalid; the values in use stay");
            return false;
        }
        tracing::info!(secrets = ?changed, "secrets refreshed");
        state.values = values;
        true
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    use async_trait::async_trait;
    use secrecy::SecretString;

    use super::*;
    use crate::secrets::SecretError;

    const NAME: SecretName = SecretName::new("HOOK");

    /// A source whose value the test sets, counting its reads.
    #[derive(Default)]
    struct Settable {
        value: Mutex<String>,
        reads: AtomicUsize,
    }

    #[async_trait]
    impl SecretSource for Settable {
        async fn load(&self, _: &[SecretName]) -> Result<SecretValues, SecretError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            let v = self.value.lock().unwrap().clone();
            if v.is_empty() {
                return Err(SecretError::Unavailable("down".into()));
            }
            Ok(SecretValues::from([(NAME, SecretString::from(v))]))
        }
    }

    fn live(ttl: Duration) -> (Arc<Settable>, Arc<Mutex<Vec<String>>>, SecretsRefresh) {
        let source = Arc::new(Settable::default());
        *source.value.lock().unwrap() = "first-value".into();
        let applied = Arc::new(Mutex::new(Vec::new()));
        let seen = applied.clone();
        let apply: Apply = Box::new(move |v: &SecretValues| {
            let value = v[&NAME].expose_secret().to_owned();
            if value == "bad" {
                return Err(crate::config::invalid("HOOK", "too short"));
            }
            seen.lock().unwrap().push(value);
            Ok(())
        });
        let values = SecretValues::from([(NAME, SecretString::from("first-value".to_owned()))]);
        let refresh = SecretsRefresh::new(source.clone(), vec![NAME], ttl, values, apply);
        (source, applied, refresh)
    }

    #[tokio::test]
    async fn nothing_is_read_again_before_the_ttl() {
        let (source, applied, refresh) = live(Duration::from_secs(300));
        *source.value.lock().unwrap() = "second-value".into();
        refresh.refresh_if_stale().await;
        assert!(!refresh.refresh_after_auth_failure().await, "just read");
        assert_eq!(source.reads.load(Ordering::SeqCst), 0);
        assert!(applied.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn after_the_ttl_changed_values_are_applied_and_same_values_are_not() {
        let (source, applied, refresh) = live(Duration::ZERO);
        refresh.refresh_if_stale().await;
        assert!(applied.lock().unwrap().is_empty(), "unchanged");
        *source.value.lock().unwrap() = "second-value".into();
        refresh.refresh_if_stale().await;
        assert_eq!(*applied.lock().unwrap(), ["second-value"]);
        assert_eq!(source.reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failed_read_or_invalid_values_keep_the_values_in_use() {
        let (source, applied, refresh) = live(Duration::ZERO);
        source.value.lock().unwrap().clear();
        assert!(!refresh.refresh_after_auth_failure().await);
        *source.value.lock().unwrap() = "bad".into();
        assert!(!refresh.refresh_after_auth_failure().await);
        *source.value.lock().unwrap() = "rotated-value".into();
        assert!(refresh.refresh_after_auth_failure().await);
        assert_eq!(*applied.lock().unwrap(), ["rotated-value"]);
    }

    #[tokio::test]
    async fn without_secrets_to_refresh_nothing_happens() {
        let refresh = SecretsRefresh::none();
        refresh.refresh_if_stale().await;
        assert!(!refresh.refresh_after_auth_failure().await);
    }
}
