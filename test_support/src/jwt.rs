//! Reading a JWT in a test: its header and claims as JSON, nothing verified.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// The token's header.
pub fn header(jwt: &str) -> Value {
    part(jwt, 0)
}

/// The token's claims.
pub fn claims(jwt: &str) -> Value {
    part(jwt, 1)
}

/// Segment `index` of the token, base64url-decoded and parsed; panics if it is not JSON.
fn part(jwt: &str, index: usize) -> Value {
    let segment = jwt
        .split('.')
        .nth(index)
        .unwrap_or_else(|| panic!("a JWT has three segments: {jwt}"));
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .unwrap_or_else(|err| panic!("segment {index} is not base64url: {err}"));
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|err| panic!("segment {index} is not JSON: {err}"))
}
