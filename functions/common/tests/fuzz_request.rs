//! Fuzzing the edge: `request::{body, json, json_body, bearer_token}`, `auth::host_credentials`
//! and the `ids` parsers on arbitrary methods, `Content-Type` and `Authorization` headers and
//! bodies (bytes, JSON-ish, huge), built directly or through an API Gateway event (with the
//! base64 flag). Nothing panics; every refusal is a 4xx [`ApiError`] with a short message that
//! never repeats the body; what is accepted keeps the invariants the handlers rely on.
//!
//! Cases: `ONAIR_FUZZ_CASES` for the target (default 100,000): 85% requests, 15% ids.

use base64::Engine;
use lambda_http::{Body, Request};
use onair_common::ApiError;
use onair_common::auth::{self, HostCredentials};
use onair_common::ids::{Identity, MAX_NAME_LEN, ROOM_PREFIX, RoomName, Sid};
use onair_common::request::{self, MAX_BODY_BYTES, RawBody};
use onair_test_support::fuzz::*;
use proptest::prelude::*;
use serde_json::json;

/// A password value the generators put in bodies: no error message may repeat it.
const MARKER: &str = "pw-marker-7f3a9c";
/// The longest error message the edge writes.
const MAX_MESSAGE_CHARS: usize = 160;

#[derive(Debug, Clone)]
enum BodyInput {
    Absent,
    Text(String),
    Binary(Vec<u8>),
}

/// A request as generated: built with `http` directly, or (`gateway`: the base64 flag) as the
/// API Gateway event the Lambda runtime turns into a request.
#[derive(Debug, Clone)]
struct RawRequest {
    method: String,
    content_type: Option<Vec<u8>>,
    authorization: Option<Vec<u8>>,
    body: BodyInput,
    gateway: Option<bool>,
}

impl RawRequest {
    /// The request, or `None` when no request can carry this (an invalid header, say).
    fn build(&self) -> Option<Request> {
        match self.gateway {
            // Writing a huge body into an event costs more than everything else in a case; the
            // size limit is fuzzed on requests built directly.
            Some(base64) if self.body_len() <= 4096 => self.through_gateway(base64),
            _ => self.direct(),
        }
    }

    fn body_len(&self) -> usize {
        match &self.body {
            BodyInput::Absent => 0,
            BodyInput::Text(text) => text.len(),
            BodyInput::Binary(bytes) => bytes.len(),
        }
    }

    fn direct(&self) -> Option<Request> {
        let mut builder = http::Request::builder()
            .method(self.method.as_str())
            .uri("https://onair.test/endpoint");
        for (name, value) in self.headers() {
            if let Ok(value) = http::HeaderValue::from_bytes(value) {
                builder = builder.header(name, value);
            }
        }
        let body = match &self.body {
            BodyInput::Absent => Body::Empty,
            BodyInput::Text(text) => Body::Text(text.clone()),
            BodyInput::Binary(bytes) => Body::Binary(bytes.clone()),
        };
        builder.body(body).ok()
    }

    fn through_gateway(&self, base64: bool) -> Option<Request> {
        let headers: serde_json::Map<String, serde_json::Value> = self
            .headers()
            .map(|(name, value)| (name.to_owned(), json!(String::from_utf8_lossy(value))))
            .collect();
        let body = match (&self.body, base64) {
            (BodyInput::Absent, _) => None,
            (BodyInput::Text(text), false) => Some(text.clone()),
            (BodyInput::Binary(bytes), false) => Some(String::from_utf8_lossy(bytes).into_owned()),
            // API Gateway encodes correctly: the flag always comes with valid base64.
            (BodyInput::Text(text), true) => {
                Some(base64::engine::general_purpose::STANDARD.encode(text))
            }
            (BodyInput::Binary(bytes), true) => {
                Some(base64::engine::general_purpose::STANDARD.encode(bytes))
            }
        };
        lambda_http::request::from_str(
            &gateway_event(&self.method, headers, body, base64).to_string(),
        )
        .ok()
    }

    fn headers(&self) -> impl Iterator<Item = (&'static str, &[u8])> {
        [
            ("content-type", self.content_type.as_deref()),
            ("authorization", self.authorization.as_deref()),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v)))
    }
}

/// An API Gateway HTTP API (v2) event as Lambda receives it.
fn gateway_event(
    method: &str,
    headers: serde_json::Map<String, serde_json::Value>,
    body: Option<String>,
    base64: bool,
) -> serde_json::Value {
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/host_token",
        "rawQueryString": "",
        "headers": headers,
        "isBase64Encoded": base64,
        "body": body,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "onair.test",
            "domainPrefix": "onair",
            "http": {
                "method": method,
                "path": "/host_token",
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "fuzz"
            },
            "requestId": "fuzz",
            "routeKey": "$default",
            "stage": "$default",
            "time": "01/Dec/2026:00:00:00 +0000",
            "timeEpoch": 1_795_000_000_000u64
        }
    })
}

