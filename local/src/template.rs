//! Reads `template.yaml`, the one declaration of the table and the routes, so the local stack and
//! the tests cannot drift from what `sam deploy` creates.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use serde_norway::Value;

pub mod secrets;

pub use secrets::{FunctionSecrets, SecretsDecl};

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("template.yaml is not valid YAML: {0}")]
    Yaml(#[from] serde_norway::Error),
    #[error("template.yaml: {0}")]
    Shape(String),
}

/// One HTTP API route of a function, as declared in the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub method: String,
    pub path: String,
    /// The function's crate, from its `CodeUri` (`create-verification`).
    pub function: String,
    /// Whether the route is callable without IAM auth at the gateway.
    pub public: bool,
}

/// The table declaration, ready for `CreateTable`.
#[derive(Debug, Clone)]
pub struct TableSpec {
    pub attributes: Vec<AttributeDefinition>,
    pub key_schema: Vec<KeySchemaElement>,
    pub global_indexes: Vec<GlobalSecondaryIndex>,
    pub ttl_attribute: Option<String>,
    /// `StreamSpecification.StreamViewType` (notify reads the stream).
    pub stream_view_type: Option<String>,
}

/// A DynamoDB action and where it applies: `table`, or `index/<name>` of the one table.
pub type Grant = (String, String);

#[derive(Debug, Clone)]
pub struct Template {
    pub table: TableSpec,
    pub routes: Vec<Route>,
    /// Per function crate, the DynamoDB actions its IAM policy allows.
    pub grants: BTreeMap<String, BTreeSet<Grant>>,
    /// The secrets each function names and may read, and any secret value in an environment.
    pub secrets: SecretsDecl,
}

/// The repository's `template.yaml`.
pub fn default_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("template.yaml")
}

fn shape(msg: impl Into<String>) -> TemplateError {
    TemplateError::Shape(msg.into())
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn parse_key_schema(list: &Value) -> Result<Vec<KeySchemaElement>, TemplateError> {
    list.as_sequence()
        .ok_or_else(|| shape("KeySchema must be a list"))?
        .iter()
        .map(|k| {
            let name = str_at(k, "AttributeName")
                .ok_or_else(|| shape("KeySchema entry without AttributeName"))?;
            let kind = KeyType::from(
                str_at(k, "KeyType").ok_or_else(|| shape("KeySchema entry without KeyType"))?,
            );
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(|e| shape(e.to_string()))
        })
        .collect()
}

/// The function's crate, from its `CodeUri` (`functions/create-verification`).
fn function_name(props: &Value) -> Result<String, TemplateError> {
    let code_uri = str_at(props, "CodeUri").ok_or_else(|| shape("function without CodeUri"))?;
    Ok(code_uri
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(code_uri)
        .to_owned())
}

/// The function's HTTP API routes.
fn function_routes(function: &str, props: &Value) -> Result<Vec<Route>, TemplateError> {
    let Some(events) = props.get("Events").and_then(Value::as_mapping) else {
        return Ok(Vec::new());
    };
    let mut routes = Vec::new();
    for (_, event) in events {
        if str_at(event, "Type") != Some("HttpApi") {
            continue;
        }
        let p = event
            .get("Properties")
            .ok_or_else(|| shape("HttpApi event without Properties"))?;
        let public = p
            .get("Auth")
            .and_then(|a| str_at(a, "Authorizer"))
            .is_some_and(|a| a == "NONE");
        routes.push(Route {
            method: str_at(p, "Method")
                .ok_or_else(|| shape("route without Method"))?
                .to_uppercase(),
            path: str_at(p, "Path")
                .ok_or_else(|| shape("route without Path"))?
                .to_owned(),
            function: function.to_owned(),
            public,
        });
    }
    Ok(routes)
}

/// Where a policy statement's `Resource` points: the table (`!GetAtt VerificationsTable.Arn`),
/// one of its indexes (`!Sub "${VerificationsTable.Arn}/index/<name>"`), or something else.
fn resource_kind(resource: &Value) -> String {
    match resource {
        Value::Tagged(t) => {
            let text = t.value.as_str().unwrap_or_default();
            match (t.tag.to_string().trim_start_matches('!'), text) {
                ("GetAtt", "VerificationsTable.Arn") => "table".to_owned(),
                ("GetAtt", "VerificationsTable.StreamArn") => "stream".to_owned(),
                ("Sub", s) if s.starts_with("${VerificationsTable.Arn}/") => s
                    .trim_start_matches("${VerificationsTable.Arn}/")
                    .to_owned(),
                (tag, s) => format!("{tag} {s}"),
            }
        }
        other => other.as_str().unwrap_or("?").to_owned(),
    }
}

/// The statements of a function's inline policies.
pub(crate) fn policy_statements(props: &Value) -> impl Iterator<Item = &Value> {
    props
        .get("Policies")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("Statement").and_then(Value::as_sequence))
        .flatten()
}

