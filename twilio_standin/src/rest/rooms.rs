//! Video v1 Rooms: create, fetch (by RM sid or in-progress unique name), complete, list.

use crate::clock::parse_iso;
use crate::error::TwilioError;
use crate::paging::{self, Item};
use crate::params::{Kind, PAGING, Spec, opt, req};
use crate::render;
use crate::state::{NewRoom, State};

use super::handler::{Answer, PathArgs, Reply, Req};

pub(crate) const ROOM_TYPES: &[&str] = &["group", "go", "peer-to-peer", "group-small"];
pub(crate) const ROOM_STATUSES: &[&str] = &["in-progress", "completed", "failed"];

/// `CreateRoomRequest` in the spec.
const CREATE: &[Spec] = &[
    opt("EnableTurn", Kind::Bool),
    opt("Type", Kind::Enum(ROOM_TYPES)),
    opt("UniqueName", Kind::Text),
    opt("StatusCallback", Kind::Url),
    opt("StatusCallbackMethod", Kind::Enum(&["GET", "POST"])),
    opt("MaxParticipants", Kind::Int { min: 1, max: 50 }),
    opt("RecordParticipantsOnConnect", Kind::Bool),
    opt("TranscribeParticipantsOnConnect", Kind::Bool),
    opt("VideoCodecs", Kind::Enum(&["VP8", "H264"])),
    opt("MediaRegion", Kind::Text),
    opt("RecordingRules", Kind::Json),
    opt("TranscriptionsConfiguration", Kind::Json),
    opt("AudioOnly", Kind::Bool),
    opt(
        "MaxParticipantDuration",
        Kind::Int {
            min: 1,
            max: 86_400,
        },
    ),
    opt("EmptyRoomTimeout", Kind::Int { min: 1, max: 60 }),
    opt("UnusedRoomTimeout", Kind::Int { min: 1, max: 60 }),
    opt("LargeRoom", Kind::Bool),
];

/// `ListRoom` query parameters besides paging.
const LIST: &[Spec] = &[
    opt("Status", Kind::Enum(ROOM_STATUSES)),
    opt("UniqueName", Kind::Text),
    opt("DateCreatedAfter", Kind::DateTime),
    opt("DateCreatedBefore", Kind::DateTime),
];

/// `UpdateRoomRequest`.
const UPDATE: &[Spec] = &[req("Status", Kind::Enum(ROOM_STATUSES))];

pub(crate) async fn create(req: Req) -> Reply {
    let p = &req.params;
    p.check(&[CREATE])?;
    let new = NewRoom {
        unique_name: p.text("UniqueName").map(str::to_owned),
        room_type: p.text("Type").map(str::to_owned),
        empty_room_timeout: p.u32("EmptyRoomTimeout"),
        unused_room_timeout: p.u32("UnusedRoomTimeout"),
        max_participants: p.u32("MaxParticipants"),
        max_participant_duration: p.u32("MaxParticipantDuration"),
        status_callback: p.text("StatusCallback").map(str::to_owned),
        status_callback_method: p.text("StatusCallbackMethod").map(str::to_owned),
        record_participants_on_connect: p.bool("RecordParticipantsOnConnect").unwrap_or(false),
        video_codecs: p
            .all("VideoCodecs")
            .into_iter()
            .map(str::to_owned)
            .collect(),
        media_region: p.text("MediaRegion").map(str::to_owned),
        audio_only: p.bool("AudioOnly").unwrap_or(false),
        large_room: p.bool("LargeRoom").unwrap_or(false),
    };
    if let Some(config) = p.get("TranscriptionsConfiguration")
        && !serde_json::from_str::<serde_json::Value>(config).is_ok_and(|v| v.is_object())
    {
        return Err(TwilioError::invalid(
            "Invalid TranscriptionsConfiguration: must be a JSON object",
        ));
    }
    req.shared.with_state(|state, now| {
        let idx = state.create_room(now, new)?;
        Ok(Answer::created(render::room(&req.ctx, &state.rooms[idx])))
    })
}

/// The room a `{Sid}` / `{RoomSid}` path segment names, or Twilio's 404.
pub(crate) fn resolve(state: &State, key: &str) -> Result<usize, TwilioError> {
    state
        .find_room(key)
        .ok_or_else(|| TwilioError::not_found(&format!("/Rooms/{key}")))
}

pub(crate) async fn fetch(req: Req, PathArgs(key): PathArgs<String>) -> Reply {
    req.params.check(&[])?;
    req.shared.with_state(|state, _| {
        let idx = resolve(state, &key)?;
        Ok(Answer::ok(render::room(&req.ctx, &state.rooms[idx])))
    })
}

pub(crate) async fn update(req: Req, PathArgs(key): PathArgs<String>) -> Reply {
    req.params.check(&[UPDATE])?;
    if req.params.get("Status") != Some("completed") {
        return Err(TwilioError::invalid(
            "Invalid Status: a room can only be updated to completed",
        ));
    }
    req.shared.with_state(|state, now| {
        let idx = resolve(state, &key)?;
        state.complete_room_via_api(idx, now)?;
        Ok(Answer::accepted(render::room(&req.ctx, &state.rooms[idx])))
    })
}

pub(crate) async fn list(req: Req) -> Reply {
    let p = &req.params;
    p.check(&[LIST, &PAGING])?;
    let status = p.get("Status");
    let unique_name = p.get("UniqueName");
    let after = p.get("DateCreatedAfter").and_then(parse_iso);
    let before = p.get("DateCreatedBefore").and_then(parse_iso);
    req.shared.with_state(|state, _| {
        let items: Vec<Item> = state
            .rooms
            .iter()
            .rev()
            .filter(|r| status.is_none_or(|s| s == r.status.as_str()))
            .filter(|r| unique_name.is_none_or(|n| n == r.unique_name))
            .filter(|r| after.is_none_or(|t| r.created >= t))
            .filter(|r| before.is_none_or(|t| r.created < t))
            .map(|r| Item {
                seq: r.seq,
                sid: r.sid.clone(),
                json: render::room(&req.ctx, r),
            })
            .collect();
        let seq_of = |sid: &str| state.rooms.iter().find(|r| r.sid == sid).map(|r| r.seq);
        let body = paging::page(&req.ctx.base, &req.path, "rooms", p, items, true, seq_of)?;
        Ok(Answer::ok(body))
    })
}
