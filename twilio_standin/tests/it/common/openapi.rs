//! Twilio's OpenAPI 3.0 specs as test oracles: loads `specs/twilio/*.json` from the repository,
//! converts a response schema to JSON Schema (inlining `#/components/schemas/...` references and
//! turning `nullable: true` into an explicit `null`), and lists each operation's request
//! parameters.
//!
//! Strict conversion (used on the stand-in's own responses) also closes every object that lists
//! properties (`additionalProperties: false`) and requires all of them, so a missing or extra
//! field fails, not only a wrongly typed one. One documented exception: the spec declares the
//! filter fields of a subscribe rule (`format: subscribe-rule`) non-nullable, yet its own
//! examples, and Twilio, return `null` for unused filters; those fields accept `null`.

use std::path::PathBuf;

use serde_json::{Map, Value, json};

/// Which spec file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Video,
    Media,
}

pub fn load(api: Api) -> Value {
    let file = match api {
        Api::Video => "twilio_video_v1.json",
        Api::Media => "twilio_media_v1.json",
    };
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../specs/twilio")
        .join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("the spec is JSON")
}

/// The operation object at `paths[path][method]`.
pub fn operation<'a>(spec: &'a Value, path: &str, method: &str) -> &'a Value {
    let op = &spec["paths"][path][method];
    assert!(op.is_object(), "the spec has no {method} {path}");
    op
}

/// The JSON Schema of the `application/json` response for `status`.
pub fn response_schema(spec: &Value, path: &str, method: &str, status: u16, strict: bool) -> Value {
    let raw = &operation(spec, path, method)["responses"][status.to_string()]["content"]["application/json"]
        ["schema"];
    assert!(
        raw.is_object(),
        "the spec has no JSON {status} response for {method} {path}"
    );
    convert(spec, raw, strict, false)
}

/// The response examples the spec gives for `status` (may be none).
pub fn response_examples(spec: &Value, path: &str, method: &str, status: u16) -> Vec<Value> {
    operation(spec, path, method)["responses"][status.to_string()]["content"]["application/json"]
        ["examples"]
        .as_object()
        .map(|m| m.values().map(|e| e["value"].clone()).collect())
        .unwrap_or_default()
}

/// The schema a `$ref` points to.
pub fn resolve<'a>(spec: &'a Value, node: &'a Value) -> &'a Value {
    match node.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("unsupported $ref {r}"));
            let target = &spec["components"]["schemas"][name];
            assert!(target.is_object(), "dangling $ref {r}");
            resolve(spec, target)
        }
        None => node,
    }
}

fn convert(spec: &Value, node: &Value, strict: bool, nullable_fields: bool) -> Value {
    let nullable = node.get("nullable").and_then(Value::as_bool) == Some(true);
    if node.get("$ref").is_some() {
        let inner = convert(spec, resolve(spec, node), strict, false);
        return if nullable {
            json!({"anyOf": [inner, {"type": "null"}]})
        } else {
            inner
        };
    }
    let Some(obj) = node.as_object() else {
        return json!({});
    };
    let mut out = Map::new();
    for key in [
        "type",
        "enum",
        "minLength",
        "maxLength",
        "pattern",
        "minimum",
        "maximum",
    ] {
        if let Some(v) = obj.get(key) {
            out.insert(key.to_owned(), v.clone());
        }
    }
    match obj.get("format").and_then(Value::as_str) {
        Some(f @ ("date-time" | "uri")) => {
            out.insert("format".to_owned(), json!(f));
        }
        Some("uri-map") => {
            out.insert(
                "additionalProperties".to_owned(),
                json!({"type": "string", "format": "uri"}),
            );
        }
        _ => {}
    }
    let rule_fields = obj.get("format").and_then(Value::as_str) == Some("subscribe-rule");
    if let Some(items) = obj.get("items") {
        out.insert("items".to_owned(), convert(spec, items, strict, false));
    }
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        let converted: Map<String, Value> = props
            .iter()
            .map(|(k, v)| (k.clone(), convert(spec, v, strict, rule_fields)))
            .collect();
        if strict {
            out.insert("additionalProperties".to_owned(), json!(false));
            out.insert(
                "required".to_owned(),
                Value::Array(props.keys().map(|k| json!(k)).collect()),
            );
        }
        out.insert("properties".to_owned(), Value::Object(converted));
    }
    if nullable || nullable_fields {
        if let Some(t) = out.get("type").cloned() {
            out.insert("type".to_owned(), json!([t, "null"]));
        }
        if let Some(Value::Array(values)) = out.get_mut("enum") {
            values.push(Value::Null);
        }
    }
    Value::Object(out)
}

/// A compiled validator with format checking on.
pub fn validator(schema: &Value) -> jsonschema::Validator {
    jsonschema::options()
        .should_validate_formats(true)
        .build(schema)
        .unwrap_or_else(|e| panic!("the converted schema compiles: {e}\n{schema:#}"))
}

/// Every validation error of `instance`, as readable lines.
pub fn errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// One request parameter of an operation.
#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    /// Resolved schema (`$ref` followed).
    pub schema: Value,
    pub required: bool,
}

impl Param {
    /// The allowed values, if the parameter (or its array items) is an enum.
    pub fn allowed(&self, spec: &Value) -> Option<Vec<String>> {
        let values = |s: &Value| {
            s.get("enum").and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
        };
        values(&self.schema).or_else(|| {
            self.schema
                .get("items")
                .and_then(|items| values(resolve(spec, items)))
        })
    }

    pub fn is_integer(&self) -> bool {
        self.schema.get("type").and_then(Value::as_str) == Some("integer")
    }

    /// A value the spec allows, for sending the parameter in a test.
    pub fn sample(&self, spec: &Value) -> String {
        if let Some(allowed) = self.allowed(spec) {
            return allowed[0].clone();
        }
        let s = &self.schema;
        match (
            s.get("type").and_then(Value::as_str),
            s.get("format").and_then(Value::as_str),
        ) {
            (Some("integer"), _) => s
                .get("minimum")
                .and_then(Value::as_i64)
                .unwrap_or(1)
                .max(1)
                .to_string(),
            (Some("boolean"), _) => "true".to_owned(),
            (_, Some("date-time")) => "2020-01-01T00:00:00Z".to_owned(),
            (_, Some("uri")) => "https://example.com/callback".to_owned(),
            (Some("string"), _) => "x".to_owned(),
            _ => "{}".to_owned(),
        }
    }
}

/// Query parameters (GET) or form fields (POST) of an operation; path parameters excluded.
pub fn request_params(spec: &Value, path: &str, method: &str) -> Vec<Param> {
    let op = operation(spec, path, method);
    let mut params = Vec::new();
    for p in op["parameters"].as_array().into_iter().flatten() {
        if p["in"] == "query" {
            params.push(Param {
                name: p["name"].as_str().unwrap_or_default().to_owned(),
                schema: resolve(spec, &p["schema"]).clone(),
                required: p["required"].as_bool() == Some(true),
            });
        }
    }
    let form = &op["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"];
    let required: Vec<&str> = form["required"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (name, schema) in form["properties"].as_object().into_iter().flatten() {
        params.push(Param {
            name: name.clone(),
            schema: resolve(spec, schema).clone(),
            required: required.contains(&name.as_str()),
        });
    }
    params
}
