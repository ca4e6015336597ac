//! The secrets side of `template.yaml`: which Secrets Manager secrets each function names in its
//! environment (`X_ARN`) and may read (its policy), and any secret value that would reach a
//! function's environment (a `!Ref` of a `NoEcho` parameter, a `{{resolve:secretsmanager:…}}`).

use std::collections::{BTreeMap, BTreeSet};

use serde_norway::Value;

/// One function's secrets as the template declares them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionSecrets {
    /// `X_ARN` variable → the secret resource it names (`X` → resource, suffix removed).
    pub by_variable: BTreeMap<String, String>,
    /// Secret resources `secretsmanager:GetSecretValue` is allowed on.
    pub readable: BTreeSet<String>,
    /// Whether `secretsmanager:BatchGetSecretValue` is allowed (it takes `Resource: "*"`).
    pub batch: bool,
    /// Every other `secretsmanager:*` grant, as `action resource` (there should be none).
    pub other: Vec<String>,
}

/// What the template says about secrets.
#[derive(Debug, Clone, Default)]
pub struct SecretsDecl {
    /// Per function crate.
    pub functions: BTreeMap<String, FunctionSecrets>,
    /// The `AWS::SecretsManager::Secret` resources.
    pub resources: BTreeSet<String>,
    /// Environment variables (`Globals` or `<function>: VAR`) whose value is a secret.
    pub leaks: Vec<String>,
}

fn tag_of(v: &Value) -> Option<(String, &Value)> {
    match v {
        Value::Tagged(t) => Some((
            t.tag.to_string().trim_start_matches('!').to_owned(),
            &t.value,
        )),
        _ => None,
    }
}

/// The resource a value names: `!Ref R`, or `!If [c, !Ref R, !Ref AWS::NoValue]`.
fn referenced(v: &Value) -> Option<String> {
    match tag_of(v)? {
        (tag, inner) if tag == "Ref" => inner
            .as_str()
            .filter(|r| *r != "AWS::NoValue")
            .map(str::to_owned),
        (tag, inner) if tag == "If" => inner.as_sequence()?.iter().skip(1).find_map(referenced),
        _ => None,
    }
}

/// Whether a value puts a secret into the environment: a `NoEcho` parameter (directly, through
/// `!If` or `!Sub`), or a dynamic reference to Secrets Manager.
fn carries_secret(v: &Value, no_echo: &BTreeSet<String>) -> bool {
    match v {
        Value::String(s) => s.contains("{{resolve:secretsmanager"),
        Value::Sequence(items) => items.iter().any(|i| carries_secret(i, no_echo)),
        Value::Tagged(t) => {
            let inner = &t.value;
            let tag = t.tag.to_string();
            let named = |s: &str| no_echo.iter().any(|p| s.contains(&format!("${{{p}}}")));
            match (tag.trim_start_matches('!'), inner) {
                ("Ref", Value::String(r)) => no_echo.contains(r),
                ("Sub", Value::String(s)) => named(s) || s.contains("{{resolve:secretsmanager"),
                _ => carries_secret(inner, no_echo),
            }
        }
        _ => false,
    }
}

fn variables(props: Option<&Value>) -> Vec<(String, &Value)> {
    props
        .and_then(|p| p.get("Environment"))
        .and_then(|e| e.get("Variables"))
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v)))
        .collect()
}

fn no_echo_parameters(doc: &Value) -> BTreeSet<String> {
    doc.get("Parameters")
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
        .filter(|(_, p)| p.get("NoEcho").and_then(Value::as_bool) == Some(true))
        .filter_map(|(k, _)| k.as_str().map(str::to_owned))
        .collect()
}

/// The function's `secretsmanager:*` grants.
fn grants(props: &Value, into: &mut FunctionSecrets) {
    for statement in super::policy_statements(props) {
        let actions = super::statement_actions(statement);
        let resources: Vec<&Value> = match statement.get("Resource") {
            Some(Value::Sequence(list)) => list.iter().collect(),
            Some(one) => vec![one],
            None => Vec::new(),
        };
        for action in actions.iter().filter(|a| a.starts_with("secretsmanager:")) {
            for resource in &resources {
                match (*action, resource.as_str(), referenced(resource)) {
                    ("secretsmanager:BatchGetSecretValue", Some("*"), _) => into.batch = true,
                    ("secretsmanager:GetSecretValue", _, Some(r)) => {
                        into.readable.insert(r);
                    }
                    (a, _, r) => into.other.push(format!("{a} {r:?}")),
                }
            }
        }
    }
}

pub fn parse(doc: &Value, function_of: impl Fn(&Value) -> Option<String>) -> SecretsDecl {
    let no_echo = no_echo_parameters(doc);
    let mut decl = SecretsDecl::default();
    let globals = doc.get("Globals").and_then(|g| g.get("Function"));
    for (name, value) in variables(globals) {
        if carries_secret(value, &no_echo) {
            decl.leaks.push(format!("Globals: {name}"));
        }
    }
    let resources = doc.get("Resources").and_then(Value::as_mapping);
    for (key, resource) in resources.into_iter().flatten() {
        let kind = resource.get("Type").and_then(Value::as_str);
        if kind == Some("AWS::SecretsManager::Secret") {
            decl.resources.extend(key.as_str().map(str::to_owned));
        }
        let props = resource.get("Properties");
        let (Some("AWS::Serverless::Function"), Some(props)) = (kind, props) else {
            continue;
        };
        let Some(function) = function_of(props) else {
            continue;
        };
        let mut secrets = FunctionSecrets::default();
        for (var, value) in variables(Some(props)) {
            if carries_secret(value, &no_echo) {
                decl.leaks.push(format!("{function}: {var}"));
            }
            if let (Some(secret), Some(r)) = (var.strip_suffix("_ARN"), referenced(value)) {
                secrets.by_variable.insert(secret.to_owned(), r);
            }
        }
        grants(props, &mut secrets);
        decl.functions.insert(function, secrets);
    }
    decl
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEAKY: &str = r#"
Parameters:
  Hidden: {Type: String, NoEcho: true}
  Shown: {Type: String}
Globals:
  Function:
    Environment:
      Variables:
        A: !Ref Hidden
        B: !Ref Shown
        C: !Sub "{{resolve:secretsmanager:${S}:SecretString}}"
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/f
      Environment:
        Variables:
          D: !If [Cond, !Ref Hidden, !Ref AWS::NoValue]
          E: !Sub "x-${Hidden}"
          K_ARN: !If [Cond, !Ref KSecret, !Ref AWS::NoValue]
      Policies:
        - Statement:
            - Effect: Allow
              Action: secretsmanager:GetSecretValue
              Resource: [!Ref KSecret, !Ref Other]
            - Effect: Allow
              Action: [secretsmanager:PutSecretValue]
              Resource: "*"
  KSecret:
    Type: AWS::SecretsManager::Secret
"#;

    #[test]
    fn secret_values_in_environments_and_every_secret_grant_are_found() {
        let doc: Value = serde_norway::from_str(LEAKY).unwrap();
        let decl = parse(&doc, |_| Some("f".into()));
        assert_eq!(decl.leaks, ["Globals: A", "Globals: C", "f: D", "f: E"]);
        let f = &decl.functions["f"];
        assert_eq!(f.by_variable["K"], "KSecret");
        assert_eq!(
            f.readable.iter().map(String::as_str).collect::<Vec<_>>(),
            ["KSecret", "Other"]
        );
        assert!(!f.batch && f.other.len() == 1);
        assert!(decl.resources.contains("KSecret"));
    }
}