/// A statement's actions, written as one string or a list.
pub(crate) fn statement_actions(statement: &Value) -> Vec<&str> {
    match statement.get("Action") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Sequence(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Every `dynamodb:*` action the function's inline policy statements allow, with its resource.
fn dynamodb_grants(props: &Value) -> BTreeSet<Grant> {
    let mut grants = BTreeSet::new();
    for statement in policy_statements(props) {
        let resource = statement
            .get("Resource")
            .map(resource_kind)
            .unwrap_or_default();
        for action in statement_actions(statement) {
            if action.starts_with("dynamodb:") {
                grants.insert((action.to_owned(), resource.clone()));
            }
        }
    }
    grants
}

impl Template {
    pub fn load(path: &Path) -> Result<Self, TemplateError> {
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let doc: Value = serde_norway::from_str(text)?;
        let resources = doc
            .get("Resources")
            .and_then(Value::as_mapping)
            .ok_or_else(|| shape("no Resources"))?;
        let mut table = None;
        let mut routes = Vec::new();
        let mut grants = BTreeMap::new();
        for (_, resource) in resources {
            let props = resource.get("Properties");
            match str_at(resource, "Type") {
                Some("AWS::DynamoDB::Table") => {
                    if table.is_some() {
                        return Err(shape("more than one DynamoDB table; the design has one"));
                    }
                    table = Some(Self::table(
                        props.ok_or_else(|| shape("table without Properties"))?,
                    )?);
                }
                Some("AWS::Serverless::Function") => {
                    let Some(props) = props else { continue };
                    let function = function_name(props)?;
                    routes.extend(function_routes(&function, props)?);
                    grants.insert(function, dynamodb_grants(props));
                }
                _ => {}
            }
        }
        Ok(Self {
            table: table.ok_or_else(|| shape("no AWS::DynamoDB::Table"))?,
            routes,
            grants,
            secrets: secrets::parse(&doc, |props| function_name(props).ok()),
        })
    }

    fn table(props: &Value) -> Result<TableSpec, TemplateError> {
        let attributes = props
            .get("AttributeDefinitions")
            .and_then(Value::as_sequence)
            .ok_or_else(|| shape("AttributeDefinitions must be a list"))?
            .iter()
            .map(|a| {
                AttributeDefinition::builder()
                    .attribute_name(str_at(a, "AttributeName").unwrap_or_default())
                    .attribute_type(ScalarAttributeType::from(
                        str_at(a, "AttributeType").unwrap_or_default(),
                    ))
                    .build()
                    .map_err(|e| shape(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let key_schema = parse_key_schema(
            props
                .get("KeySchema")
                .ok_or_else(|| shape("no KeySchema"))?,
        )?;
        let mut global_indexes = Vec::new();
        if let Some(list) = props
            .get("GlobalSecondaryIndexes")
            .and_then(Value::as_sequence)
        {
            for g in list {
                let projection = g
                    .get("Projection")
                    .and_then(|p| str_at(p, "ProjectionType"))
                    .unwrap_or("ALL");
                global_indexes.push(
                    GlobalSecondaryIndex::builder()
                        .index_name(
                            str_at(g, "IndexName")
                                .ok_or_else(|| shape("index without IndexName"))?,
                        )
                        .set_key_schema(Some(parse_key_schema(
                            g.get("KeySchema")
                                .ok_or_else(|| shape("index without KeySchema"))?,
                        )?))
                        .projection(
                            Projection::builder()
                                .projection_type(ProjectionType::from(projection))
                                .build(),
                        )
                        .build()
                        .map_err(|e| shape(e.to_string()))?,
                );
            }
        }
        let ttl_attribute = props
            .get("TimeToLiveSpecification")
            .filter(|t| t.get("Enabled").and_then(Value::as_bool).unwrap_or(false))
            .and_then(|t| str_at(t, "AttributeName"))
            .map(str::to_owned);
        let stream_view_type = props
            .get("StreamSpecification")
            .and_then(|t| str_at(t, "StreamViewType"))
            .map(str::to_owned);
        Ok(TableSpec {
            attributes,
            key_schema,
            global_indexes,
            ttl_attribute,
            stream_view_type,
        })
    }
}

impl TableSpec {
    /// Create the table (on demand, like the template) and switch on its TTL.
    pub async fn create(
        &self,
        client: &aws_sdk_dynamodb::Client,
        name: &str,
    ) -> Result<(), aws_sdk_dynamodb::Error> {
        client
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .set_attribute_definitions(Some(self.attributes.clone()))
            .set_key_schema(Some(self.key_schema.clone()))
            .set_global_secondary_indexes(
                (!self.global_indexes.is_empty()).then(|| self.global_indexes.clone()),
            )
            .set_stream_specification(self.stream_view_type.as_deref().map(|view| {
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::from(view))
                    .build()
                    .expect("stream_enabled is set")
            }))
            .send()
            .await?;
        if let Some(attr) = &self.ttl_attribute {
            client
                .update_time_to_live()
                .table_name(name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(attr)
                        .enabled(true)
                        .build()
                        .map_err(aws_sdk_dynamodb::Error::from)?,
                )
                .send()
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use shared::provider::PLUGINS;
    use shared::secrets::{self, SecretSpec};
    use shared::store::Port;
    use shared::wiring::events::{ListEventsDeps, NotifyDeps};
    use shared::wiring::{
        CreateVerificationDeps, FetchResultDeps, ReconcilerDeps, WebhookIngestDeps,
    };

    use super::*;

    #[test]
    fn the_repository_template_declares_one_table_and_every_route() {
        let t = Template::load(&default_path()).unwrap();
        let keys: Vec<_> = t
            .table
            .key_schema
            .iter()
            .map(|k| k.attribute_name().to_owned())
            .collect();
        assert_eq!(keys, ["pk", "sk"]);
        assert_eq!(t.table.ttl_attribute.as_deref(), Some("expires_at"));
        assert_eq!(
            t.table.stream_view_type.as_deref(),
            Some("NEW_AND_OLD_IMAGES")
        );
        let routes: Vec<_> = t
            .routes
            .iter()
            .map(|r| format!("{} {} {} {}", r.method, r.path, r.function, r.public))
            .collect();
        for expected in [
            "POST /v1/verifications create-verification false",
            "PATCH /v1/verifications/{id} create-verification false",
            "POST /v1/verifications/{id}/redact create-verification false",
            "GET /v1/verifications/{id} fetch-result false",
            "GET /v1/customers/{customer_id}/verification fetch-result false",
            "POST /v1/webhooks/{provider} webhook-ingest true",
            "GET /v1/events list-events false",
        ] {
            assert!(
                routes.contains(&expected.to_owned()),
                "{expected} not in {routes:?}"
            );
        }
    }

    /// The DynamoDB actions a set of ports stands for.
    fn grants_of(ports: &[Port]) -> BTreeSet<Grant> {
        ports
            .iter()
            .flat_map(|p| p.grants())
            .map(|(action, resource)| ((*action).to_owned(), (*resource).to_owned()))
            .collect()
    }

    #[test]
    fn each_functions_ports_are_exactly_what_its_iam_policy_allows() {
        let t = Template::load(&default_path()).unwrap();
        for (function, ports) in [
            ("create-verification", CreateVerificationDeps::PORTS),
            ("webhook-ingest", WebhookIngestDeps::PORTS),
            ("fetch-result", FetchResultDeps::PORTS),
            ("reconciler", ReconcilerDeps::PORTS),
            ("list-events", ListEventsDeps::PORTS),
            ("deliver", &[]),
        ] {
            assert_eq!(
                t.grants.get(function),
                Some(&grants_of(ports)),
                "{function}: template policy vs the ports its code holds"
            );
        }
        // notify: its port, and the stream reads of its event source mapping.
        let mut notify = grants_of(NotifyDeps::PORTS);
        for read in [
            "DescribeStream",
            "GetRecords",
            "GetShardIterator",
            "ListStreams",
        ] {
            notify.insert((format!("dynamodb:{read}"), "stream".to_owned()));
        }
        assert_eq!(t.grants.get("notify"), Some(&notify));
        // fetch-result can read (a Query on a verification's key) and store a refresh, and
        // nothing of a create or the index.
        let fetch = &t.grants["fetch-result"];
        assert!(!fetch.iter().any(|(a, r)| a == "dynamodb:DeleteItem"
            || (a == "dynamodb:Query" && r != shared::store::TABLE)));
    }

    /// The delivery queue hands a message to the dead-letter queue after exactly the retry
    /// schedule's attempts, and keeps it longer than the schedule lasts.
    #[test]
    fn the_delivery_queue_matches_the_retry_schedule() {
        let text = std::fs::read_to_string(default_path()).unwrap();
        let doc: Value = serde_norway::from_str(&text).unwrap();
        let queue = &doc["Resources"]["DeliveryQueue"]["Properties"];
        let schedule = shared::events::retry::RetrySchedule::default();
        assert_eq!(
            queue["RedrivePolicy"]["maxReceiveCount"].as_u64(),
            Some(u64::from(schedule.attempts()))
        );
        let longest: u64 = shared::events::retry::DEFAULT_DELAYS_SECONDS
            .iter()
            .map(|s| s * 11 / 10)
            .sum();
        assert!(queue["MessageRetentionPeriod"].as_u64().unwrap() > longest);
    }

    #[test]
    fn no_function_environment_holds_a_secret_value() {
        let t = Template::load(&default_path()).unwrap();
        assert_eq!(t.secrets.leaks, Vec::<String>::new());
    }

    /// Every secret any provider (or the general configuration) declares.
    fn declared() -> Vec<SecretSpec> {
        std::iter::once(secrets::IDEMPOTENCY_SECRET)
            .chain(PLUGINS.iter().flat_map(|p| p.secrets.iter().copied()))
            .collect()
    }

    #[test]
    fn each_function_names_and_may_read_exactly_the_secrets_of_its_uses() {
        let t = Template::load(&default_path()).unwrap();
        for (function, uses) in [
            ("create-verification", CreateVerificationDeps::SECRETS),
            ("webhook-ingest", WebhookIngestDeps::SECRETS),
            ("fetch-result", FetchResultDeps::SECRETS),
            ("reconciler", ReconcilerDeps::SECRETS),
        ] {
            let f = &t.secrets.functions[function];
            let (used, _) = secrets::plan(&declared(), uses);
            let expected: BTreeSet<&str> = used.iter().map(|n| n.as_str()).collect();
            let named: BTreeSet<&str> = f.by_variable.keys().map(String::as_str).collect();
            assert_eq!(
                named, expected,
                "{function}: X_ARN variables vs its secret uses"
            );
            let arns: BTreeSet<String> = f.by_variable.values().cloned().collect();
            assert_eq!(
                f.readable, arns,
                "{function}: GetSecretValue only on its own secrets"
            );
            assert!(f.batch, "{function}: BatchGetSecretValue");
            assert_eq!(
                f.other,
                Vec::<String>::new(),
                "{function}: other secret grants"
            );
            assert!(
                f.readable.is_subset(&t.secrets.resources),
                "{function}: every secret it reads is a Secrets Manager secret of the stack"
            );
        }
        // Only the webhook function reads webhook credentials; only create the idempotency key.
        let names = |f: &str| t.secrets.functions[f].by_variable.clone();
        assert!(names("fetch-result").keys().all(|k| !k.contains("WEBHOOK")));
        assert!(names("create-verification").contains_key("IDEMPOTENCY_SECRET"));
        assert!(!names("webhook-ingest").contains_key("IDEMPOTENCY_SECRET"));
        // deliver reads the outbound signing keys and nothing else; no other function reads them.
        let deliver = &t.secrets.functions["deliver"];
        assert_eq!(
            deliver.by_variable.keys().collect::<Vec<_>>(),
            [shared::wiring::events::OUTBOUND_WEBHOOK_SECRETS.as_str()]
        );
        assert_eq!(
            deliver.readable,
            deliver.by_variable.values().cloned().collect()
        );
        assert!([
            "create-verification",
            "webhook-ingest",
            "fetch-result",
            "reconciler"
        ]
        .iter()
        .all(|f| !names(f).contains_key("OUTBOUND_WEBHOOK_SECRETS")));
    }
}
