//! The contract test's oracle for the IVS real-time API: the botocore model
//! `specs/aws/ivs-realtime-2020-07-14.json` read as it is, and request and response bodies
//! validated against an operation's input and output shapes (or, for an error answer, the
//! exception shape `x-amzn-ErrorType` names): structures (members, `required`, unknown members
//! refused), strings (`min`/`max` length, `pattern` as a full match, `enum`), integers and
//! longs (`min`/`max`), booleans, lists and maps (`min`/`max` entries), and timestamps (ISO 8601
//! strings, the rest-json default). Members bound to headers, the URI or the query are not in
//! a body and are skipped.
//!
//! Written independently of the stand-in's own parsing, so one can check the other. Used by the
//! stand-in's IVS tests and by `integration_tests` over the stand-in's call log
//! (`GET /__standin/ivs/calls`, `StandIn::ivs_calls`): [`check_calls`].
//!
//! ```no_run
//! # let standin: twilio_standin::StandIn = todo!();
//! let calls = serde_json::to_value(standin.ivs_calls()).unwrap();
//! onair_test_support::ivs_contract::check_calls(&calls).unwrap_or_else(|e| panic!("{e}"));
//! ```

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use regex_lite::Regex;
use serde_json::{Map, Value};

/// The model's path in the repository.
pub const MODEL_PATH: &str = "specs/aws/ivs-realtime-2020-07-14.json";

/// Errors any AWS operation may answer although the model lists them for none or some
/// operations only: the service's fault (any 5xx) and the front door's throttling (429).
const COMMON_ERRORS: [&str; 2] = ["InternalServerException", "ThrottlingException"];

/// Validates every call of a call log (the JSON array `GET /__standin/ivs/calls` answers, or
/// `serde_json::to_value(standin.ivs_calls())`) against the repository's model, loaded once;
/// one line per violation.
pub fn check_calls(calls: &Value) -> Result<(), String> {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(Model::from_repo).check_calls(calls)
}

/// The IVS real-time model.
pub struct Model {
    operations: Map<String, Value>,
    shapes: Map<String, Value>,
    patterns: std::sync::Mutex<HashMap<String, Regex>>,
}

impl Model {
    /// The model from the repository's `specs/aws/`.
    pub fn from_repo() -> Model {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(MODEL_PATH);
        Model::load(&path).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn load(path: &Path) -> Result<Model, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let model: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let part = |name: &str| {
            model
                .get(name)
                .and_then(Value::as_object)
                .cloned()
                .ok_or_else(|| format!("{}: no {name}", path.display()))
        };
        Ok(Model {
            operations: part("operations")?,
            shapes: part("shapes")?,
            patterns: Default::default(),
        })
    }

    fn operation(&self, name: &str) -> Result<&Value, String> {
        self.operations
            .get(name)
            .ok_or_else(|| format!("{name} is not an operation of the model"))
    }

    fn shape(&self, name: &str) -> Result<&Value, String> {
        self.shapes
            .get(name)
            .ok_or_else(|| format!("the model has no shape {name}"))
    }

