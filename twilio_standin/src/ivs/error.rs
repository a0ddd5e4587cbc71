//! The IVS API's errors as the model shapes them: the exception shape's name in
//! `x-amzn-ErrorType`, its `httpStatusCode` as the status, and a JSON body with the one body
//! member the model gives every exception, `exceptionMessage`.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// One error answer of the IVS API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AwsError {
    /// The model's exception shape, e.g. `ValidationException`.
    pub(crate) shape: &'static str,
    pub(crate) status: u16,
    pub(crate) message: String,
}

impl AwsError {
    fn new(shape: &'static str, status: u16, message: impl Into<String>) -> Self {
        AwsError {
            shape,
            status,
            message: message.into(),
        }
    }

    /// 400: a request body that does not fit the operation's input shape.
    pub(crate) fn validation(message: impl Into<String>) -> Self {
        Self::new("ValidationException", 400, message)
    }

    /// 403: a missing, malformed or wrong SigV4 signature.
    pub(crate) fn access_denied(message: impl Into<String>) -> Self {
        Self::new("AccessDeniedException", 403, message)
    }

    /// 404: no such stage, public key or participant.
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new("ResourceNotFoundException", 404, message)
    }

    /// 409: the resource is in use.
    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self::new("ConflictException", 409, message)
    }

    /// What an injected fault answers: the model's exception of that status where there is one
    /// (400, 402, 403, 404, 409, 500); any other 5xx is an `InternalServerException` with that
    /// status; 429 is AWS's `ThrottlingException`, which the model does not list but every AWS
    /// front door answers and the SDKs retry as throttling.
    pub(crate) fn injected(status: u16) -> Self {
        let message = "injected by the stand-in";
        match status {
            400 => Self::validation(message),
            402 => Self::new("ServiceQuotaExceededException", 402, message),
            403 => Self::access_denied(message),
            404 => Self::not_found(message),
            409 => Self::conflict(message),
            429 => Self::new("ThrottlingException", 429, message),
            _ => Self::new("InternalServerException", status.max(500), message),
        }
    }
}

impl IntoResponse for AwsError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (
            status,
            axum::Json(json!({ "exceptionMessage": self.message })),
        )
            .into_response();
        response
            .headers_mut()
            .insert("x-amzn-ErrorType", HeaderValue::from_static(self.shape));
        response
    }
}
