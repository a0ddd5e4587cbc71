//! The call log: every REST request the stand-in answered, in order, so tests can count the
//! Twilio calls a piece of the product made.

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

/// The first value of parameter `name` among (name, value) pairs.
pub(crate) fn first_param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}
