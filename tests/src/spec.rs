//! The code held to `openapi.yaml`: every answer of our API that the integration tests read is
//! checked against the spec's response for its route, method and status, body and headers. A
//! response that breaks the spec panics with the route, the status, the body and the errors.
//!
//! The spec is loaded once; each schema is a JSON Schema (draft 2020-12, which OpenAPI 3.1 uses)
//! validated against a document that is the whole spec plus a `$ref` to the schema, so
//! `#/components/schemas/...` references resolve as they do in the spec.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use reqwest::header::HeaderMap;
use serde_json::{json, Value};

/// The spec as JSON, read once from the repository root.
pub fn document() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml");
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{path} is not YAML: {e}"))
    })
}

/// The origins (`http://127.0.0.1:port`) the tests' stacks serve the API on: only their answers
/// are checked (the emulator's controls and hosted pages are not our API).
fn api_origins() -> &'static Mutex<HashSet<String>> {
    static ORIGINS: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    ORIGINS.get_or_init(Mutex::default)
}

/// Check every answer from `api_url` from now on.
pub fn register_api(api_url: &str) {
    api_origins()
        .lock()
        .expect("origins")
        .insert(api_url.trim_end_matches('/').to_owned());
}

/// Whether `url` is on one of the stacks' APIs.
pub fn is_api(url: &reqwest::Url) -> bool {
    let origin = url.origin().ascii_serialization();
    api_origins().lock().expect("origins").contains(&origin)
}

/// The spec's path template that `path` matches (`/v1/verifications/{id}`), if any.
pub fn route_of(path: &str) -> Option<&'static str> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    document()["paths"]
        .as_object()?
        .keys()
        .find_map(|template| {
            let parts: Vec<&str> = template.split('/').collect();
            let fits = parts.len() == segments.len()
                && parts.iter().zip(&segments).all(|(t, s)| {
                    (t.starts_with('{') && t.ends_with('}') && !s.is_empty()) || t == s
                });
            fits.then_some(template.as_str())
        })
}

/// Follow a `$ref` inside the spec.
fn deref(value: &'static Value) -> (&'static Value, Option<String>) {
    match value.get("$ref").and_then(Value::as_str) {
        Some(pointer) => {
            let p = pointer.trim_start_matches('#');
            let target = document()
                .pointer(p)
                .unwrap_or_else(|| panic!("openapi.yaml: dangling $ref {pointer}"));
            (target, Some(p.to_owned()))
        }
        None => (value, None),
    }
}

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// A compiled validator for the schema at `pointer` in the spec, compiled once.
fn validator(pointer: &str) -> Arc<jsonschema::Validator> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some(v) = cache.lock().expect("cache").get(pointer) {
        return v.clone();
    }
    let mut root = document().clone();
    let map = root.as_object_mut().expect("the spec is an object");
    map.insert(
        "$schema".into(),
        json!("https://json-schema.org/draft/2020-12/schema"),
    );
    // A JSON pointer in a URI fragment: the braces of path templates are percent-encoded.
    let fragment = pointer.replace('{', "%7B").replace('}', "%7D");
    map.insert("$ref".into(), json!(format!("#{fragment}")));
    let compiled = jsonschema::draft202012::new(&root)
        .unwrap_or_else(|e| panic!("openapi.yaml: the schema at {pointer} does not compile: {e}"));
    let compiled = Arc::new(compiled);
    cache
        .lock()
        .expect("cache")
        .insert(pointer.to_owned(), compiled.clone());
    compiled
}

/// The problems of `instance` against the schema at `pointer`, one line each.
pub fn problems(pointer: &str, instance: &Value) -> Vec<String> {
    validator(pointer)
        .iter_errors(instance)
        .map(|e| format!("at '{}': {e}", e.instance_path()))
        .collect()
}

/// What the spec says one response is: its pointer (for messages) and its object.
struct Documented {
    pointer: String,
    response: &'static Value,
}

/// The documented response of `method` on `route` with `status` (or `default`).
fn documented(route: &str, method: &str, status: u16) -> Option<Documented> {
    let base = format!("/paths/{}/{method}/responses", escape(route));
    let responses = document().pointer(&base)?;
    let key = status.to_string();
    let key = if responses.get(&key).is_some() {
        key
    } else {
        "default".to_owned()
    };
    let (response, moved) = deref(responses.get(&key)?);
    Some(Documented {
        pointer: moved.unwrap_or_else(|| format!("{base}/{key}")),
        response,
    })
}

/// The problems of one answer against one documented response: the content type, the body
/// against the JSON schema, and each header the spec declares (present when required; its value
/// against its schema).
fn check_against(doc: &Documented, headers: &HeaderMap, body: &Value, raw: &str) -> Vec<String> {
    let mut found = Vec::new();
    if doc.response.get("content").is_some() {
        let content_type = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !content_type.starts_with("application/json") {
            found.push(format!(
                "content-type {content_type:?}, not application/json"
            ));
        }
        if body.is_null() && raw.trim() != "null" {
            found.push("the body is not JSON".to_owned());
        } else {
            let schema = format!("{}/content/application~1json/schema", doc.pointer);
            found.extend(problems(&schema, body));
        }
    }
    for (name, header) in doc.response["headers"].as_object().into_iter().flatten() {
        found.extend(header_problems(name, deref(header).0, headers));
    }
    found
}

fn header_problems(name: &str, header: &Value, headers: &HeaderMap) -> Vec<String> {
    let Some(value) = headers.get(name).and_then(|v| v.to_str().ok()) else {
        return if header["required"] == true {
            vec![format!("the required header {name} is missing")]
        } else {
            Vec::new()
        };
    };
    let schema = &header["schema"];
    let instance = match schema["type"].as_str() {
        Some("integer") => value.parse::<i64>().map_or(json!(value), |n| json!(n)),
        _ => json!(value),
    };
    let compiled = jsonschema::draft202012::new(schema).expect("a header schema");
    compiled
        .iter_errors(&instance)
        .map(|e| format!("header {name}: {e}"))
        .collect()
}

