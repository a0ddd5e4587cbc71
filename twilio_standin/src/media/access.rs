//! Who may publish or watch which room: the checks Twilio makes when a client connects with an
//! access token, made against the stand-in's REST state.
//!
//! - Publishing (WHIP) and room-mode watching (WHEP) need `grants.video.room` naming the room
//!   (unique name or RM sid).
//! - Live-mode watching (WHEP) needs `grants.player.playerStreamerSid` naming a `started`
//!   PlayerStreamer that a `started` MediaProcessor feeds from that room.
//!
//! - An IVS stage's room (`ivs-<stage id>`) is not a REST room: publishing (the IVS WHIP
//!   endpoint) and watching (WHEP) need a participant token for that stage, checked by the
//!   `ivs` module ([`stage_room`]).
//!
//! Also what kind of room a name is ([`RoomKind`]): a meeting room (`meeting-...`, several
//! publishers) or a stream room (everything else, one host).

use crate::error::TwilioError;
use crate::state::{ParticipantStatus, ProcessorStatus, RoomStatus, State, StreamerStatus};

use super::token::{self, Claims};

/// Twilio's "Room not found" code.
pub(crate) const ROOM_NOT_FOUND: u32 = 53106;

/// How a viewer reaches a room's media.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Access {
    /// As a participant of the room (its subscribe rules decide what it receives).
    Room,
    /// Through a Live PlayerStreamer fed from the room (receives the room's publishers).
    Live { streamer_sid: String },
    /// An IVS stage's room (`ivs-<stage id>`) with a participant token: a publisher is the
    /// stage participant its session's `participant_sid` names (the token's jti, no Twilio
    /// sid); a viewer receives the stage's publishers and is not a participant.
    Stage { stage_id: String },
}

/// Which rules a room's media follows (docs/RELAY.md, "Meeting rooms").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RoomKind {
    /// One host publishes screen, microphone and webcam in one session; viewers receive it by
    /// their subscribe rules, or through a PlayerStreamer.
    Stream,
    /// Every participant publishes a camera session and maybe a screen session, and watches
    /// each other participant through its own WHEP session.
    Meeting,
}

impl RoomKind {
    /// The product names meeting rooms `meeting-<id>`; every other room is a stream room.
    pub(crate) fn of(unique_name: &str) -> RoomKind {
        if unique_name.starts_with("meeting-") {
            RoomKind::Meeting
        } else {
            RoomKind::Stream
        }
    }
}

/// The room a request names, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RoomRef {
    pub(crate) sid: String,
    pub(crate) unique_name: String,
    pub(crate) kind: RoomKind,
}

/// The in-progress room `key` names (unique name or RM sid), or Twilio's 404.
pub(crate) fn room(state: &State, key: &str) -> Result<RoomRef, TwilioError> {
    let not_found = || {
        TwilioError::new(
            404,
            ROOM_NOT_FOUND,
            format!("Room not found: {key} is unknown or not in progress"),
        )
    };
    let idx = state.find_room(key).ok_or_else(not_found)?;
    let r = &state.rooms[idx];
    if r.status != RoomStatus::InProgress {
        return Err(not_found());
    }
    Ok(RoomRef {
        sid: r.sid.clone(),
        unique_name: r.unique_name.clone(),
        kind: RoomKind::of(&r.unique_name),
    })
}

/// The relay room of IVS stages: `ivs-<stage id>`.
const STAGE_ROOM_PREFIX: &str = "ivs-";

/// The stage id of a stage's relay room name (`ivs-<stage id>`), if `room_key` is one.
pub(crate) fn stage_id(room_key: &str) -> Option<&str> {
    room_key.strip_prefix(STAGE_ROOM_PREFIX)
}

/// The relay room of stage `stage_id`: a stream room (one host) that is no REST room.
pub(crate) fn stage_room(stage_id: &str) -> RoomRef {
    let name = format!("{STAGE_ROOM_PREFIX}{stage_id}");
    RoomRef {
        sid: name.clone(),
        unique_name: name,
        kind: RoomKind::Stream,
    }
}

fn grants_room(claims: &Claims, room: &RoomRef) -> bool {
    claims
        .video_room
        .as_deref()
        .is_some_and(|r| r == room.unique_name || r == room.sid)
}

fn wrong_room(room: &RoomRef) -> TwilioError {
    TwilioError::new(
        401,
        token::INVALID_GRANTS,
        format!(
            "Invalid Access Token grants: the token does not grant access to room {}",
            room.unique_name
        ),
    )
}

/// May `claims` publish into `room`?
pub(crate) fn publish(claims: &Claims, room: &RoomRef) -> Result<(), TwilioError> {
    if grants_room(claims, room) {
        Ok(())
    } else {
        Err(wrong_room(room))
    }
}

/// May `claims` watch `room`, and how?
pub(crate) fn watch(state: &State, claims: &Claims, room: &RoomRef) -> Result<Access, TwilioError> {
    if grants_room(claims, room) {
        return Ok(Access::Room);
    }
    match &claims.player_streamer {
        Some(sid) if live_feed(state, &room.sid, sid) => Ok(Access::Live {
            streamer_sid: sid.clone(),
        }),
        Some(sid) => Err(TwilioError::new(
            401,
            token::INVALID_GRANTS,
            format!(
                "Invalid Access Token grants: PlayerStreamer {sid} is not started or not fed from room {}",
                room.unique_name
            ),
        )),
        None => Err(wrong_room(room)),
    }
}

/// Whether the started PlayerStreamer `streamer_sid` is fed by a started MediaProcessor from
/// the in-progress room `room_sid`.
pub(crate) fn live_feed(state: &State, room_sid: &str, streamer_sid: &str) -> bool {
    let room_live = state
        .rooms
        .iter()
        .any(|r| r.sid == room_sid && r.status == RoomStatus::InProgress);
    let streamer_started = state
        .streamers
        .iter()
        .any(|s| s.sid == streamer_sid && s.status == StreamerStatus::Started);
    let fed = state.processors.iter().any(|m| {
        m.status == ProcessorStatus::Started
            && m.room_sid.as_deref() == Some(room_sid)
            && m.outputs.iter().any(|o| o == streamer_sid)
    });
    room_live && streamer_started && fed
}

/// Whether the participant `sid` is still connected.
pub(crate) fn participant_connected(state: &State, sid: &str) -> bool {
    state
        .participants
        .iter()
        .any(|p| p.sid == sid && p.status == ParticipantStatus::Connected)
}

/// The PA sid of the participant of `room_sid` that `key` names (identity or PA sid), if it is
/// connected.
pub(crate) fn connected_participant(state: &State, room_sid: &str, key: &str) -> Option<String> {
    state
        .participants
        .iter()
        .find(|p| {
            p.room_sid == room_sid
                && p.status == ParticipantStatus::Connected
                && (p.identity == key || p.sid == key)
        })
        .map(|p| p.sid.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meeting_rooms_are_named_meeting_dash() {
        assert_eq!(RoomKind::of("meeting-0123456789ab"), RoomKind::Meeting);
        assert_eq!(RoomKind::of("livestream-main-abc"), RoomKind::Stream);
        assert_eq!(RoomKind::of("meetings"), RoomKind::Stream);
    }
}
