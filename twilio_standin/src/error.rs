//! Twilio-shaped errors: `{"code", "message", "more_info", "status"}` with the codes the product
//! relies on. A plain value (the state returns it too); the HTTP surfaces turn it into an answer
//! (`layers`).

use serde_json::{Value, json};

/// Generic invalid-parameter error (used for unknown names, bad enum values, malformed numbers).
pub(crate) const INVALID_PARAMETER: u32 = 20001;
pub(crate) const AUTHENTICATE: u32 = 20003;
pub(crate) const METHOD_NOT_ALLOWED: u32 = 20004;
pub(crate) const NOT_FOUND: u32 = 20404;
pub(crate) const TOO_MANY_REQUESTS: u32 = 20429;
pub(crate) const INTERNAL: u32 = 20500;
pub(crate) const ROOM_NOT_IN_PROGRESS: u32 = 53112;
pub(crate) const ROOM_EXISTS: u32 = 53113;
pub(crate) const INVALID_SUBSCRIBE_RULES: u32 = 53215;

/// An error response as Twilio's REST API returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TwilioError {
    pub(crate) status: u16,
    pub(crate) code: u32,
    pub(crate) message: String,
}

impl TwilioError {
    pub(crate) fn new(status: u16, code: u32, message: impl Into<String>) -> Self {
        TwilioError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 / 20001.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(400, INVALID_PARAMETER, message)
    }

    /// 404 / 20404 for a path (as Twilio words it, without the `/v1` prefix).
    pub(crate) fn not_found(path: &str) -> Self {
        let shown = path.strip_prefix("/v1").unwrap_or(path);
        Self::new(
            404,
            NOT_FOUND,
            format!("The requested resource {shown} was not found"),
        )
    }

    pub(crate) fn authenticate() -> Self {
        Self::new(401, AUTHENTICATE, "Authenticate")
    }

    pub(crate) fn method_not_allowed(method: &str) -> Self {
        Self::new(
            405,
            METHOD_NOT_ALLOWED,
            format!("Method not allowed: {method}"),
        )
    }

    pub(crate) fn room_not_in_progress() -> Self {
        Self::new(400, ROOM_NOT_IN_PROGRESS, "Room is not in progress")
    }

    pub(crate) fn room_exists() -> Self {
        Self::new(400, ROOM_EXISTS, "Room exists")
    }

    pub(crate) fn invalid_rules(detail: &str) -> Self {
        Self::new(
            400,
            INVALID_SUBSCRIBE_RULES,
            format!("Invalid Subscribe Rules: {detail}"),
        )
    }

    pub(crate) fn body(&self) -> Value {
        json!({
            "code": self.code,
            "message": self.message,
            "more_info": format!("https://www.twilio.com/docs/errors/{}", self.code),
            "status": self.status,
        })
    }
}
