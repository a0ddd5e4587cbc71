//! Small value types parsed at the edge: Twilio SIDs, identities, stream names and room names.
//!
//! Each has one constructor that checks the shape, so code further in never re-checks.
//! A room belongs to a stream by its name: `livestream-<stream>-<suffix>`, the suffix a fixed
//! number of `[a-z0-9]` (docs/ARCHITECTURE.md, Named streams).

use std::fmt;

/// Prefix of every room OnAir creates; the reaper and `audience_token` only ever touch these.
pub const ROOM_PREFIX: &str = "livestream-";
/// Prefix of every viewer identity; a host identity may not start with it.
pub const VIEWER_PREFIX: &str = "viewer-";
/// Twilio's limit for identities and room names.
pub const MAX_NAME_LEN: usize = 128;
/// The longest stream name.
pub const MAX_STREAM_LEN: usize = 40;
/// The stream of a deployment that names none (`/` is its audience link).
pub const DEFAULT_STREAM: &str = "main";
/// Length of the random part that ends every room name (`[a-z0-9]`, here hex digits).
pub const ROOM_SUFFIX_LEN: usize = 10;

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

/// The name of a stream: 1 to 40 characters of `a-z 0-9 -`, starting and ending with a letter or
/// digit (so it is safe in a URL path and a room name as it is). Written into answers as the
/// plain string; read only through [`StreamName::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct StreamName(String);

impl StreamName {
    pub fn parse(value: &str) -> Option<StreamName> {
        let bytes = value.as_bytes();
        let inner = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        (!bytes.is_empty()
            && bytes.len() <= MAX_STREAM_LEN
            && bytes.iter().all(|b| inner(b) || *b == b'-')
            && bytes.first().is_some_and(inner)
            && bytes.last().is_some_and(inner))
        .then(|| StreamName(value.to_owned()))
    }
    /// The default stream, `main`.
    pub fn main() -> StreamName {
        StreamName(DEFAULT_STREAM.to_owned())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for StreamName {
    fn default() -> StreamName {
        StreamName::main()
    }
}

impl fmt::Display for StreamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The unique name of a room OnAir created: `livestream-` followed by `A-Z a-z 0-9 - _`. Rooms
/// made for a stream are `livestream-<stream>-<suffix>` ([`RoomName::for_stream`]); a room named
/// before streams had names (`livestream-<16 hex>`) is still ours, but belongs to no stream.
/// Written into answers as the plain string; read only through [`RoomName::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
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
    /// A fresh room of `stream`: `livestream-<stream>-` and [`ROOM_SUFFIX_LEN`] random hex digits.
    pub fn for_stream(stream: &StreamName) -> RoomName {
        RoomName(format!(
            "{ROOM_PREFIX}{stream}-{}",
            crate::random::hex(ROOM_SUFFIX_LEN / 2)
        ))
    }
    /// The stream this room was made for; `None` for a room named before streams had names.
    /// Unambiguous: the suffix is a fixed length of `[a-z0-9]`, after the last `-`.
    pub fn stream(&self) -> Option<StreamName> {
        let rest = self.0.strip_prefix(ROOM_PREFIX)?;
        let (stream, suffix) = rest.rsplit_once('-')?;
        (suffix.len() == ROOM_SUFFIX_LEN
            && suffix
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
        .then(|| StreamName::parse(stream))
        .flatten()
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
    }

    #[test]
    fn stream_names_are_short_lowercase_and_dashed_inside() {
        for good in ["main", "a", "my-talk", "2026-q3", &"x".repeat(40)] {
            assert_eq!(StreamName::parse(good).unwrap().as_str(), good);
        }
        for bad in [
            "",
            "-a",
            "a-",
            "My-Talk",
            "a_b",
            "a b",
            "a/b",
            "é",
            "a.b",
            &"x".repeat(41),
        ] {
            assert!(StreamName::parse(bad).is_none(), "{bad:?}");
        }
        assert_eq!(StreamName::default().as_str(), DEFAULT_STREAM);
    }

    #[test]
    fn a_room_names_its_stream_and_the_stream_comes_back_out() {
        for name in ["main", "a", "my-talk", "a-b-c-0123456789", &"z".repeat(40)] {
            let stream = StreamName::parse(name).unwrap();
            let room = RoomName::for_stream(&stream);
            assert_eq!(
                room.as_str().len(),
                ROOM_PREFIX.len() + name.len() + 1 + ROOM_SUFFIX_LEN
            );
            assert!(room.as_str().len() <= MAX_NAME_LEN);
            assert_eq!(RoomName::parse(room.as_str()), Some(room.clone()));
            assert_eq!(room.stream(), Some(stream.clone()));
            assert_ne!(room, RoomName::for_stream(&stream));
        }
        // Named before streams, or not the shape: ours, but of no stream.
        for streamless in [
            "livestream-0123456789abcdef",
            "livestream-main-012345678",
            "livestream-main-0123456789a",
            "livestream-main-012345678A",
            "livestream--0123456789",
            "livestream-Main-0123456789",
        ] {
            let room = RoomName::parse(streamless).unwrap();
            assert_eq!(room.stream(), None, "{streamless}");
        }
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
