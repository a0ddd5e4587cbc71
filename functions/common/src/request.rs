//! The edge: a Lambda HTTP request turned into typed input, or a 4xx [`ApiError`].
//!
//! Bodies are limited to 16 KiB and must be JSON (`application/json`), except where an endpoint
//! also takes `text/plain` (what `navigator.sendBeacon` sends for a string). Nothing here calls
//! Twilio, so bad input never costs a Twilio call.

use lambda_http::{Body, Request};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, shortened};

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

/// Checks the method and size and sorts the body by content type.
pub fn body(req: &Request) -> Result<RawBody<'_>, ApiError> {
    if req.method() != http::Method::POST {
        return Err(ApiError::MethodNotAllowed);
    }
    let bytes: &[u8] = match req.body() {
        Body::Empty => return Ok(RawBody::Empty),
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => return Ok(RawBody::Empty),
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::TooLarge(MAX_BODY_BYTES));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(RawBody::Empty);
    }
    let content_type = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
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
