//! The edge: a Lambda HTTP request turned into typed input, or a 4xx [`ApiError`].
//!
//! Bodies are limited to 16 KiB and must be JSON (`application/json`), except where an endpoint
//! also takes `text/plain` (what `navigator.sendBeacon` sends for a string), and `room_events`,
//! which takes Twilio's `application/x-www-form-urlencoded` callbacks ([`form_body`]). Every
//! endpoint takes POST but `stream_status`, a GET resource whose input is its path
//! ([`path_stream`]). Nothing here calls Twilio, so bad input never costs a Twilio call. What
//! API Gateway says about the request is read here too: the caller's address and the URL
//! Twilio's callbacks come to; and what the browser says about itself: the origin of the page
//! that called ([`page_origin`]).

use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt};
use serde::de::DeserializeOwned;

use crate::attempts::SourceAddress;
use crate::config::Settings;
use crate::error::{ApiError, shortened};
use crate::ids::StreamName;

/// The path of the `room_events` function under the API's domain.
pub const ROOM_EVENTS_PATH: &str = "/room_events";

/// The largest body any endpoint accepts.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The most of a caller's own text (a content type) an error message repeats.
const MAX_ECHOED_CHARS: usize = 64;

/// A request body that passed the size limit, with its declared kind.
pub enum RawBody<'a> {
    Empty,
    Json(&'a [u8]),
    Text(&'a str),
}

/// Checks the method and size; `None` for an empty (or blank) body.
fn bounded_bytes(req: &Request) -> Result<Option<&[u8]>, ApiError> {
    if req.method() != http::Method::POST {
        return Err(ApiError::MethodNotAllowed("POST"));
    }
    let bytes: &[u8] = match req.body() {
        Body::Empty => return Ok(None),
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => return Ok(None),
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::TooLarge(MAX_BODY_BYTES));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    Ok(Some(bytes))
}

/// The media type of the body, lowercase, without parameters (`""` when none is declared).
fn content_type(req: &Request) -> String {
    req.headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Checks the method and size and sorts the body by content type.
pub fn body(req: &Request) -> Result<RawBody<'_>, ApiError> {
    let Some(bytes) = bounded_bytes(req)? else {
        return Ok(RawBody::Empty);
    };
    match content_type(req).as_str() {
        "application/json" => Ok(RawBody::Json(bytes)),
        "text/plain" => std::str::from_utf8(bytes)
            .map(RawBody::Text)
            .map_err(|_| ApiError::BadRequest("the body is not valid UTF-8 text".into())),
        "" => Err(ApiError::UnsupportedMediaType(
            "send the body as application/json".into(),
        )),
        other => Err(ApiError::UnsupportedMediaType(format!(
            "content type {} is not accepted; send application/json",
            shortened(other, MAX_ECHOED_CHARS)
        ))),
    }
}

/// The parameters of an `application/x-www-form-urlencoded` body (Twilio's callbacks) as
/// (name, value) pairs in arrival order; an empty body has none.
pub fn form_body(req: &Request) -> Result<Vec<(String, String)>, ApiError> {
    let Some(bytes) = bounded_bytes(req)? else {
        return Ok(Vec::new());
    };
    if content_type(req) != "application/x-www-form-urlencoded" {
        return Err(ApiError::UnsupportedMediaType(
            "send the body as application/x-www-form-urlencoded".into(),
        ));
    }
    serde_urlencoded::from_bytes(bytes)
        .map_err(|_| ApiError::BadRequest("the body is not a valid URL-encoded form".into()))
}

/// Parses a JSON body into `T`; a wrong shape is a 400 that says what is wrong, without echoing
/// the body (it may hold a password).
pub fn json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Every body is an object; serde would otherwise also read a struct from an array.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::BadRequest(
            "the body must be a JSON object".into(),
        ));
    }
    serde_json::from_slice(bytes).map_err(|err| {
        let what = match err.classify() {
            serde_json::error::Category::Data => {
                "the JSON does not have the expected fields and types"
            }
            _ => "the body is not valid JSON",
        };
        ApiError::BadRequest(format!(
            "{what} (line {}, column {})",
            err.line(),
            err.column()
        ))
    })
}

