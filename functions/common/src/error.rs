//! The JSON errors every endpoint answers with (docs/ARCHITECTURE.md, Errors).
//!
//! One enum, one mapping to status and code. Handlers return `Result<_, ApiError>`; the edge
//! turns an `ApiError` into `{"error": {"code", "message"}}`. Messages are written for a person
//! and never carry a secret: nothing that builds an `ApiError` has a secret in reach.
//!
//! A foundation: it imports nothing of this crate, so every layer may build one. The
//! conversions of the lower layers' own errors (Twilio's, the secrets', the domain's) into an
//! `ApiError` live at the HTTP edge, in `response`.

use http::StatusCode;

/// A failure the caller is told about, with its status and code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    NotFound(String),
    /// The method the endpoint takes.
    #[error("only {0} is allowed here")]
    MethodNotAllowed(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("the request body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Too many attempts; `retry_after_secs` becomes the `Retry-After` header.
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after_secs: Option<u64>,
    },
    /// Twilio failed or could not be reached; the message says what failed, never the
    /// credentials. `retry_after_secs`, when known, becomes the `Retry-After` header.
    #[error("{message}")]
    Upstream {
        message: String,
        retry_after_secs: Option<u64>,
    },
    /// Configuration or secrets are missing or unreadable.
    #[error("{0}")]
    Unavailable(String),
}

impl ApiError {
    /// A 502 `upstream_error` without advice on when to try again.
    pub fn upstream(message: impl Into<String>) -> ApiError {
        ApiError::Upstream {
            message: message.into(),
            retry_after_secs: None,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Upstream { .. } => StatusCode::BAD_GATEWAY,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The stable snake_case code clients branch on.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed(_) => "method_not_allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::TooLarge(_) => "too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Upstream { .. } => "upstream_error",
            ApiError::Unavailable(_) => "unavailable",
        }
    }

    /// Seconds the caller should wait before trying again, if the error says.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            ApiError::RateLimited {
                retry_after_secs, ..
            }
            | ApiError::Upstream {
                retry_after_secs, ..
            } => *retry_after_secs,
            _ => None,
        }
    }

    /// The response body: `{"error": {"code": ..., "message": ...}}`.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({ "error": { "code": self.code(), "message": self.to_string() } })
    }
}

/// `wait` in whole seconds, rounded up: a client told to wait that long has waited enough.
pub fn whole_seconds(wait: std::time::Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// `text` cut to `max` characters, with `…` when something was cut: for text from outside
/// (a caller's content type, Twilio's error messages) that an error or a log line repeats.
pub fn shortened(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}…", &text[..end]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_seconds_round_up() {
        use std::time::Duration;
        assert_eq!(whole_seconds(Duration::ZERO), 0);
        assert_eq!(whole_seconds(Duration::from_millis(1)), 1);
        assert_eq!(whole_seconds(Duration::from_secs(2)), 2);
        assert_eq!(whole_seconds(Duration::from_millis(2001)), 3);
    }

    #[test]
    fn shortened_cuts_on_a_character_boundary() {
        assert_eq!(shortened("abc", 3), "abc");
        assert_eq!(shortened("abcd", 3), "abc…");
        assert_eq!(shortened("ééééé", 2), "éé…");
        assert_eq!(shortened("", 0), "");
    }
}
