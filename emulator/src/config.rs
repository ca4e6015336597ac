//! How an emulator is set up: each provider's settings, plus the standing chaos settings that
//! apply to every webhook whatever its provider. Also what `kyc-emulator`'s flags and
//! `POST /_emulator/config` change.

use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::ProviderSettings;

/// A decision a tester picks for a verification (on a page, or as the standing default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Approve,
    Reject,
}

impl Outcome {
    /// `approve` or `reject`.
    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "approve" => Some(Self::Approve),
            "reject" => Some(Self::Reject),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Reject => "reject",
        }
    }
}

/// How the emulator is set up. Credentials are test values, never real ones.
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    /// Each provider's own settings (`providers.<name>`): credentials, ids, webhook target, timings.
    pub providers: ProviderSettings,
    /// Deliver webhooks as they happen; when off they wait for `/_emulator/deliveries/{n}/deliver`.
    pub auto_deliver: bool,
    /// The emulator's own address, for links it hands out (set when it starts serving, or to the
    /// tenant's base `…/t/{id}` when it is a tenant of a shared server).
    pub public_url: Option<String>,
    /// Webhook chaos, as standing settings: every webhook sent twice; each held until the next
    /// one and sent after it (out of order); sent late; or recorded and never sent.
    pub duplicate_webhooks: bool,
    pub reorder_webhooks: bool,
    pub webhook_delay: Duration,
    pub drop_webhooks: bool,
    /// When set, every new verification on a provider with a hosted flow completes by itself with
    /// this outcome (no page needed).
    pub default_outcome: Option<Outcome>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            providers: ProviderSettings::default(),
            auto_deliver: true,
            public_url: None,
            duplicate_webhooks: false,
            reorder_webhooks: false,
            webhook_delay: Duration::ZERO,
            drop_webhooks: false,
            default_outcome: None,
        }
    }
}

impl EmulatorConfig {
    /// A `kyc-emulator` flag without a value; `false` when it is not one.
    pub fn parse_switch(&mut self, flag: &str) -> bool {
        match flag {
            "--manual-delivery" => self.auto_deliver = false,
            "--drop-webhooks" => self.drop_webhooks = true,
            "--duplicate-webhooks" => self.duplicate_webhooks = true,
            "--reorder-webhooks" => self.reorder_webhooks = true,
            _ => return false,
        }
        true
    }

    /// A `kyc-emulator` flag with its value: the chaos ones here, each provider's in its folder.
    /// `Ok(false)` when nobody knows the flag.
    pub fn parse_flag(&mut self, flag: &str, value: &str) -> Result<bool, String> {
        match flag {
            "--webhook-delay-ms" => {
                let ms = value
                    .parse()
                    .map_err(|_| "--webhook-delay-ms takes milliseconds".to_owned())?;
                self.webhook_delay = Duration::from_millis(ms);
                Ok(true)
            }
            "--default-outcome" => {
                let outcome = Outcome::parse(value)
                    .ok_or_else(|| "--default-outcome is approve or reject".to_owned())?;
                self.default_outcome = Some(outcome);
                Ok(true)
            }
            _ => self.providers.parse_flag(flag, value),
        }
    }

    /// Apply every key of a `POST /_emulator/config` body, all or nothing. A `null` leaves a
    /// setting as it is, except `default_outcome`, where it clears the default.
    pub(crate) fn apply_patch(&mut self, patch: &Map<String, Value>) -> Result<(), String> {
        let mut next = self.clone();
        for (key, value) in patch {
            next.apply_setting(key, value)?;
        }
        *self = next;
        Ok(())
    }

