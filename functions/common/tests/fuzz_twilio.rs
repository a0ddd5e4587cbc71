//! Fuzzing how Twilio's answers are read (`twilio::decode`, `twilio::Page::decode` and the
//! helpers on what they return): rooms, participants, pages, MediaProcessors, PlayerStreamers,
//! PlaybackGrants, subscribe rules and error bodies, from arbitrary bytes, JSON-ish values and
//! mutations of real answers, with arbitrary statuses. Nothing panics; a non-2xx status is
//! always Twilio's error with that status; every error is short, whatever Twilio sent; the
//! error a caller sees never repeats Twilio's text.
//!
//! Cases: `ONAIR_FUZZ_CASES` for the target (default 100,000).

use onair_common::ApiError;
use onair_common::ids::ROOM_PREFIX;
use onair_common::twilio::{
    self, MAX_MESSAGE_CHARS, MediaProcessor, Page, Participant, PlaybackGrant, PlayerStreamer,
    Room, TwilioError,
};
use onair_test_support::fuzz::*;
use proptest::prelude::*;

/// What each answer is read as, as the client reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Room,
    Rooms,
    Participants,
    MediaProcessor,
    MediaProcessors,
    PlayerStreamer,
    PlayerStreamers,
    PlaybackGrant,
    SubscribeRules,
}

const KINDS: [Kind; 9] = [
    Kind::Room,
    Kind::Rooms,
    Kind::Participants,
    Kind::MediaProcessor,
    Kind::MediaProcessors,
    Kind::PlayerStreamer,
    Kind::PlayerStreamers,
    Kind::PlaybackGrant,
    Kind::SubscribeRules,
];

const KEYS: &[&str] = &[
    "sid",
    "status",
    "unique_name",
    "date_created",
    "identity",
    "extension_context",
    "room",
    "name",
    "outputs",
    "grant",
    "meta",
    "next_page_url",
    "rooms",
    "participants",
    "media_processors",
    "player_streamers",
    "rules",
    "code",
    "message",
    "detail",
    "title",
    "more_info",
];

/// The longest `TwilioError` text: the variant's words, a status and code, and Twilio's text cut
/// to [`MAX_MESSAGE_CHARS`].
const MAX_ERROR_CHARS: usize = MAX_MESSAGE_CHARS + 80;

fn status() -> impl Strategy<Value = u16> {
    prop_oneof![
        4 => prop::sample::select(vec![200u16, 201, 202, 204, 400, 401, 403, 404, 409, 429, 500, 502, 503]),
        1 => any::<u16>(),
    ]
}

/// The answer's Twilio error, if any, checked: bounded, and Twilio's status kept.
fn check_error(status: u16, err: &TwilioError) -> Result<(), TestCaseError> {
    let text = err.to_string();
    prop_assert!(
        text.chars().count() <= MAX_ERROR_CHARS,
        "a {}-character error: {text}",
        text.chars().count()
    );
    let success = (200..300).contains(&status);
    match err {
        TwilioError::Api {
            status: got,
            message,
            ..
        } => {
            prop_assert!(!success, "a {status} read as an error");
            prop_assert_eq!(*got, status);
            prop_assert!(!message.is_empty());
        }
        TwilioError::Decode(_) => prop_assert!(success),
        other => prop_assert!(false, "unexpected {other:?}"),
    }
    // What a caller is told: a 5xx with a fixed message, none of Twilio's text.
    let api: ApiError = err.clone().into();
    prop_assert!(api.status().is_server_error());
    prop_assert!(api.to_string().len() <= 80, "{api}");
    Ok(())
}

fn read<T: serde::de::DeserializeOwned>(
    status: u16,
    body: &[u8],
) -> Result<Option<T>, TestCaseError> {
    match twilio::decode::<T>(status, body) {
        Ok(value) => {
            prop_assert!((200..300).contains(&status));
            Ok(Some(value))
        }
        Err(err) => check_error(status, &err).map(|_| None),
    }
}

fn read_page<T: serde::de::DeserializeOwned>(
    status: u16,
    body: &[u8],
    key: &str,
) -> Result<Option<Vec<T>>, TestCaseError> {
    match Page::<T>::decode(status, body, key) {
        Ok(page) => {
            prop_assert!((200..300).contains(&status));
            Ok(Some(page.items))
        }
        Err(err) => check_error(status, &err).map(|_| None),
    }
}

fn check_room(room: &Room) -> Result<(), TestCaseError> {
    if let Some(name) = room.onair_name() {
        prop_assert!(name.as_str().starts_with(ROOM_PREFIX));
        prop_assert_eq!(Some(name.as_str()), room.unique_name.as_deref());
    }
    for now in [0, 1_700_000_000, u64::MAX] {
        let _ = room.age_secs(now);
    }
    Ok(())
}

