//! Reads `template.yaml`, the one declaration of the table and the routes, so the local stack and
//! the tests cannot drift from what `sam deploy` creates.

use std::path::{Path, PathBuf};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use serde_norway::Value;

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
}

#[derive(Debug, Clone)]
pub struct Template {
    pub table: TableSpec,
    pub routes: Vec<Route>,
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
                    let code_uri = str_at(props, "CodeUri")
                        .ok_or_else(|| shape("function without CodeUri"))?;
                    let function = code_uri
                        .trim_end_matches('/')
                        .rsplit('/')
                        .next()
                        .unwrap_or(code_uri)
                        .to_owned();
                    let Some(events) = props.get("Events").and_then(Value::as_mapping) else {
                        continue;
                    };
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
                            function: function.clone(),
                            public,
                        });
                    }
                }
                _ => {}
            }
        }
        Ok(Self {
            table: table.ok_or_else(|| shape("no AWS::DynamoDB::Table"))?,
            routes,
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
        Ok(TableSpec {
            attributes,
            key_schema,
            global_indexes,
            ttl_attribute,
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
        let routes: Vec<_> = t
            .routes
            .iter()
            .map(|r| format!("{} {} {} {}", r.method, r.path, r.function, r.public))
            .collect();
        for expected in [
            "POST /v1/verifications create-verification false",
            "PATCH /v1/verifications/{id} create-verification false",
            "GET /v1/verifications/{id} fetch-result false",
            "GET /v1/customers/{customer_id}/verification fetch-result false",
            "POST /v1/webhooks/{provider} webhook-ingest true",
        ] {
            assert!(
                routes.contains(&expected.to_owned()),
                "{expected} not in {routes:?}"
            );
        }
    }
}
