//! Tables come from `template.yaml`, the one definition of them: the same key schemas and
//! TTL attributes that CloudFormation deploys are created here on the emulator (or on a
//! real account), so local runs cannot drift from production.

use std::time::Duration;

use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use serde_yaml::Value;
use thiserror::Error;

/// The stage part of every table name in the template: `!Sub resetkit-${Stage}-users`.
const STAGE_PREFIX: &str = "resetkit-${Stage}-";

/// How long a new table may take to become ACTIVE on a real account.
const TABLE_ACTIVE_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, Error)]
pub enum TablesError {
    #[error("the template is not valid YAML: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("template resource {resource}: {reason}")]
    Template { resource: String, reason: String },
    #[error("table {table}: {action} failed: {source}")]
    Aws {
        table: String,
        action: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// One `AWS::DynamoDB::Table` of the template, with its name resolved for a stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    /// The resource's logical id (`UsersTable`).
    pub resource: String,
    pub name: String,
    /// `(name, S|N|B)`, as in `AttributeDefinitions`.
    pub attributes: Vec<(String, String)>,
    /// `(name, HASH|RANGE)`, as in `KeySchema`.
    pub keys: Vec<(String, String)>,
    /// The TTL attribute, when `TimeToLiveSpecification` enables one.
    pub ttl_attribute: Option<String>,
    /// `GlobalSecondaryIndexes`: name and key schema (every index projects all attributes).
    pub indexes: Vec<(String, Vec<(String, String)>)>,
}

/// Every table the template defines, in template order, named for `stage_prefix` (for
/// example `resetkit-dev-`): `!Sub resetkit-${Stage}-users` becomes `resetkit-dev-users`.
pub fn table_specs(template_yaml: &str, stage_prefix: &str) -> Result<Vec<TableSpec>, TablesError> {
    let template: Value = serde_yaml::from_str(template_yaml)?;
    let Some(resources) = template.get("Resources").and_then(Value::as_mapping) else {
        return Err(TablesError::Template {
            resource: "Resources".into(),
            reason: "missing or not a mapping".into(),
        });
    };
    let mut specs = Vec::new();
    for (id, resource) in resources {
        let id = id.as_str().unwrap_or("?").to_owned();
        if resource.get("Type").and_then(Value::as_str) != Some("AWS::DynamoDB::Table") {
            continue;
        }
        specs.push(table_spec(&id, resource, stage_prefix).map_err(|reason| {
            TablesError::Template {
                resource: id,
                reason,
            }
        })?);
    }
    Ok(specs)
}

fn table_spec(id: &str, resource: &Value, stage_prefix: &str) -> Result<TableSpec, String> {
    let props = resource.get("Properties").ok_or("no Properties")?;
    if props.get("LocalSecondaryIndexes").is_some() {
        return Err("LocalSecondaryIndexes are not supported by resetctl yet".into());
    }
    let name = match props.get("TableName") {
        Some(Value::Tagged(t)) if t.tag == "Sub" => {
            t.value.as_str().and_then(|s| s.strip_prefix(STAGE_PREFIX))
        }
        _ => None,
    }
    .filter(|suffix| !suffix.is_empty() && !suffix.contains("${"))
    .map(|suffix| format!("{stage_prefix}{suffix}"))
    .ok_or_else(|| format!("TableName must be !Sub {STAGE_PREFIX}<suffix>"))?;
    let pairs_in =
        |props: &Value, list: &str, second: &str| -> Result<Vec<(String, String)>, String> {
            let items = props
                .get(list)
                .and_then(Value::as_sequence)
                .ok_or_else(|| format!("{list} is not a list"))?;
            items
                .iter()
                .map(|item| {
                    let field = |k: &str| item.get(k).and_then(Value::as_str).map(str::to_owned);
                    field("AttributeName")
                        .zip(field(second))
                        .ok_or_else(|| format!("{list} entry lacks AttributeName or {second}"))
                })
                .collect()
        };
    let pairs = |list: &str, second: &str| pairs_in(props, list, second);
    let attributes = pairs("AttributeDefinitions", "AttributeType")?;
    let keys = pairs("KeySchema", "KeyType")?;
    let mut indexes = Vec::new();
    for index in props
        .get("GlobalSecondaryIndexes")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        let name = index
            .get("IndexName")
            .and_then(Value::as_str)
            .ok_or("a GlobalSecondaryIndexes entry lacks IndexName")?;
        let projection = index
            .get("Projection")
            .and_then(|p| p.get("ProjectionType"))
            .and_then(Value::as_str);
        if projection != Some("ALL") {
            return Err(format!(
                "index {name}: only ProjectionType ALL is supported"
            ));
        }
        indexes.push((name.to_owned(), pairs_in(index, "KeySchema", "KeyType")?));
    }
    if let Some((_, t)) = attributes
        .iter()
        .find(|(_, t)| !matches!(t.as_str(), "S" | "N" | "B"))
    {
        return Err(format!("AttributeType {t} is not S, N or B"));
    }
    if let Some((_, k)) = keys
        .iter()
        .find(|(_, k)| !matches!(k.as_str(), "HASH" | "RANGE"))
    {
        return Err(format!("KeyType {k} is not HASH or RANGE"));
    }
    let ttl_attribute = match props.get("TimeToLiveSpecification") {
        None => None,
        Some(ttl) => {
            match (
                ttl.get("AttributeName").and_then(Value::as_str),
                ttl.get("Enabled").and_then(Value::as_bool),
            ) {
                (Some(attr), Some(true)) => Some(attr.to_owned()),
                (Some(_), Some(false)) => None,
                _ => {
                    return Err(
                        "TimeToLiveSpecification needs AttributeName and a literal Enabled".into(),
                    )
                }
            }
        }
    };
    Ok(TableSpec {
        resource: id.to_owned(),
        name,
        attributes,
        keys,
        ttl_attribute,
        indexes,
    })
}

