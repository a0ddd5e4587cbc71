//! Read-only views of the stand-in's state for the Rust API and the control API (`RoomInfo`,
//! `ParticipantInfo`, `PlayerStreamerInfo`, `MediaProcessorInfo`, and the whole state at once
//! for `GET /__standin/state`), each read through [`Shared::with_state`].

use serde::Serialize;
use serde_json::{Value, json};

use crate::clock::iso;
use crate::shared::Shared;
use crate::state::{MediaProcessor, Participant, PlayerStreamer, Room};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoomInfo {
    pub sid: String,
    pub unique_name: String,
    /// `in-progress` or `completed`.
    pub status: String,
    pub room_type: String,
    pub date_created: String,
    pub end_time: Option<String>,
    /// Minutes.
    pub empty_room_timeout: u32,
    /// Minutes.
    pub unused_room_timeout: u32,
    pub max_participants: u32,
    /// Seconds, as the creator asked (`None`: not given, Twilio's default of 14400 applies).
    pub max_participant_duration: Option<u32>,
    pub status_callback: Option<String>,
    pub status_callback_method: String,
    /// Participants connected right now.
    pub connected_participants: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParticipantInfo {
    pub sid: String,
    pub identity: String,
    /// `connected` or `disconnected`.
    pub status: String,
    pub room_sid: String,
    pub start_time: String,
    pub end_time: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlayerStreamerInfo {
    pub sid: String,
    /// `created`, `started` or `ended`.
    pub status: String,
    pub ended_reason: Option<String>,
    /// Seconds.
    pub max_duration: u32,
    pub video: bool,
    pub date_created: String,
    pub status_callback: Option<String>,
    /// How many playback grants were issued for it.
    pub playback_grants: u32,
    /// TTL in seconds of the latest grant.
    pub grant_ttl: Option<u32>,
    /// `AccessControlAllowOrigin` of the latest grant.
    pub grant_allow_origin: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MediaProcessorInfo {
    pub sid: String,
    /// `started` or `ended`.
    pub status: String,
    pub ended_reason: Option<String>,
    pub extension: String,
    /// The `ExtensionContext` exactly as sent.
    pub extension_context: String,
    /// The `ExtensionEnvironment` exactly as sent.
    pub extension_environment: Option<String>,
    /// `room.name` from the context (a unique name or an RM sid).
    pub room_name: Option<String>,
    /// The room that name resolved to.
    pub room_sid: Option<String>,
    pub outputs: Vec<String>,
    /// Seconds.
    pub max_duration: u32,
    pub date_created: String,
    pub status_callback: Option<String>,
}

fn room_info(r: &Room, connected_participants: usize) -> RoomInfo {
    RoomInfo {
        sid: r.sid.clone(),
        unique_name: r.unique_name.clone(),
        status: r.status.as_str().to_owned(),
        room_type: r.room_type.clone(),
        date_created: iso(r.created),
        end_time: r.end_time.map(iso),
        empty_room_timeout: r.empty_room_timeout,
        unused_room_timeout: r.unused_room_timeout,
        max_participants: r.max_participants,
        max_participant_duration: r.requested_max_participant_duration,
        status_callback: r.status_callback.clone(),
        status_callback_method: r.status_callback_method.clone(),
        connected_participants,
    }
}

fn participant_info(p: &Participant) -> ParticipantInfo {
    ParticipantInfo {
        sid: p.sid.clone(),
        identity: p.identity.clone(),
        status: p.status.as_str().to_owned(),
        room_sid: p.room_sid.clone(),
        start_time: iso(p.created),
        end_time: p.end_time.map(iso),
    }
}

fn streamer_info(s: &PlayerStreamer) -> PlayerStreamerInfo {
    PlayerStreamerInfo {
        sid: s.sid.clone(),
        status: s.status.as_str().to_owned(),
        ended_reason: s.ended_reason.clone(),
        max_duration: s.max_duration,
        video: s.video,
        date_created: iso(s.created),
        status_callback: s.status_callback.clone(),
        playback_grants: s.grants_issued,
        grant_ttl: s.grant.as_ref().map(|g| g.ttl),
        grant_allow_origin: s.grant.as_ref().and_then(|g| g.allow_origin.clone()),
    }
}

fn processor_info(m: &MediaProcessor) -> MediaProcessorInfo {
    MediaProcessorInfo {
        sid: m.sid.clone(),
        status: m.status.as_str().to_owned(),
        ended_reason: m.ended_reason.clone(),
        extension: m.extension.clone(),
        extension_context: m.extension_context.clone(),
        extension_environment: m.extension_environment.clone(),
        room_name: m.room_name.clone(),
        room_sid: m.room_sid.clone(),
        outputs: m.outputs.clone(),
        max_duration: m.max_duration,
        date_created: iso(m.created),
        status_callback: m.status_callback.clone(),
    }
}

/// All rooms, oldest first.
pub(crate) fn rooms(shared: &Shared) -> Vec<RoomInfo> {
    shared.with_state(|state, _| {
        state
            .rooms
            .iter()
            .map(|r| room_info(r, state.connected_count(&r.sid)))
            .collect()
    })
}

/// Participants of `room` (RM sid or unique name; the newest room of that name), oldest first.
pub(crate) fn participants(shared: &Shared, room: &str) -> Vec<ParticipantInfo> {
    shared.with_state(|state, _| {
        let Some(r) = state.find_room_any(room) else {
            return Vec::new();
        };
        let sid = &state.rooms[r].sid;
        state
            .participants
            .iter()
            .filter(|p| &p.room_sid == sid)
            .map(participant_info)
            .collect()
    })
}

pub(crate) fn player_streamers(shared: &Shared) -> Vec<PlayerStreamerInfo> {
    shared.with_state(|state, _| state.streamers.iter().map(streamer_info).collect())
}

pub(crate) fn media_processors(shared: &Shared) -> Vec<MediaProcessorInfo> {
    shared.with_state(|state, _| state.processors.iter().map(processor_info).collect())
}

/// The rules last set over REST for `identity` in `room`, as the JSON array Twilio returns;
/// `None` if that participant does not exist or its rules were never set.
pub(crate) fn subscribe_rules(shared: &Shared, room: &str, identity: &str) -> Option<Value> {
    shared.with_state(|state, _| {
        let r = state.find_room_any(room)?;
        let p = state.find_participant(&state.rooms[r].sid, identity)?;
        let set = state.participants[p].rules.as_ref()?;
        Some(Value::Array(set.rules.clone()))
    })
}

/// Everything at once, consistently, for `GET /__standin/state`.
pub(crate) fn snapshot(shared: &Shared) -> Value {
    shared.with_state(|state, now| {
        let rooms: Vec<Value> = state
            .rooms
            .iter()
            .map(|r| {
                let participants: Vec<Value> = state
                    .participants
                    .iter()
                    .filter(|p| p.room_sid == r.sid)
                    .map(|p| {
                        let mut v =
                            serde_json::to_value(participant_info(p)).unwrap_or(Value::Null);
                        if let Some(obj) = v.as_object_mut() {
                            obj.insert(
                                "subscribe_rules".to_owned(),
                                p.rules
                                    .as_ref()
                                    .map_or(Value::Null, |set| Value::Array(set.rules.clone())),
                            );
                        }
                        v
                    })
                    .collect();
                let mut v = serde_json::to_value(room_info(r, state.connected_count(&r.sid)))
                    .unwrap_or(Value::Null);
                if let Some(obj) = v.as_object_mut() {
                    obj.insert("participants".to_owned(), Value::Array(participants));
                }
                v
            })
            .collect();
        let streamers: Vec<PlayerStreamerInfo> =
            state.streamers.iter().map(streamer_info).collect();
        let processors: Vec<MediaProcessorInfo> =
            state.processors.iter().map(processor_info).collect();
        json!({
            "now": iso(now),
            "rooms": rooms,
            "player_streamers": streamers,
            "media_processors": processors,
        })
    })
}