const BODY_KEYS: &[&str] = &["token", "password", "room", "identity", "grants"];

fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => Just("POST".to_owned()),
        1 => prop::sample::select(vec![
            "GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT", "post", "Post",
            "POSTX", "BREW",
        ])
        .prop_map(str::to_owned),
    ]
}

fn content_type() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        3 => Just(None),
        12 => prop::sample::select(vec![
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON ;charset=UTF-8",
            "text/plain",
            "text/plain;charset=UTF-8",
            "application/x-www-form-urlencoded",
            "image/png",
            ";",
            "",
            " application/json",
        ])
        .prop_map(|s| Some(s.as_bytes().to_vec())),
        2 => text(40).prop_map(|s| Some(s.into_bytes())),
        2 => bytes(40).prop_map(Some),
        // A long content type must not come back whole in the 415 message.
        1 => (1usize..600).prop_map(|n| Some(format!("application/{}", "x".repeat(n)).into_bytes())),
    ]
}

fn authorization() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        10 => Just(None),
        10 => (
            prop::sample::select(vec!["Bearer ", "bearer ", "BEARER  ", "Bearer", "Basic ", "Token ", ""]),
            prop_oneof![text(60), Just("eyJhbGciOiJIUzI1NiJ9.e30.sig".to_owned())],
        )
            .prop_map(|(scheme, token)| Some(format!("{scheme}{token}").into_bytes())),
        3 => bytes(60).prop_map(Some),
        1 => huge(4096).prop_map(|t| Some(format!("Bearer {t}").into_bytes())),
    ]
}

fn body() -> impl Strategy<Value = BodyInput> {
    let password = prop_oneof![Just(json!(MARKER)), json_value(BODY_KEYS)];
    let host_body = (password, json_object(BODY_KEYS)).prop_map(|(password, mut object)| {
        if let Some(map) = object.as_object_mut() {
            map.insert("password".into(), password);
        }
        object.to_string()
    });
    prop_oneof![
        6 => Just(BodyInput::Absent),
        12 => json_object(BODY_KEYS).prop_map(|v| BodyInput::Text(v.to_string())),
        9 => host_body.clone().prop_map(BodyInput::Text),
        6 => (host_body, mutations()).prop_map(|(text, edits)| {
            BodyInput::Binary(apply(text.as_bytes(), &edits))
        }),
        6 => json_value(BODY_KEYS).prop_map(|v| BodyInput::Text(v.to_string())),
        6 => text(80).prop_map(BodyInput::Text),
        6 => bytes(256).prop_map(BodyInput::Binary),
        1 => huge(MAX_BODY_BYTES).prop_map(BodyInput::Text),
    ]
}

fn raw_request() -> impl Strategy<Value = RawRequest> {
    (
        method(),
        content_type(),
        authorization(),
        body(),
        prop_oneof![8 => Just(None), 1 => Just(Some(false)), 1 => Just(Some(true))],
    )
        .prop_map(
            |(method, content_type, authorization, body, gateway)| RawRequest {
                method,
                content_type,
                authorization,
                body,
                gateway,
            },
        )
}

/// Every refusal at the edge: a 4xx with a short message that never repeats the password.
fn check_refusal(what: &str, err: &ApiError) -> Result<(), TestCaseError> {
    prop_assert!(err.status().is_client_error(), "{what}: {err:?}");
    let message = err.to_string();
    prop_assert!(
        message.chars().count() <= MAX_MESSAGE_CHARS,
        "{what}: a {}-character message: {message}",
        message.chars().count()
    );
    prop_assert!(
        !message.contains(MARKER),
        "{what} repeats the body: {message}"
    );
    Ok(())
}

fn body_bytes(req: &Request) -> &[u8] {
    match req.body() {
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    }
}