fn check_processor(processor: &MediaProcessor) -> Result<(), TestCaseError> {
    let _ = processor.room_name();
    let _ = processor.outputs();
    Ok(())
}

fn check_streamer(streamer: &PlayerStreamer) -> Result<(), TestCaseError> {
    for now in [0, 1_700_000_000, u64::MAX] {
        let _ = streamer.age_secs(now);
    }
    Ok(())
}

/// Reads `body` with `status` as `kind` and checks what comes out.
fn check_answer(kind: Kind, status: u16, body: &[u8]) -> Result<(), TestCaseError> {
    match kind {
        Kind::Room => {
            if let Some(room) = read::<Room>(status, body)? {
                check_room(&room)?;
            }
        }
        Kind::Rooms => {
            for room in read_page::<Room>(status, body, "rooms")?.unwrap_or_default() {
                check_room(&room)?;
            }
        }
        Kind::Participants => {
            read_page::<Participant>(status, body, "participants")?;
        }
        Kind::MediaProcessor => {
            if let Some(processor) = read::<MediaProcessor>(status, body)? {
                check_processor(&processor)?;
            }
        }
        Kind::MediaProcessors => {
            let processors = read_page::<MediaProcessor>(status, body, "media_processors")?;
            for processor in processors.unwrap_or_default() {
                check_processor(&processor)?;
            }
        }
        Kind::PlayerStreamer => {
            if let Some(streamer) = read::<PlayerStreamer>(status, body)? {
                check_streamer(&streamer)?;
            }
        }
        Kind::PlayerStreamers => {
            let streamers = read_page::<PlayerStreamer>(status, body, "player_streamers")?;
            for streamer in streamers.unwrap_or_default() {
                check_streamer(&streamer)?;
            }
        }
        Kind::PlaybackGrant => {
            read::<PlaybackGrant>(status, body)?;
        }
        Kind::SubscribeRules => {
            read::<serde_json::Value>(status, body)?;
        }
    }
    Ok(())
}

/// A corpus file: `<status> <kind>` on the first line, then the body as Twilio sent it.
fn corpus_answers() -> Vec<(String, u16, Vec<u8>)> {
    corpus("twilio")
        .into_iter()
        .map(|(name, bytes)| {
            let split = bytes
                .iter()
                .position(|&b| b == b'\n')
                .unwrap_or(bytes.len());
            let first = String::from_utf8_lossy(&bytes[..split]).into_owned();
            let status = first
                .split_whitespace()
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("{name}: the first line is `<status> <kind>`"));
            let body = bytes.get(split + 1..).unwrap_or_default().to_vec();
            (name, status, body)
        })
        .collect()
}

#[test]
fn the_twilio_corpus_is_read_as_every_kind() {
    for (name, status, body) in corpus_answers() {
        for kind in KINDS {
            if let Err(err) = check_answer(kind, status, &body) {
                panic!("{name} as {kind:?}: {err}");
            }
        }
    }
}

#[test]
fn real_answers_are_read_as_their_kind() {
    let page = br#"{"rooms": [{"sid": "RM0123456789abcdef0123456789abcdef", "unique_name": "livestream-abc", "status": "in-progress", "date_created": "2026-12-01T20:00:00Z"}], "meta": {"next_page_url": null}}"#;
    let page = Page::<Room>::decode(200, page, "rooms").unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(
        page.items[0].onair_name().unwrap().as_str(),
        "livestream-abc"
    );
    let err =
        twilio::decode::<Room>(404, br#"{"code": 20404, "message": "Not found"}"#).unwrap_err();
    assert!(err.is_not_found());
}

#[test]
fn arbitrary_answers_never_panic_and_errors_stay_short() {
    let templates: Vec<Vec<u8>> = corpus_answers().into_iter().map(|(_, _, b)| b).collect();
    let body = prop_oneof![
        2 => bytes(512),
        3 => json_value(KEYS).prop_map(|v| v.to_string().into_bytes()),
        1 => json_object(KEYS).prop_map(|v| v.to_string().into_bytes()),
        4 => (prop::sample::select(templates), mutations())
            .prop_map(|(template, edits)| apply(&template, &edits)),
        1 => huge(4096).prop_map(|h| format!("{{\"message\": \"{h}\", \"code\": 1}}").into_bytes()),
        1 => huge(4096).prop_map(|h| format!("\"{h}\"").into_bytes()),
    ];
    run(
        "fuzz_twilio",
        target_share(100),
        (prop::sample::select(KINDS.to_vec()), status(), body),
        |(kind, status, body)| check_answer(kind, status, &body),
    );
}
