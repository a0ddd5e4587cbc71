//! The two logs tests read: every REST request the stand-in answered ([`Call`]), in order, so
//! tests can count the Twilio calls a piece of the product made; and every room status callback
//! it sent ([`CallbackInfo`]).

use serde::Serialize;

/// One REST request: method, path (as sent, without the query), its query and form parameters
/// as (name, value) pairs in arrival order, and the response status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub params: Vec<(String, String)>,
    pub status: u16,
}

impl Call {
    /// The first value of parameter `name`, if the call had it.
    pub fn param(&self, name: &str) -> Option<&str> {
        first_param(&self.params, name)
    }
}

/// One room status callback the stand-in sent (or tried to), in the order they were sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallbackInfo {
    /// The `StatusCallback` URL (for `GET`, without the query the parameters went in).
    pub url: String,
    /// `POST` or `GET`, the room's `StatusCallbackMethod`.
    pub method: String,
    /// `StatusCallbackEvent`: `room-created`, `participant-connected`,
    /// `participant-disconnected` or `room-ended`.
    pub event: String,
    /// Every parameter sent, in order.
    pub params: Vec<(String, String)>,
    /// The `X-Twilio-Signature` sent.
    pub signature: String,
    /// The receiver's HTTP status; `None` if it could not be reached or was not called.
    pub status: Option<u16>,
    /// Why there is no status.
    pub error: Option<String>,
}

impl CallbackInfo {
    /// The first value of parameter `name`, if it was sent.
    pub fn param(&self, name: &str) -> Option<&str> {
        first_param(&self.params, name)
    }
}

/// The first value of parameter `name` among (name, value) pairs.
pub(crate) fn first_param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}
