//! What a provider folder gives the emulator, and the `providers!` macro that turns the registry's
//! list of folders into the per-provider settings, state, routes and webhook dispatch.
//!
//! The generic machinery (state container, counters, faults, delays, deliveries, test controls,
//! tenants) only ever reaches a provider through what this macro generates.

use std::fmt::Debug;

use axum::Router;
use serde_json::{Map, Value};

use crate::delivery::AttemptTime;
use crate::Emulator;

/// One emulated provider: implemented by a marker type in the provider's folder.
pub trait Provider {
    /// The provider's name: its tag on deliveries, its entry in `PROVIDERS`, and the last segment
    /// of its webhook route at our API (`/v1/webhooks/{name}`).
    const NAME: &'static str;
    /// Credentials, ids, webhook target and timings (test values, never real ones).
    type Settings: Clone + Debug + Default + Send + Sync + 'static;
    /// What the provider remembers between calls, per emulator (per tenant).
    type State: Default + Send + 'static;

    /// Every endpoint and page of the provider, relative to the emulator's base.
    fn routes() -> Router<Emulator>;

    /// The environment the functions read to reach this provider at `base_url`.
    fn function_env(settings: &Self::Settings, base_url: &str) -> Vec<(String, String)>;

    /// Where this provider's webhooks go (`None`: they are only recorded).
    fn set_webhook_url(settings: &mut Self::Settings, url: Option<String>);

    /// One `--flag value` of `kyc-emulator`: `Ok(true)` when it is this provider's flag.
    fn parse_flag(settings: &mut Self::Settings, flag: &str, value: &str) -> Result<bool, String>;

    /// The request that delivers `body` (URL and authentication); `None` without a webhook URL.
    /// Built at each attempt, so a signature can carry the attempt's time.
    fn webhook_request(
        http: &reqwest::Client,
        settings: &Self::Settings,
        body: &str,
    ) -> Option<reqwest::RequestBuilder>;

    /// The request of one attempt of a delivery, knowing when it and the delivery's first attempt
    /// are made (a provider that does not re-sign retries signs with the first time). By default,
    /// [`Provider::webhook_request`].
    fn webhook_request_at(
        http: &reqwest::Client,
        settings: &Self::Settings,
        body: &str,
        _at: AttemptTime,
    ) -> Option<reqwest::RequestBuilder> {
        Self::webhook_request(http, settings, body)
    }

    /// One key of `POST /_emulator/config` that belongs to this provider: `None` when it does not.
    fn apply_setting(
        _settings: &mut Self::Settings,
        _key: &str,
        _value: &Value,
    ) -> Option<Result<(), String>> {
        None
    }

    /// This provider's part of the settings `POST /_emulator/config` answers with.
    fn describe_settings(_settings: &Self::Settings, _out: &mut Map<String, Value>) {}
}

/// A provider's `function_env` from `(variable, value)` pairs.
pub(crate) fn env(
    pairs: impl IntoIterator<Item = (&'static str, String)>,
) -> Vec<(String, String)> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// A `POST /_emulator/config` key that redirects a provider's webhooks: `None` unless `key` is
/// `expected`; `null` leaves the URL as it is.
pub(crate) fn webhook_url_setting(
    expected: &str,
    url: &mut Option<String>,
    key: &str,
    value: &Value,
) -> Option<Result<(), String>> {
    if key != expected {
        return None;
    }
    Some(match value {
        Value::Null => Ok(()),
        Value::String(new) => {
            *url = Some(new.clone());
            Ok(())
        }
        _ => Err(format!("{expected} is a URL")),
    })
}

/// Declares each provider folder as a module and builds, in registry order:
/// - `ProviderSettings`: one settings field per provider (`config.providers.<name>`);
/// - `ProviderStates`: one state field per provider (`inner.providers.<name>`);
/// - `Registry`: the names, the merged routes, and dispatch by name for everything else.
macro_rules! providers {
    ($($module:ident :: $kind:ident),+ $(,)?) => {
        $(pub mod $module;)+

        /// Every registered provider's settings, one field per provider folder.
        #[derive(Clone, Debug, Default)]
        pub struct ProviderSettings {
            $(pub $module: <$module::$kind as $crate::Provider>::Settings,)+
        }

        /// Every registered provider's state, one field per provider folder.
        #[derive(Default)]
        pub(crate) struct ProviderStates {
            $(pub(crate) $module: <$module::$kind as $crate::Provider>::State,)+
        }

        /// The registry's view of all providers at once.
        pub(crate) struct Registry;

        impl Registry {
            /// Every provider's name, in registry order.
            pub(crate) const NAMES: &[&str] = &[$(<$module::$kind as $crate::Provider>::NAME),+];

            /// Every provider's routes, merged.
            pub(crate) fn routes() -> ::axum::Router<$crate::Emulator> {
                ::axum::Router::new()$(.merge(<$module::$kind as $crate::Provider>::routes()))+
            }
        }

        impl ProviderSettings {
            /// The functions' environment for every provider, pointing at `base_url`.
            pub(crate) fn function_env(&self, base_url: &str) -> Vec<(String, String)> {
                let mut env = vec![("PROVIDERS".to_owned(), Registry::NAMES.join(","))];
                $(env.extend(<$module::$kind as $crate::Provider>::function_env(
                    &self.$module,
                    base_url,
                ));)+
                env
            }

            /// Point every provider's webhooks at `{api_base}/v1/webhooks/{name}`.
            pub(crate) fn set_api_url(&mut self, api_base: &str) {
                let api_base = api_base.trim_end_matches('/');
                $(<$module::$kind as $crate::Provider>::set_webhook_url(
                    &mut self.$module,
                    Some(format!(
                        "{api_base}/v1/webhooks/{}",
                        <$module::$kind as $crate::Provider>::NAME
                    )),
                );)+
            }

            /// Offer a `--flag value` to each provider; `Ok(false)` when none knows it.
            pub(crate) fn parse_flag(&mut self, flag: &str, value: &str) -> Result<bool, String> {
                $(if <$module::$kind as $crate::Provider>::parse_flag(&mut self.$module, flag, value)? {
                    return Ok(true);
                })+
                Ok(false)
            }

            /// Offer a `POST /_emulator/config` key to each provider; `None` when none knows it.
            pub(crate) fn apply_setting(
                &mut self,
                key: &str,
                value: &::serde_json::Value,
            ) -> Option<Result<(), String>> {
                $(if let Some(done) = <$module::$kind as $crate::Provider>::apply_setting(
                    &mut self.$module,
                    key,
                    value,
                ) {
                    return Some(done);
                })+
                None
            }

            /// Every provider's part of the settings view.
            pub(crate) fn describe(&self, out: &mut ::serde_json::Map<String, ::serde_json::Value>) {
                $(<$module::$kind as $crate::Provider>::describe_settings(&self.$module, out);)+
            }

            /// The request of one attempt delivering `body` for the provider called `name`.
            pub(crate) fn webhook_request(
                &self,
                name: &str,
                http: &::reqwest::Client,
                body: &str,
                at: $crate::delivery::AttemptTime,
            ) -> Option<::reqwest::RequestBuilder> {
                $(if name == <$module::$kind as $crate::Provider>::NAME {
                    return <$module::$kind as $crate::Provider>::webhook_request_at(
                        http,
                        &self.$module,
                        body,
                        at,
                    );
                })+
                None
            }
        }
    };
}