/// The JSON body as `T`, for endpoints that accept only JSON. An empty body is `missing`.
pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    match body(req)? {
        RawBody::Json(bytes) => json(bytes),
        RawBody::Empty => Err(ApiError::BadRequest("the request needs a JSON body".into())),
        RawBody::Text(_) => Err(ApiError::UnsupportedMediaType(
            "send the body as application/json".into(),
        )),
    }
}

/// The JSON body as `T`, or `T::default()` for an empty body (endpoints whose fields are all
/// optional, such as `audience_token`'s `{stream?}`).
pub fn optional_json_body<T: DeserializeOwned + Default>(req: &Request) -> Result<T, ApiError> {
    match body(req)? {
        RawBody::Empty => Ok(T::default()),
        _ => json_body(req),
    }
}

/// The stream a request names (`stream` in its body); the default stream when it names none.
pub fn stream_name(value: Option<&str>) -> Result<StreamName, ApiError> {
    match value {
        None => Ok(StreamName::main()),
        Some(text) => StreamName::parse(text).ok_or_else(bad_stream_name),
    }
}

fn bad_stream_name() -> ApiError {
    ApiError::BadRequest(
        "a stream name is 1 to 40 characters of a-z, 0-9 and -, starting and ending with a letter or digit"
            .into(),
    )
}

/// The stream a GET resource names as the one path segment after `prefix` (`/status/<stream>`).
/// Only GET (and HEAD) are taken; a body is ignored.
pub fn path_stream(req: &Request, prefix: &str) -> Result<StreamName, ApiError> {
    if req.method() != http::Method::GET && req.method() != http::Method::HEAD {
        return Err(ApiError::MethodNotAllowed("GET"));
    }
    req.uri()
        .path()
        .strip_prefix(prefix)
        .and_then(StreamName::parse)
        .ok_or_else(bad_stream_name)
}

/// The bearer token of the `Authorization` header, if there is one.
pub fn bearer_token(req: &Request) -> Result<Option<&str>, ApiError> {
    let Some(value) = req.headers().get(http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::Unauthorized("the Authorization header is malformed".into()))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(ApiError::Unauthorized(
            "the Authorization header must be `Bearer <token>`".into(),
        )),
    }
}

