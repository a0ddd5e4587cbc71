//! Small value types parsed at the edge: Twilio SIDs, identities, stream names and room names,
//! and for meetings the meeting id, its room, the display names people type and the identities
//! that carry them (the format is documented at [`MeetingIdentity`]).
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

impl UniqueRoomName for RoomName {
    fn as_str(&self) -> &str {
        &self.0
    }
}

/// The unique name of a room OnAir creates at Twilio, a stream's or a meeting's: what the
/// Twilio client creates, fetches and completes rooms by.
pub trait UniqueRoomName: fmt::Display {
    fn as_str(&self) -> &str;
}

fn bounded_name(value: &str, punctuation: &[u8]) -> bool {
    !value.is_empty()
        && value.len() <= MAX_NAME_LEN
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || punctuation.contains(&b))
}

// ---- meetings ------------------------------------------------------------------------------

/// Prefix of every meeting room: `meeting-` and the meeting id.
pub const MEETING_ROOM_PREFIX: &str = "meeting-";
/// Characters of a meeting id.
const MEETING_ID_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
/// Length of a meeting id (36^12, about 62 bits; the invite's signature, not the id, is what
/// keeps strangers out).
pub const MEETING_ID_LEN: usize = 12;

/// A meeting: 12 characters `a-z 0-9`, made at random by `meeting_create`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct MeetingId(String);

