//! Small value types parsed at the edge: Twilio SIDs, identities and room names.
//!
//! Each has one constructor that checks the shape, so code further in never re-checks.

use std::fmt;

/// Prefix of every room OnAir creates; the reaper and `audience_token` only ever touch these.
pub const ROOM_PREFIX: &str = "livestream-";
/// Prefix of every viewer identity; a host identity may not start with it.
pub const VIEWER_PREFIX: &str = "viewer-";
/// Twilio's limit for identities and room names.
pub const MAX_NAME_LEN: usize = 128;

/// A Twilio SID: a two-letter prefix and 32 hex digits.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Sid(String);

impl Sid {
    pub fn parse(prefix: &str, value: &str) -> Option<Sid> {
        let hex = value.strip_prefix(prefix)?;
        (prefix.len() == 2 && hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| Sid(value.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A participant identity: 1 to 128 characters from `A-Z a-z 0-9 - _ . @ +`, so it is safe in a
/// URL path as it is. Written into answers as the plain string; read only through [`Identity::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Identity(String);

impl Identity {
    pub fn parse(value: &str) -> Option<Identity> {
        bounded_name(value, b"-_.@+").then(|| Identity(value.to_owned()))
    }
    /// A fresh viewer identity, `viewer-` and 16 random hex digits.
    pub fn new_viewer() -> Identity {
        Identity(format!("{VIEWER_PREFIX}{}", crate::random::hex(8)))
    }
    pub fn is_viewer(&self) -> bool {
        self.0.starts_with(VIEWER_PREFIX)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The unique name of a room OnAir created: `livestream-` followed by `A-Z a-z 0-9 - _`.
/// Written into answers as the plain string; read only through [`RoomName::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct RoomName(String);

impl RoomName {
    pub fn parse(value: &str) -> Option<RoomName> {
        (bounded_name(value, b"-_")
            && value.len() > ROOM_PREFIX.len()
            && value.starts_with(ROOM_PREFIX))
        .then(|| RoomName(value.to_owned()))
    }
    /// Any name, unchecked: only for tests that must reproduce Twilio's own examples.
    #[cfg(test)]
    pub(crate) fn unchecked(value: &str) -> RoomName {
        RoomName(value.to_owned())
    }
    /// A fresh room name, `livestream-` and 16 random hex digits.
    pub fn new_random() -> RoomName {
        RoomName(format!("{ROOM_PREFIX}{}", crate::random::hex(8)))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RoomName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn bounded_name(value: &str, punctuation: &[u8]) -> bool {
    !value.is_empty()
        && value.len() <= MAX_NAME_LEN
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || punctuation.contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sids_need_their_prefix_and_32_hex_digits() {
        assert!(Sid::parse("AC", "AC0123456789abcdef0123456789abcdef").is_some());
        assert!(Sid::parse("AC", "SK0123456789abcdef0123456789abcdef").is_none());
        assert!(Sid::parse("AC", "AC0123456789abcdef0123456789abcde").is_none());
        assert!(Sid::parse("AC", "AC0123456789abcdef0123456789abcdeg").is_none());
    }

    #[test]
    fn room_names_are_ours_and_bounded() {
        assert!(RoomName::parse("livestream-abc").is_some());
        assert!(RoomName::parse("livestream-").is_none());
        assert!(RoomName::parse("other-room").is_none());
        assert!(RoomName::parse("livestream-a b").is_none());
        assert!(RoomName::parse(&format!("livestream-{}", "a".repeat(120))).is_none());
        let fresh = RoomName::new_random();
        assert_eq!(fresh.as_str().len(), ROOM_PREFIX.len() + 16);
        assert_ne!(fresh, RoomName::new_random());
    }

    #[test]
    fn viewer_identities_are_fresh() {
        let a = Identity::new_viewer();
        assert!(a.is_viewer());
        assert_ne!(a, Identity::new_viewer());
        assert!(!Identity::parse("host").unwrap().is_viewer());
        assert!(Identity::parse("").is_none());
        assert!(Identity::parse("a/b").is_none());
        assert!(Identity::parse("host@example.com").is_some());
    }
}