    /// Validates a request body against `operation`'s input shape.
    pub fn check_request(&self, operation: &str, body: &Value) -> Result<(), Vec<String>> {
        let op = self.operation(operation).map_err(|e| vec![e])?;
        let mut errors = Vec::new();
        match op.pointer("/input/shape").and_then(Value::as_str) {
            Some(input) => self.check(input, body, "request", &mut errors),
            None if body.is_null() || body == &Value::Object(Map::new()) => {}
            None => errors.push(format!("{operation} takes no body")),
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Validates an answer: a 2xx body against `operation`'s output shape and its
    /// `responseCode`; an error body against the exception shape `error_type` names, its
    /// `httpStatusCode`, and the operation's list of errors.
    pub fn check_response(
        &self,
        operation: &str,
        status: u16,
        body: &Value,
        error_type: Option<&str>,
    ) -> Result<(), Vec<String>> {
        let op = self.operation(operation).map_err(|e| vec![e])?;
        let mut errors = Vec::new();
        if (200..300).contains(&status) {
            let code = op
                .pointer("/http/responseCode")
                .and_then(Value::as_u64)
                .unwrap_or(200);
            if u64::from(status) != code {
                errors.push(format!("status {status}, the model says {code}"));
            }
            if error_type.is_some() {
                errors.push("a success carries x-amzn-ErrorType".to_owned());
            }
            match op.pointer("/output/shape").and_then(Value::as_str) {
                Some(output) => self.check(output, body, "response", &mut errors),
                None if body.is_null() || body == &Value::Object(Map::new()) => {}
                None => errors.push(format!("{operation} answers no body")),
            }
        } else {
            self.check_error(op, operation, status, body, error_type, &mut errors);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn check_error(
        &self,
        op: &Value,
        operation: &str,
        status: u16,
        body: &Value,
        error_type: Option<&str>,
        errors: &mut Vec<String>,
    ) {
        let Some(error_type) = error_type else {
            errors.push(format!("status {status} without x-amzn-ErrorType"));
            return;
        };
        // AWS may append `:<url>` to the type.
        let name = error_type.split(':').next().unwrap_or(error_type);
        let listed = op
            .get("errors")
            .and_then(Value::as_array)
            .is_some_and(|list| {
                list.iter()
                    .any(|e| e.get("shape").and_then(Value::as_str) == Some(name))
            });
        if !listed && !COMMON_ERRORS.contains(&name) {
            errors.push(format!(
                "{name} is not an error of {operation} in the model"
            ));
        }
        if name == "ThrottlingException" {
            if status != 429 {
                errors.push(format!("ThrottlingException with status {status}, not 429"));
            }
            self.check_exception_body(body, errors);
            return;
        }
        let shape = match self.shape(name) {
            Ok(shape) if shape.get("exception") == Some(&Value::Bool(true)) => shape,
            Ok(_) => {
                errors.push(format!("{name} is not an exception shape"));
                return;
            }
            Err(e) => {
                errors.push(e);
                return;
            }
        };
        let code = shape
            .pointer("/error/httpStatusCode")
            .and_then(Value::as_u64)
            .unwrap_or(400);
        let fits = u64::from(status) == code
            || (name == "InternalServerException" && (500..600).contains(&status));
        if !fits {
            errors.push(format!(
                "{name} with status {status}, the model says {code}"
            ));
        }
        self.check(name, body, "error", errors);
    }

    /// `{"exceptionMessage": string}`, what every exception of the model carries.
    fn check_exception_body(&self, body: &Value, errors: &mut Vec<String>) {
        match body.as_object() {
            Some(o)
                if o.keys().all(|k| k == "exceptionMessage")
                    && o.values().all(Value::is_string) => {}
            _ => errors.push(format!("error body is not {{exceptionMessage}}: {body}")),
        }
    }

    /// Validates one entry of the stand-in's IVS call log (`{operation, request, status,
    /// response, error_type}`): its request and its response.
    pub fn check_call(&self, call: &Value) -> Result<(), Vec<String>> {
        let operation = call
            .get("operation")
            .and_then(Value::as_str)
            .ok_or_else(|| vec![format!("not a call log entry: {call}")])?;
        let status = call
            .get("status")
            .and_then(Value::as_u64)
            .and_then(|s| u16::try_from(s).ok())
            .ok_or_else(|| vec![format!("no status: {call}")])?;
        let error_type = call.get("error_type").and_then(Value::as_str);
        let empty = Value::Null;
        let mut errors = Vec::new();
        // Only a served request is checked: it fits the input shape. A request refused before
        // its body was read (SigV4, an injected fault, a body that is not JSON) says nothing
        // about the body, and one refused as invalid (ValidationException) need not break the
        // model: the stand-in may refuse more than the model can say (e.g. a member it does
        // not serve).
        let request = call.get("request").unwrap_or(&empty);
        if (200..=299).contains(&status)
            && let Err(e) = self.check_request(operation, request)
        {
            errors.extend(e);
        }
        let response = call.get("response").unwrap_or(&empty);
        if let Err(e) = self.check_response(operation, status, response, error_type) {
            errors.extend(e);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Validates every call of a call log (a JSON array); one line per violation, naming the
    /// call.
    pub fn check_calls(&self, calls: &Value) -> Result<(), String> {
        let Some(list) = calls.as_array() else {
            return Err(format!("not a call log: {calls}"));
        };
        let mut report = Vec::new();
        for (i, call) in list.iter().enumerate() {
            if let Err(errors) = self.check_call(call) {
                let op = call.get("operation").and_then(Value::as_str).unwrap_or("?");
                for e in errors {
                    report.push(format!("call {i} ({op}): {e}"));
                }
            }
        }
        if report.is_empty() {
            Ok(())
        } else {
            Err(report.join("\n"))
        }
    }

    fn pattern_matches(&self, pattern: &str, s: &str) -> Result<bool, String> {
        let mut cache = self.patterns.lock().unwrap_or_else(|e| e.into_inner());
        if !cache.contains_key(pattern) {
            // The service enforces a pattern on the whole value.
            let re = Regex::new(&format!("^(?s:{pattern})$"))
                .map_err(|e| format!("pattern {pattern}: {e}"))?;
            cache.insert(pattern.to_owned(), re);
        }
        Ok(cache[pattern].is_match(s))
    }

    fn check_len(&self, shape: &Value, n: usize, what: &str, at: &str, errors: &mut Vec<String>) {
        let n = n as u64;
        if let Some(min) = shape.get("min").and_then(Value::as_u64)
            && n < min
        {
            errors.push(format!("{at}: {what} {n} < min {min}"));
        }
        if let Some(max) = shape.get("max").and_then(Value::as_u64)
            && n > max
        {
            errors.push(format!("{at}: {what} {n} > max {max}"));
        }
    }

    /// Validates `value` against shape `name`; violations are pushed with their JSON path.
    fn check(&self, name: &str, value: &Value, at: &str, errors: &mut Vec<String>) {
        let shape = match self.shape(name) {
            Ok(s) => s,
            Err(e) => {
                errors.push(format!("{at}: {e}"));
                return;
            }
        };
        let kind = shape.get("type").and_then(Value::as_str).unwrap_or("");
        match (kind, value) {
            ("structure", Value::Object(object)) => {
                let members = shape
                    .get("members")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                for required in shape
                    .get("required")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    let in_body = members
                        .get(required)
                        .is_some_and(|m| m.get("location").is_none());
                    if in_body && !object.contains_key(required) {
                        errors.push(format!("{at}: required member {required} is missing"));
                    }
                }
                for (key, v) in object {
                    let member = members.get(key).filter(|m| m.get("location").is_none());
                    let Some(member) = member else {
                        errors.push(format!("{at}: unknown member {key} (shape {name})"));
                        continue;
                    };
                    let target = member.get("shape").and_then(Value::as_str).unwrap_or("");
                    self.check(target, v, &format!("{at}.{key}"), errors);
                }
            }
            ("string", Value::String(s)) => {
                self.check_len(shape, s.chars().count(), "length", at, errors);
                if let Some(values) = shape.get("enum").and_then(Value::as_array)
                    && !values.iter().any(|v| v.as_str() == Some(s))
                {
                    errors.push(format!(
                        "{at}: {s:?} is not one of {}",
                        Value::Array(values.clone())
                    ));
                }
                if let Some(pattern) = shape.get("pattern").and_then(Value::as_str) {
                    match self.pattern_matches(pattern, s) {
                        Ok(true) => {}
                        Ok(false) => errors.push(format!("{at}: {s:?} does not match {pattern}")),
                        Err(e) => errors.push(format!("{at}: {e}")),
                    }
                }
            }
            ("integer" | "long", Value::Number(n)) => match n.as_i64() {
                Some(i) => {
                    if let Some(min) = shape.get("min").and_then(Value::as_i64)
                        && i < min
                    {
                        errors.push(format!("{at}: {i} < min {min}"));
                    }
                    if let Some(max) = shape.get("max").and_then(Value::as_i64)
                        && i > max
                    {
                        errors.push(format!("{at}: {i} > max {max}"));
                    }
                    if kind == "integer" && i32::try_from(i).is_err() {
                        errors.push(format!("{at}: {i} is not a 32-bit integer"));
                    }
                }
                None => errors.push(format!("{at}: {n} is not an integer")),
            },
            ("boolean", Value::Bool(_)) => {}
            ("list", Value::Array(items)) => {
                self.check_len(shape, items.len(), "entries", at, errors);
                let member = shape
                    .pointer("/member/shape")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                for (i, item) in items.iter().enumerate() {
                    self.check(member, item, &format!("{at}[{i}]"), errors);
                }
            }
            ("map", Value::Object(entries)) => {
                self.check_len(shape, entries.len(), "entries", at, errors);
                let key = shape
                    .pointer("/key/shape")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let val = shape
                    .pointer("/value/shape")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                for (k, v) in entries {
                    self.check(
                        key,
                        &Value::String(k.clone()),
                        &format!("{at} key {k:?}"),
                        errors,
                    );
                    self.check(val, v, &format!("{at}[{k:?}]"), errors);
                }
            }
            ("timestamp", Value::String(s)) => {
                let format = shape
                    .get("timestampFormat")
                    .and_then(Value::as_str)
                    .unwrap_or("iso8601");
                static ISO: OnceLock<Regex> = OnceLock::new();
                let iso = ISO
                    .get_or_init(|| {
                        Regex::new(
                            r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$",
                        )
                        .unwrap_or_else(|e| panic!("the ISO 8601 pattern: {e}"))
                    })
                    .is_match(s);
                if format != "iso8601" || !iso {
                    errors.push(format!("{at}: {s:?} is not an ISO 8601 timestamp"));
                }
            }
            _ => errors.push(format!("{at}: {value} is not a {kind} (shape {name})")),
        }
    }
}