impl MeetingId {
    pub fn parse(value: &str) -> Option<MeetingId> {
        (value.len() == MEETING_ID_LEN && value.bytes().all(|b| MEETING_ID_ALPHABET.contains(&b)))
            .then(|| MeetingId(value.to_owned()))
    }
    pub fn new_random() -> MeetingId {
        MeetingId(crate::random::from_alphabet(
            MEETING_ID_ALPHABET,
            MEETING_ID_LEN,
        ))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MeetingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A meeting's group room: `meeting-<meeting id>`. Created on the first join; a meeting whose
/// room ended (everyone left, or the reaper) gets a new room of the same name on the next join.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct MeetingRoom(String);

impl MeetingRoom {
    pub fn of(meeting: &MeetingId) -> MeetingRoom {
        MeetingRoom(format!("{MEETING_ROOM_PREFIX}{meeting}"))
    }
    pub fn parse(value: &str) -> Option<MeetingRoom> {
        MeetingId::parse(value.strip_prefix(MEETING_ROOM_PREFIX)?).map(|id| MeetingRoom::of(&id))
    }
    pub fn meeting(&self) -> MeetingId {
        MeetingId(self.0[MEETING_ROOM_PREFIX.len()..].to_owned())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl UniqueRoomName for MeetingRoom {
    fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MeetingRoom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The most characters (Unicode scalar values) of a display name.
pub const MAX_DISPLAY_NAME_CHARS: usize = 40;

/// Why a display name was refused; the message is for the person who typed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("type your name to join")]
    Empty,
    #[error("a name may have at most {MAX_DISPLAY_NAME_CHARS} characters")]
    TooLong,
    #[error("a name may not contain control characters or invisible formatting")]
    ControlCharacter,
    #[error("this name has too many emoji or symbols; shorten it")]
    TooWide,
}

/// A name as people see it in a meeting: trimmed, 1 to 40 characters (Unicode scalar values),
/// without control characters (Unicode `Cc`: newlines, tabs, escapes) or the invisible
/// formatting characters that hide or reorder text (zero-width characters, bidirectional
/// overrides and isolates, line and paragraph separators, the byte order mark), and narrow
/// enough to travel in a [`MeetingIdentity`] within Twilio's identity limit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(value: &str) -> Result<DisplayName, NameError> {
        let name = value.trim();
        if name.is_empty() {
            return Err(NameError::Empty);
        }
        if name.chars().count() > MAX_DISPLAY_NAME_CHARS {
            return Err(NameError::TooLong);
        }
        if name
            .chars()
            .any(|c| c.is_control() || is_invisible_format(c))
        {
            return Err(NameError::ControlCharacter);
        }
        if twilio_width(name) > MAX_NAME_LEN - MEETING_IDENTITY_PREFIX_LEN {
            return Err(NameError::TooWide);
        }
        Ok(DisplayName(name.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Format characters (Unicode `Cf`, `Zl`, `Zp`) that make a name render differently from what
/// it is: zero-width spaces and joiners, direction marks, embeddings, overrides and isolates,
/// word joiners and invisible operators, line and paragraph separators, the byte order mark.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{2028}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}'
        | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

/// Length of `text` as Twilio counts identities ("double-byte characters are counted as 2"),
/// taken cautiously: an ASCII character 1, any other character of the Basic Multilingual Plane
/// 2, a character beyond it (most emoji: two UTF-16 units) 4.
pub fn twilio_width(text: &str) -> usize {
    text.chars()
        .map(|c| if c.is_ascii() { 1 } else { 2 * c.len_utf16() })
        .sum()
}

/// `<8 random hex digits>.`
const MEETING_IDENTITY_PREFIX_LEN: usize = 9;

/// A meeting participant's identity: **`<8 random lowercase hex digits>.<display name>`**, the
/// name exactly as [`DisplayName`] keeps it (trimmed, any script, no control characters), not
/// encoded. Twilio gives other participants nothing but the identity, so the name travels in
/// it; the random part makes each join unique, so two people called "Ana" are two
/// participants (`1a2b3c4d.Ana`, `9f8e7d6c.Ana`) and neither replaces the other. A page reads the
/// name back as everything after the first 9 characters. At most 9 + 119 = 128 by
/// [`twilio_width`], within Twilio's identity limit (128, double-byte characters counted twice).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct MeetingIdentity(String);

impl MeetingIdentity {
    /// A fresh identity for one join of `name`.
    pub fn new(name: &DisplayName) -> MeetingIdentity {
        MeetingIdentity(format!(
            "{}.{name}",
            crate::random::hex(4),
            name = name.as_str()
        ))
    }
    /// Reads an identity of this shape back (the name is checked as [`DisplayName`] checks it).
    pub fn parse(value: &str) -> Option<MeetingIdentity> {
        let (tag, name) = value.split_at_checked(MEETING_IDENTITY_PREFIX_LEN)?;
        let hex = tag.strip_suffix('.')?;
        let ok = hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            && DisplayName::parse(name).is_ok_and(|parsed| parsed.as_str() == name);
        ok.then(|| MeetingIdentity(value.to_owned()))
    }
    /// The display name this identity carries.
    pub fn name(&self) -> &str {
        &self.0[MEETING_IDENTITY_PREFIX_LEN..]
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The id of an IVS ARN of resource `kind`, `arn:aws:ivs:<region>:<account>:<kind>/<id>`, when
/// its region and account are well formed (the model's patterns); the caller checks the id.
pub fn ivs_arn_id<'a>(value: &'a str, kind: &str) -> Option<&'a str> {
    let rest = value.strip_prefix("arn:aws:ivs:")?;
    let (region, rest) = rest.split_once(':')?;
    let (account, rest) = rest.split_once(':')?;
    let id = rest.strip_prefix(kind)?.strip_prefix('/')?;
    let ok = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !account.is_empty()
        && account.bytes().all(|b| b.is_ascii_digit());
    ok.then_some(id)
}

/// An IVS real-time stage's ARN, `arn:aws:ivs:<region>:<account>:stage/<id>` (the model's
/// pattern; the id is 12 `A-Z a-z 0-9`). Read only through [`StageArn::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct StageArn(String);

impl StageArn {
    pub fn parse(value: &str) -> Option<StageArn> {
        let id = ivs_arn_id(value, "stage")?;
        let ok = (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric());
        ok.then(|| StageArn(value.to_owned()))
    }

    /// The stage's id, the ARN's last part: the token's `topic`.
    pub fn id(&self) -> &str {
        self.0.rsplit_once('/').map_or("", |(_, id)| id)
    }

    /// What the pages and the relay call the stage's room: `ivs-<stage id>`.
    pub fn room(&self) -> String {
        format!("ivs-{}", self.id())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StageArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The name of the IVS stage of a stream: `onair-<stream>` (a stage's name is `A-Z a-z 0-9 - _`,
/// at most 128; names are not unique at IVS, so every stage of the stream carries it).
pub fn stage_name(stream: &StreamName) -> String {
    format!("onair-{stream}")
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

    #[test]
    fn meeting_ids_and_rooms() {
        let id = MeetingId::new_random();
        assert_eq!(id.as_str().len(), MEETING_ID_LEN);
        assert!(MeetingId::parse(id.as_str()).is_some());
        assert_ne!(id, MeetingId::new_random());
        for bad in [
            "",
            "abc",
            "ABCDEFGHIJKL",
            "abcdefghijk-",
            "abcdefghijklm",
            "abcdefghijk\u{e9}",
        ] {
            assert!(MeetingId::parse(bad).is_none(), "{bad}");
        }
        let room = MeetingRoom::of(&id);
        assert_eq!(room.as_str(), format!("meeting-{id}"));
        assert_eq!(MeetingRoom::parse(room.as_str()), Some(room.clone()));
        assert_eq!(room.meeting(), id);
        for bad in [
            "meeting-",
            "meeting-ABCDEFGHIJKL",
            "livestream-abcdefghijkl",
            "abcdefghijkl",
        ] {
            assert!(MeetingRoom::parse(bad).is_none(), "{bad}");
        }
        // A meeting room is never a stream room, so stream code never touches one.
        assert!(RoomName::parse(room.as_str()).is_none());
    }

    #[test]
    fn display_names_are_trimmed_bounded_and_visible() {
        assert_eq!(DisplayName::parse("  Ana  ").unwrap().as_str(), "Ana");
        assert_eq!(
            DisplayName::parse("\u{3000}李小龙\u{a0}").unwrap().as_str(),
            "李小龙"
        );
        assert_eq!(DisplayName::parse(""), Err(NameError::Empty));
        assert_eq!(DisplayName::parse(" \t\n "), Err(NameError::Empty));
        assert!(
            DisplayName::parse(&"é".repeat(40)).is_ok(),
            "40 scalar values, 80 bytes"
        );
        assert_eq!(DisplayName::parse(&"a".repeat(41)), Err(NameError::TooLong));
        for hidden in [
            "A\nB",
            "A\tB",
            "A\u{7}",
            "A\u{1b}[31m",
            "A\u{202e}B",
            "A\u{200b}",
            "\u{feff}A",
            "A\u{2028}B",
        ] {
            assert_eq!(
                DisplayName::parse(hidden),
                Err(NameError::ControlCharacter),
                "{hidden:?}"
            );
        }
        // Emoji count 4 towards Twilio's 128: 29 fit after the prefix, 30 do not.
        assert!(DisplayName::parse(&"🙂".repeat(29)).is_ok());
        assert_eq!(
            DisplayName::parse(&"🙂".repeat(30)),
            Err(NameError::TooWide)
        );
        // The widest names of any other script fit.
        for widest in ["!".repeat(40), "李".repeat(40), "Ж".repeat(40)] {
            let name = DisplayName::parse(&widest).unwrap();
            assert!(twilio_width(MeetingIdentity::new(&name).as_str()) <= MAX_NAME_LEN);
        }
    }

    #[test]
    fn meeting_identities_carry_the_name_and_tell_namesakes_apart() {
        let ana = DisplayName::parse(" Ana ").unwrap();
        let (first, second) = (MeetingIdentity::new(&ana), MeetingIdentity::new(&ana));
        assert_ne!(first, second);
        assert_eq!((first.name(), second.name()), ("Ana", "Ana"));
        assert_eq!(first.as_str().len(), 12);
        assert!(
            first.as_str().as_bytes()[..8]
                .iter()
                .all(u8::is_ascii_hexdigit)
        );
        assert_eq!(MeetingIdentity::parse(first.as_str()), Some(first.clone()));
        let odd = DisplayName::parse("José. O'Brien 100% 🙂").unwrap();
        let identity = MeetingIdentity::new(&odd);
        assert_eq!(identity.name(), "José. O'Brien 100% 🙂");
        assert_eq!(MeetingIdentity::parse(identity.as_str()), Some(identity));
        for bad in [
            "",
            "1a2b3c4d.",
            "1a2b3c4d Ana",
            "1A2B3C4D.Ana",
            "1a2b3c4.Ana",
            "1a2b3c4d. Ana",
            "1a2b3c4d.A\nB",
            "zzzzzzzz.Ana",
        ] {
            assert!(MeetingIdentity::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn stage_arns_parse_and_name_their_room() {
        let arn = StageArn::parse("arn:aws:ivs:us-east-1:123456789012:stage/AbCdEf123456").unwrap();
        assert_eq!(arn.id(), "AbCdEf123456");
        assert_eq!(arn.room(), "ivs-AbCdEf123456");
        for bad in [
            "",
            "arn:aws:ivs:us-east-1:123456789012:stage/",
            "arn:aws:ivs:us-east-1:123456789012:channel/AbCdEf123456",
            "arn:aws:ivs:us-east-1:12x:stage/AbCdEf123456",
            "arn:aws:ivs::123456789012:stage/AbCdEf123456",
            "arn:aws:ivs:us-east-1:123456789012:stage/Ab-Cd",
            "arn:aws:s3:us-east-1:123456789012:stage/AbCdEf123456",
        ] {
            assert!(StageArn::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(stage_name(&StreamName::main()), "onair-main");
    }
}
