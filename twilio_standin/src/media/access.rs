//! Who may publish or watch which room: the checks Twilio makes when a client connects with an
//! access token, made against the stand-in's REST state.
//!
//! - Publishing (WHIP) and room-mode watching (WHEP) need `grants.video.room` naming the room
//!   (unique name or RM sid).
//! - Live-mode watching (WHEP) needs `grants.player.playerStreamerSid` naming a `started`
//!   PlayerStreamer that a `started` MediaProcessor feeds from that room.

use crate::error::TwilioError;
use crate::state::{ProcessorStatus, RoomStatus, State, StreamerStatus};

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
}

/// The room a request names, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RoomRef {
    pub(crate) sid: String,
    pub(crate) unique_name: String,
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
    })
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
        .any(|p| p.sid == sid && p.status == crate::state::ParticipantStatus::Connected)
}