/// The API Gateway HTTP API context of the request; `None` for requests built in-process.
pub fn gateway_context(req: &Request) -> Option<&ApiGatewayV2httpRequestContext> {
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => Some(context),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// The caller's address as API Gateway saw it (`requestContext.http.sourceIp`).
pub fn source_address(req: &Request) -> SourceAddress {
    gateway_context(req)
        .and_then(|context| context.http.source_ip.as_deref())
        .and_then(|ip| ip.parse().ok())
        .map_or(SourceAddress::Unknown, SourceAddress::Ip)
}

/// The origin of the page that sent `req` (its `Origin` header: browsers send it with every
/// `POST`, CloudFront forwards it with the viewer's headers, and the dev server passes it on),
/// when it is a plain `http(s)://host[:port]`; `None` for callers that send none (curl) or
/// anything else. Links the pages must open (a meeting's invite) are made on it.
pub fn page_origin(req: &Request) -> Option<String> {
    let origin = req.headers().get(http::header::ORIGIN)?.to_str().ok()?;
    let (scheme, authority) = origin.split_once("://")?;
    let (host, port) = match authority.strip_prefix('[') {
        // An IPv6 literal: `[address]` and maybe `:port`.
        Some(rest) => {
            let (address, after) = rest.split_once(']')?;
            let port = match after {
                "" => None,
                _ => Some(after.strip_prefix(':')?),
            };
            (address, port)
        }
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    let host_ok = if authority.starts_with('[') {
        host.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        !host.is_empty()
            && host.len() <= 253
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.parse::<u16>().is_ok());
    (matches!(scheme, "https" | "http") && host_ok && port_ok).then(|| origin.to_owned())
}

/// The URL Twilio posts room status callbacks to: `ROOM_EVENTS_URL` when set, else
/// `https://<the API's domain name>/room_events` from the request's API Gateway context (the
/// domain the HTTP API itself answers on, also when the request came through CloudFront).
/// `None` when neither is known (a request without an API Gateway context, e.g. in tests, or a
/// local emulator's `localhost`). Rooms are created with it (`StatusCallback`) and their
/// callbacks verified against it: Twilio signs exactly the URL it was given.
pub fn callback_url(settings: &Settings, req: &Request) -> Option<String> {
    if let Some(url) = &settings.room_events_url {
        return Some(url.clone());
    }
    let domain = gateway_context(req)?.domain_name.as_deref()?;
    // A public host name only: a local emulator's `localhost` or IP address is not a URL
    // Twilio could call (locally, ROOM_EVENTS_URL says where callbacks go).
    let public_name = domain.len() <= 253
        && domain.contains('.')
        && domain.parse::<std::net::IpAddr>().is_err()
        && domain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    public_name.then(|| format!("https://{domain}{ROOM_EVENTS_PATH}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(extra: &[(&str, &str)]) -> Settings {
        let source: std::collections::HashMap<String, String> = extra
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_source(&source).unwrap()
    }

    fn request_on(domain: Option<&str>) -> Request {
        let mut context =
            lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext::default();
        context.domain_name = domain.map(str::to_owned);
        http::Request::builder()
            .method("POST")
            .uri("https://ignored.example/room_events")
            .body(lambda_http::Body::Empty)
            .unwrap()
            .with_request_context(RequestContext::ApiGatewayV2(context))
    }

    #[test]
    fn the_page_origin_is_a_plain_http_origin_or_nothing() {
        let with_origin = |value: &str| {
            http::Request::builder()
                .header("origin", value)
                .body(lambda_http::Body::Empty)
                .unwrap()
        };
        for good in [
            "https://d111111abcdef8.cloudfront.net",
            "http://127.0.0.1:8080",
            "https://meet.example.org:8443",
            "http://[::1]:8080",
            "http://[::1]",
            "http://localhost",
        ] {
            assert_eq!(page_origin(&with_origin(good)).as_deref(), Some(good));
        }
        for bad in [
            "null",
            "",
            "https://",
            "ftp://example.org",
            "https://example.org/path",
            "https://example.org:99999",
            "https://example.org:",
            "https://ex ample.org",
            "https://user@example.org",
            "https://[not-ip]:1",
            "https://[::1]x",
            "https://a:1:2",
            "javascript://x",
        ] {
            assert_eq!(page_origin(&with_origin(bad)), None, "{bad}");
        }
        let none = http::Request::builder()
            .body(lambda_http::Body::Empty)
            .unwrap();
        assert_eq!(page_origin(&none), None);
    }

    #[test]
    fn the_callback_url_is_the_setting_or_the_apis_own_domain() {
        let derived = settings(&[]);
        assert_eq!(
            callback_url(
                &derived,
                &request_on(Some("abc123.execute-api.eu-west-1.amazonaws.com"))
            ),
            Some("https://abc123.execute-api.eu-west-1.amazonaws.com/room_events".into())
        );
        assert_eq!(callback_url(&derived, &request_on(None)), None);
        for unusable in ["evil.example/path?x=", "", "localhost", "127.0.0.1", "::1"] {
            assert_eq!(
                callback_url(&derived, &request_on(Some(unusable))),
                None,
                "{unusable}"
            );
        }
        let plain = http::Request::builder()
            .body(lambda_http::Body::Empty)
            .unwrap();
        assert_eq!(callback_url(&derived, &plain), None);

        let set = settings(&[("ROOM_EVENTS_URL", "http://127.0.0.1:9000/room_events")]);
        assert_eq!(
            callback_url(
                &set,
                &request_on(Some("abc123.execute-api.eu-west-1.amazonaws.com"))
            ),
            Some("http://127.0.0.1:9000/room_events".into())
        );
    }
}