    fn apply_setting(&mut self, key: &str, value: &Value) -> Result<(), String> {
        let flag = |target: &mut bool| match value {
            Value::Null => Ok(()),
            Value::Bool(b) => {
                *target = *b;
                Ok(())
            }
            _ => Err(format!("{key} is true or false")),
        };
        match key {
            "auto_deliver" => flag(&mut self.auto_deliver),
            "duplicate_webhooks" => flag(&mut self.duplicate_webhooks),
            "reorder_webhooks" => flag(&mut self.reorder_webhooks),
            "drop_webhooks" => flag(&mut self.drop_webhooks),
            "webhook_delay_ms" => match value {
                Value::Null => Ok(()),
                v => {
                    let ms = v.as_u64().ok_or("webhook_delay_ms is a whole number")?;
                    self.webhook_delay = Duration::from_millis(ms);
                    Ok(())
                }
            },
            "default_outcome" => match value {
                Value::Null => {
                    self.default_outcome = None;
                    Ok(())
                }
                v => {
                    let outcome = v
                        .as_str()
                        .and_then(Outcome::parse)
                        .ok_or_else(|| format!("unknown outcome {v}: approve, reject or null"))?;
                    self.default_outcome = Some(outcome);
                    Ok(())
                }
            },
            _ => self
                .providers
                .apply_setting(key, value)
                .unwrap_or_else(|| Err(format!("unknown setting {key}"))),
        }
    }

    /// The standing settings as `POST /_emulator/config` answers them.
    pub(crate) fn describe(&self) -> Value {
        let mut out = Map::new();
        out.insert("auto_deliver".into(), json!(self.auto_deliver));
        self.providers.describe(&mut out);
        out.insert("duplicate_webhooks".into(), json!(self.duplicate_webhooks));
        out.insert("reorder_webhooks".into(), json!(self.reorder_webhooks));
        let delay_ms = u64::try_from(self.webhook_delay.as_millis()).unwrap_or(u64::MAX);
        out.insert("webhook_delay_ms".into(), json!(delay_ms));
        out.insert("drop_webhooks".into(), json!(self.drop_webhooks));
        out.insert(
            "default_outcome".into(),
            json!(self.default_outcome.map(Outcome::as_str)),
        );
        Value::Object(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn when_a_patch_has_an_unknown_key_should_change_nothing() {
        let mut c = EmulatorConfig::default();
        let err = c
            .apply_patch(&patch(json!({"drop_webhooks": true, "colour": "blue"})))
            .unwrap_err();
        assert!(err.contains("colour"), "{err}");
        assert!(!c.drop_webhooks);
    }

    #[test]
    fn when_a_patch_sets_chaos_should_apply_each_and_describe_them() {
        let mut c = EmulatorConfig::default();
        c.apply_patch(&patch(json!({
            "auto_deliver": false, "duplicate_webhooks": true, "reorder_webhooks": null,
            "webhook_delay_ms": 400, "default_outcome": "reject"
        })))
        .unwrap();
        let d = c.describe();
        assert_eq!(d["auto_deliver"], false);
        assert_eq!(d["duplicate_webhooks"], true);
        assert_eq!(d["reorder_webhooks"], false);
        assert_eq!(d["webhook_delay_ms"], 400);
        assert_eq!(d["default_outcome"], "reject");
        c.apply_patch(&patch(json!({"default_outcome": null})))
            .unwrap();
        assert_eq!(c.default_outcome, None);
    }

    #[test]
    fn when_a_patch_has_a_wrong_type_should_refuse_it() {
        let mut c = EmulatorConfig::default();
        assert!(c
            .apply_patch(&patch(json!({"auto_deliver": "yes"})))
            .is_err());
        assert!(c
            .apply_patch(&patch(json!({"webhook_delay_ms": -1})))
            .is_err());
        assert!(c
            .apply_patch(&patch(json!({"default_outcome": "maybe"})))
            .is_err());
    }

    #[test]
    fn when_flags_are_given_should_set_chaos_and_refuse_bad_values() {
        let mut c = EmulatorConfig::default();
        assert!(c.parse_switch("--manual-delivery"));
        assert!(!c.auto_deliver);
        assert!(!c.parse_switch("--listen"));
        assert_eq!(c.parse_flag("--webhook-delay-ms", "250"), Ok(true));
        assert_eq!(c.webhook_delay, Duration::from_millis(250));
        assert!(c.parse_flag("--webhook-delay-ms", "soon").is_err());
        assert_eq!(c.parse_flag("--default-outcome", "approve"), Ok(true));
        assert!(c.parse_flag("--default-outcome", "maybe").is_err());
        assert_eq!(c.parse_flag("--no-such-flag", "x"), Ok(false));
    }
}
