//! The AWS Secrets Manager adapter: one `BatchGetSecretValue` for all of a function's secrets
//! (up to 20 a call, the API's limit), through the official SDK on our reqwest transport
//! ([`crate::net`]), the same as DynamoDB's.
//!
//! IAM: `secretsmanager:BatchGetSecretValue` (which has no resource) plus
//! `secretsmanager:GetSecretValue` on each secret read.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_secretsmanager::types::{ApiErrorType, SecretValueEntry};
use secrecy::SecretString;

use super::{SecretError, SecretName, SecretSource, SecretValues};

/// `BatchGetSecretValue` takes at most this many ids.
const BATCH: usize = 20;

/// Reads the secrets whose `X_ARN` is set, by that ARN (or secret name).
#[derive(Clone)]
pub struct SecretsManagerSecrets {
    client: aws_sdk_secretsmanager::Client,
    ids: BTreeMap<SecretName, String>,
}

impl SecretsManagerSecrets {
    /// `ids`: each secret's ARN or name in Secrets Manager.
    pub fn new(client: aws_sdk_secretsmanager::Client, ids: BTreeMap<SecretName, String>) -> Self {
        Self { client, ids }
    }

    /// The `X_ARN` variables set (non-blank) among `names`.
    pub fn ids_from_env(
        lookup: &dyn Fn(&str) -> Option<String>,
        names: &[SecretName],
    ) -> BTreeMap<SecretName, String> {
        names
            .iter()
            .filter_map(|n| {
                let id = lookup(&n.arn_variable())?.trim().to_owned();
                (!id.is_empty()).then_some((*n, id))
            })
            .collect()
    }

    /// Whether `name` is read from Secrets Manager.
    pub fn holds(&self, name: SecretName) -> bool {
        self.ids.contains_key(&name)
    }

    /// One batch: each requested secret's value, or the error that names it.
    async fn batch(
        &self,
        wanted: &[(SecretName, &str)],
        values: &mut SecretValues,
    ) -> Result<(), SecretError> {
        let out = self
            .client
            .batch_get_secret_value()
            .set_secret_id_list(Some(
                wanted.iter().map(|(_, id)| (*id).to_owned()).collect(),
            ))
            .send()
            .await
            .map_err(|e| {
                SecretError::Unavailable(
                    aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string(),
                )
            })?;
        for (name, id) in wanted {
            let value = entry(out.secret_values(), out.errors(), *name, id)?;
            values.insert(*name, value);
        }
        Ok(())
    }
}

/// The value of the secret asked for as `id`, or why there is none.
fn entry(
    found: &[SecretValueEntry],
    errors: &[ApiErrorType],
    name: SecretName,
    id: &str,
) -> Result<SecretString, SecretError> {
    let is_it = |e: &&SecretValueEntry| e.arn() == Some(id) || e.name() == Some(id);
    if let Some(entry) = found.iter().find(is_it) {
        return entry
            .secret_string()
            .map(|s| SecretString::from(s.to_owned()))
            .ok_or_else(|| SecretError::Unreadable {
                name,
                reason: "not a text secret (SecretBinary)".into(),
            });
    }
    match errors
        .iter()
        .find(|e| e.secret_id() == Some(id))
        .and_then(ApiErrorType::error_code)
    {
        None | Some("ResourceNotFoundException") => Err(SecretError::Missing { name }),
        Some(code) => Err(SecretError::Unreadable {
            name,
            reason: code.to_owned(),
        }),
    }
}

#[async_trait]
impl SecretSource for SecretsManagerSecrets {
    async fn load(&self, names: &[SecretName]) -> Result<SecretValues, SecretError> {
        let wanted = names
            .iter()
            .map(|n| match self.ids.get(n) {
                Some(id) => Ok((*n, id.as_str())),
                None => Err(SecretError::Unreadable {
                    name: *n,
                    reason: "no ARN configured".into(),
                }),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut values = SecretValues::with_capacity(wanted.len());
        for chunk in wanted.chunks(BATCH) {
            self.batch(chunk, &mut values).await?;
        }
        Ok(values)
    }
}