/// Creates every table of the template that does not exist yet (on-demand billing, the
/// template's keys, TTL where the template enables it) and returns the names of all of
/// them, in template order. Existing tables are left as they are.
pub async fn create_tables(
    client: &aws_sdk_dynamodb::Client,
    template_yaml: &str,
    stage_prefix: &str,
) -> Result<Vec<String>, TablesError> {
    let specs = table_specs(template_yaml, stage_prefix)?;
    for spec in &specs {
        create_table(client, spec).await?;
    }
    Ok(specs.into_iter().map(|s| s.name).collect())
}

async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    spec: &TableSpec,
) -> Result<(), TablesError> {
    let aws = |action: &'static str| {
        move |e: Box<dyn std::error::Error + Send + Sync>| TablesError::Aws {
            table: spec.name.clone(),
            action,
            source: e,
        }
    };
    let mut request = client
        .create_table()
        .table_name(&spec.name)
        .billing_mode(BillingMode::PayPerRequest);
    for (name, kind) in &spec.attributes {
        let definition = AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::from(kind.as_str()))
            .build()
            .map_err(|e| aws("create_table")(e.into()))?;
        request = request.attribute_definitions(definition);
    }
    let key_schema = |keys: &[(String, String)]| {
        keys.iter()
            .map(|(name, kind)| {
                KeySchemaElement::builder()
                    .attribute_name(name)
                    .key_type(KeyType::from(kind.as_str()))
                    .build()
                    .map_err(|e| aws("create_table")(e.into()))
            })
            .collect::<Result<Vec<_>, _>>()
    };
    request = request.set_key_schema(Some(key_schema(&spec.keys)?));
    for (name, keys) in &spec.indexes {
        let index = GlobalSecondaryIndex::builder()
            .index_name(name)
            .set_key_schema(Some(key_schema(keys)?))
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .map_err(|e| aws("create_table")(e.into()))?;
        request = request.global_secondary_indexes(index);
    }
    match request.send().await {
        Ok(_) => {}
        Err(e) if already_exists(&e) => return Ok(()),
        Err(e) => return Err(aws("create_table")(aws_sdk_dynamodb::Error::from(e).into())),
    }
    client
        .wait_until_table_exists()
        .table_name(&spec.name)
        .wait(TABLE_ACTIVE_TIMEOUT)
        .await
        .map_err(|e| aws("waiting for ACTIVE")(e.into()))?;
    if let Some(attribute) = &spec.ttl_attribute {
        let ttl = TimeToLiveSpecification::builder()
            .attribute_name(attribute)
            .enabled(true)
            .build()
            .map_err(|e| aws("update_time_to_live")(e.into()))?;
        client
            .update_time_to_live()
            .table_name(&spec.name)
            .time_to_live_specification(ttl)
            .send()
            .await
            .map_err(|e| aws("update_time_to_live")(aws_sdk_dynamodb::Error::from(e).into()))?;
    }
    Ok(())
}

fn already_exists<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    e.as_service_error().and_then(ProvideErrorMetadata::code) == Some("ResourceInUseException")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = include_str!("../../../template.yaml");

    #[test]
    fn the_project_template_yields_six_tables_named_for_the_stage() {
        let specs = table_specs(TEMPLATE, "resetkit-dev-").unwrap();
        let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "resetkit-dev-users",
                "resetkit-dev-identifiers",
                "resetkit-dev-verifications",
                "resetkit-dev-guards",
                "resetkit-dev-api-keys",
                "resetkit-dev-audit"
            ]
        );
        let identifiers = &specs[1];
        assert_eq!(
            identifiers.keys,
            [
                ("lookup".into(), "HASH".into()),
                ("user_id".into(), "RANGE".into())
            ]
        );
        assert_eq!(specs[2].ttl_attribute.as_deref(), Some("expires_at"));
        assert_eq!(specs[0].ttl_attribute, None);
    }

    #[test]
    fn table_names_must_follow_the_stage_pattern() {
        let yaml = "Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      TableName: !Sub other-${Stage}-x\n      AttributeDefinitions: []\n      KeySchema: []\n";
        let err = table_specs(yaml, "p-").unwrap_err();
        assert!(err.to_string().contains("TableName"), "{err}");
        let plain = yaml.replace("!Sub other-${Stage}-x", "fixed-name");
        assert!(table_specs(&plain, "p-").is_err());
    }

    #[test]
    fn malformed_key_schemas_are_refused() {
        let yaml = "Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      TableName: !Sub resetkit-${Stage}-x\n      AttributeDefinitions:\n        - { AttributeName: k, AttributeType: X }\n      KeySchema:\n        - { AttributeName: k, KeyType: HASH }\n";
        assert!(table_specs(yaml, "p-")
            .unwrap_err()
            .to_string()
            .contains("AttributeType"));
    }
}