/// Check one answer: panics when our API answered something `openapi.yaml` does not allow.
/// `method` is the request's when the caller knows it; otherwise every method the spec declares
/// on the route is tried and one must allow the answer.
pub fn check(
    method: Option<&reqwest::Method>,
    url: &reqwest::Url,
    status: u16,
    headers: &HeaderMap,
    body: &Value,
    raw: &str,
) {
    if !is_api(url) {
        return;
    }
    let path = url.path();
    let candidates: Vec<Documented> = match route_of(path) {
        None => vec![not_found()],
        Some(route) => {
            let declared: Vec<&str> = document()["paths"][route]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(m, _)| m.as_str())
                .filter(|m| HTTP_METHODS.contains(m))
                .collect();
            let asked = method.map(|m| m.as_str().to_ascii_lowercase());
            match asked {
                Some(m) if !declared.contains(&m.as_str()) => vec![method_not_allowed()],
                Some(m) => documented(route, &m, status).into_iter().collect(),
                None => declared
                    .iter()
                    .filter_map(|m| documented(route, m, status))
                    .collect(),
            }
        }
    };
    let what = format!(
        "{} {path} answered {status}",
        method.map_or("(any method)", |m| m.as_str())
    );
    assert!(
        !candidates.is_empty(),
        "openapi.yaml does not document status {status} here: {what}\nbody: {raw}"
    );
    let mut report = Vec::new();
    for doc in &candidates {
        let found = check_against(doc, headers, body, raw);
        if found.is_empty() {
            // `OPENAPI_TRACE=1 cargo test ... -- --nocapture` lists what was checked, for coverage.
            if std::env::var_os("OPENAPI_TRACE").is_some() {
                eprintln!("openapi-checked {what} against {}", doc.pointer);
            }
            return;
        }
        report.push(format!(
            "against {}:\n  {}",
            doc.pointer,
            found.join("\n  ")
        ));
    }
    panic!(
        "the answer breaks openapi.yaml: {what}\nbody: {raw}\n{}",
        report.join("\n")
    );
}

const HTTP_METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch"];

fn not_found() -> Documented {
    Documented {
        pointer: "/components/responses/NotFound".into(),
        response: &document()["components"]["responses"]["NotFound"],
    }
}

fn method_not_allowed() -> Documented {
    Documented {
        pointer: "/components/responses/MethodNotAllowed".into(),
        response: &document()["components"]["responses"]["MethodNotAllowed"],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api() -> reqwest::Url {
        register_api("http://127.0.0.1:1");
        reqwest::Url::parse("http://127.0.0.1:1/v1/verifications/ver_01M8P3ZQRGDS8ENZHBJ0CS1S5A")
            .unwrap()
    }

    fn json_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            reqwest::header::CONTENT_TYPE,
            "application/json".parse().unwrap(),
        );
        h
    }

    fn example() -> Value {
        document()["components"]["examples"]["RejectedVerification"]["value"].clone()
    }

    #[test]
    fn routes_are_matched_by_their_templates() {
        assert_eq!(route_of("/v1/verifications"), Some("/v1/verifications"));
        assert_eq!(
            route_of("/v1/verifications/ver_1"),
            Some("/v1/verifications/{id}")
        );
        assert_eq!(
            route_of("/v1/customers/c/verification"),
            Some("/v1/customers/{customer_id}/verification")
        );
        assert_eq!(route_of("/v1/verifications/a/b"), None);
    }

    /// Check `body` as the answer with `status` to a GET of the verification.
    fn check_get(status: u16, body: &Value) {
        check(
            Some(&reqwest::Method::GET),
            &api(),
            status,
            &json_headers(),
            body,
            &body.to_string(),
        );
    }

    #[test]
    fn the_documented_example_passes() {
        let body = example();
        check_get(200, &body);
    }

    #[test]
    #[should_panic(expected = "the answer breaks openapi.yaml")]
    fn an_undocumented_field_is_caught() {
        let mut body = example();
        body["colour"] = json!("blue");
        check(None, &api(), 200, &json_headers(), &body, &body.to_string());
    }

    #[test]
    #[should_panic(expected = "the answer breaks openapi.yaml")]
    fn a_wrong_status_word_is_caught() {
        let mut body = example();
        body["status"] = json!("done");
        check_get(200, &body);
    }

    #[test]
    #[should_panic(expected = "the answer breaks openapi.yaml")]
    fn an_error_code_of_another_status_is_caught() {
        let body = json!({"error": {"type": "conflict", "code": "verification_ended", "message": "m"}, "request_id": "r"});
        check_get(404, &body);
    }

    #[test]
    #[should_panic(expected = "Retry-After is missing")]
    fn a_missing_required_header_is_caught() {
        // A webhook's 409 is only `concurrent_update`, always with `Retry-After`.
        let body = json!({"error": {"type": "conflict", "code": "concurrent_update", "message": "m"}, "request_id": "r"});
        let webhook = api().join("/v1/webhooks/ondato").unwrap();
        check(
            Some(&reqwest::Method::POST),
            &webhook,
            409,
            &json_headers(),
            &body,
            &body.to_string(),
        );
    }

    #[test]
    fn answers_of_other_servers_are_not_checked() {
        let other = reqwest::Url::parse("http://127.0.0.1:2/v1/verifications").unwrap();
        check(None, &other, 299, &HeaderMap::new(), &Value::Null, "<html>");
    }
}