fn header_text(req: &Request, name: http::HeaderName) -> String {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// The edge's parsers on one request.
fn check_request(req: &Request) -> Result<(), TestCaseError> {
    let is_post = req.method() == http::Method::POST;
    let bytes = body_bytes(req);
    let content_type = header_text(req, http::header::CONTENT_TYPE);

    match request::body(req) {
        Err(err) => {
            check_refusal("body", &err)?;
            if !is_post {
                prop_assert_eq!(err, ApiError::MethodNotAllowed);
            }
        }
        Ok(raw) => {
            prop_assert!(is_post);
            prop_assert!(bytes.len() <= MAX_BODY_BYTES);
            match raw {
                RawBody::Empty => prop_assert!(bytes.iter().all(u8::is_ascii_whitespace)),
                RawBody::Json(json) => {
                    prop_assert_eq!(json, bytes);
                    prop_assert!(content_type.contains("application/json"));
                    prop_assert!(!json.iter().all(u8::is_ascii_whitespace));
                    if let Err(err) = request::json::<serde_json::Value>(json) {
                        check_refusal("json", &err)?;
                        prop_assert!(matches!(err, ApiError::BadRequest(_)));
                    }
                }
                RawBody::Text(text) => {
                    prop_assert_eq!(text.as_bytes(), bytes);
                    prop_assert!(content_type.contains("text/plain"));
                }
            }
        }
    }

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Probe {
        password: String,
        room: Option<String>,
        count: Option<u32>,
    }
    if let Err(err) = request::json_body::<Probe>(req) {
        check_refusal("json_body", &err)?;
    }

    match request::bearer_token(req) {
        Err(err) => {
            check_refusal("bearer_token", &err)?;
            prop_assert!(matches!(err, ApiError::Unauthorized(_)));
        }
        Ok(None) => prop_assert!(req.headers().get(http::header::AUTHORIZATION).is_none()),
        Ok(Some(token)) => {
            prop_assert!(!token.is_empty() && token.trim() == token);
            let header = header_text(req, http::header::AUTHORIZATION);
            prop_assert!(header.starts_with("bearer "));
            prop_assert!(header.contains(&token.to_ascii_lowercase()));
        }
    }

    match auth::host_credentials(req) {
        Err(err) => check_refusal("host_credentials", &err)?,
        Ok(credentials) => {
            prop_assert!(is_post && bytes.len() <= MAX_BODY_BYTES);
            if let Ok(Some(bearer)) = request::bearer_token(req) {
                prop_assert!(matches!(&credentials, HostCredentials::Token(t) if t == bearer));
            }
            if matches!(credentials, HostCredentials::Password { .. }) {
                // A password comes only from a JSON object (as JSON or as text/plain).
                let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
                prop_assert_eq!(first, Some(&b'{'));
            }
        }
    }
    Ok(())
}

#[test]
fn the_request_corpus_is_handled() {
    for (name, bytes) in corpus("request") {
        let event = std::str::from_utf8(&bytes).unwrap_or_else(|_| panic!("{name}: not UTF-8"));
        let req = lambda_http::request::from_str(event)
            .unwrap_or_else(|err| panic!("{name}: not an API Gateway event: {err}"));
        if let Err(err) = check_request(&req) {
            panic!("{name}: {err}");
        }
    }
}

#[test]
fn arbitrary_requests_are_parsed_or_refused_with_a_4xx() {
    let built = std::sync::atomic::AtomicUsize::new(0);
    let cases = target_share(85);
    run("fuzz_request", cases, raw_request(), |raw| {
        let Some(req) = raw.build() else {
            return Ok(());
        };
        built.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        check_request(&req)
    });
    // Most generated requests are ones a client could send.
    let built = built.into_inner();
    println!("fuzz_request: {built} requests reached the parsers");
    assert!(built as u64 * 2 > cases as u64);
}

#[test]
fn ids_parse_only_what_they_describe() {
    let strategy = prop_oneof![
        text(140),
        text(140).prop_map(|t| format!("{ROOM_PREFIX}{t}")),
        text(40).prop_map(|t| format!("RM{t}")),
        (prop::collection::vec(
            prop::sample::select(b"0123456789abcdefABCDEFg".to_vec()),
            30..34
        ))
        .prop_map(|hex| format!("RM{}", String::from_utf8(hex).unwrap())),
    ];
    run("fuzz_ids", target_share(15), strategy, |value| {
        let named = |punct: &[u8]| {
            !value.is_empty()
                && value.len() <= MAX_NAME_LEN
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || punct.contains(&b))
        };
        match Identity::parse(&value) {
            Some(identity) => {
                prop_assert!(named(b"-_.@+"));
                prop_assert_eq!(identity.as_str(), value.as_str());
            }
            None => prop_assert!(!named(b"-_.@+")),
        }
        let is_room =
            named(b"-_") && value.starts_with(ROOM_PREFIX) && value.len() > ROOM_PREFIX.len();
        prop_assert_eq!(RoomName::parse(&value).is_some(), is_room);
        let is_sid = value.len() == 34
            && value.starts_with("RM")
            && value[2..].bytes().all(|b| b.is_ascii_hexdigit());
        prop_assert_eq!(Sid::parse("RM", &value).is_some(), is_sid);
        Ok(())
    });
}
