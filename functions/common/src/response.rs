//! Turning a handler's result into the HTTP response: JSON, `no-store`, and errors as in
//! DESIGN §3. Client errors are logged at `info`, upstream and config failures at `warn`.

use lambda_http::{Body, Response};
use serde::Serialize;

use crate::error::ApiError;

/// A JSON response with `status`.
pub fn json_response(status: http::StatusCode, body: &serde_json::Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::CACHE_CONTROL, "no-store")
        .body(Body::Text(body.to_string()))
        .unwrap_or_default()
}

/// 200 with the value, or the error's status and body.
pub fn respond<T: Serialize>(endpoint: &str, result: Result<T, ApiError>) -> Response<Body> {
    match result {
        Ok(value) => match serde_json::to_value(&value) {
            Ok(body) => json_response(http::StatusCode::OK, &body),
            Err(_) => respond::<()>(
                endpoint,
                Err(ApiError::Unavailable(
                    "the answer could not be written".into(),
                )),
            ),
        },
        Err(err) => {
            let status = err.status();
            if status.is_server_error() {
                tracing::warn!(endpoint, status = status.as_u16(), code = err.code(), reason = %err, "request failed");
            } else {
                tracing::info!(endpoint, status = status.as_u16(), code = err.code(), reason = %err, "request refused");
            }
            let mut response = json_response(status, &err.body());
            if let Some(secs) = err.retry_after_secs() {
                response
                    .headers_mut()
                    .insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
            }
            response
        }
    }
}
