//! IAM on localhost: each function's DynamoDB client carries a [`PolicyGuard`] that refuses any
//! call its policy in `template.yaml` does not grant, the way IAM answers `AccessDenied` on AWS.
//! So every test and every `make dev` session exercises each function with exactly its role's
//! permissions, and a port that reaches beyond them fails at the call, not in production.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::operation::query::QueryInput;
use aws_sdk_dynamodb::operation::scan::ScanInput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, Input,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use crate::template::Grant;

#[derive(Clone, Debug)]
pub struct PolicyGuard {
    function: String,
    grants: Arc<BTreeSet<Grant>>,
    denied: Arc<Mutex<Vec<String>>>,
}

fn grant(action: &str, resource: &str) -> Grant {
    (format!("dynamodb:{action}"), resource.to_owned())
}

/// Where a read goes: the table, or `index/<name>`.
fn target(index: Option<&str>) -> String {
    index.map_or_else(|| "table".to_owned(), |i| format!("index/{i}"))
}

/// The IAM actions one call needs. A transaction needs each of its items' own actions.
fn needed(operation: &str, input: &Input) -> Vec<Grant> {
    match operation {
        "TransactWriteItems" => input
            .downcast_ref::<TransactWriteItemsInput>()
            .map(|t| {
                t.transact_items()
                    .iter()
                    .map(|item| {
                        let action = if item.put().is_some() {
                            "PutItem"
                        } else if item.update().is_some() {
                            "UpdateItem"
                        } else if item.delete().is_some() {
                            "DeleteItem"
                        } else {
                            "ConditionCheckItem"
                        };
                        grant(action, "table")
                    })
                    .collect()
            })
            .unwrap_or_default(),
        "Query" => {
            let index = input
                .downcast_ref::<QueryInput>()
                .and_then(|q| q.index_name());
            vec![(format!("dynamodb:{operation}"), target(index))]
        }
        "Scan" => {
            let index = input
                .downcast_ref::<ScanInput>()
                .and_then(|q| q.index_name());
            vec![(format!("dynamodb:{operation}"), target(index))]
        }
        other => vec![grant(other, "table")],
    }
}

impl PolicyGuard {
    pub fn new(function: &str, grants: BTreeSet<Grant>) -> Self {
        Self {
            function: function.to_owned(),
            grants: Arc::new(grants),
            denied: Arc::default(),
        }
    }

    /// Every call refused so far, as `action on resource`.
    pub fn denied(&self) -> Vec<String> {
        self.denied.lock().map(|d| d.clone()).unwrap_or_default()
    }
}

impl Intercept for PolicyGuard {
    fn name(&self) -> &'static str {
        "PolicyGuard"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg.load::<Metadata>().map_or("unknown", |m| m.name());
        for (action, resource) in needed(operation, context.input()) {
            if !self.grants.contains(&(action.clone(), resource.clone())) {
                let what = format!("{action} on {resource}");
                tracing::error!(function = %self.function, denied = %what, "AccessDenied: the function's IAM policy does not allow this call");
                if let Ok(mut d) = self.denied.lock() {
                    d.push(what.clone());
                }
                return Err(format!(
                    "AccessDeniedException: {} is not authorized to perform {what}",
                    self.function
                )
                .into());
            }
        }
        Ok(())
    }
}
