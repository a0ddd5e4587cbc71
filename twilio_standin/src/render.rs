//! Resources as Twilio's JSON: snake_case fields exactly as the OpenAPI response schemas list
//! them, lowercase enums, ISO-8601 UTC dates, absolute `url`/`links` on the stand-in's base URL.

use serde_json::{Value, json};

use crate::clock::{iso, whole_secs};
use crate::state::{
    MediaProcessor, Participant, ParticipantStatus, PlayerStreamer, Room, RoomStatus,
};

/// What every rendering needs: the base URL callers reached us at and the account sid.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub(crate) base: String,
    pub(crate) account_sid: String,
}

pub(crate) fn room(ctx: &Ctx, r: &Room) -> Value {
    let url = format!("{}/v1/Rooms/{}", ctx.base, r.sid);
    let duration = match (r.status, r.end_time) {
        (RoomStatus::Completed, Some(end)) => Some(whole_secs(r.created, end)),
        _ => None,
    };
    json!({
        "sid": r.sid,
        "status": r.status.as_str(),
        "date_created": iso(r.created),
        "date_updated": iso(r.updated),
        "account_sid": ctx.account_sid,
        "enable_turn": true,
        "unique_name": r.unique_name,
        "status_callback": r.status_callback,
        "status_callback_method": r.status_callback_method,
        "end_time": r.end_time.map(iso),
        "duration": duration,
        "type": r.room_type,
        "max_participants": r.max_participants,
        "max_participant_duration": r.max_participant_duration,
        "max_concurrent_published_tracks": if r.room_type == "group" { 170 } else { 0 },
        "record_participants_on_connect": r.record_participants_on_connect,
        "video_codecs": r.video_codecs,
        "media_region": r.media_region,
        "audio_only": r.audio_only,
        "empty_room_timeout": r.empty_room_timeout,
        "unused_room_timeout": r.unused_room_timeout,
        "large_room": r.large_room,
        "links": {
            "participants": format!("{url}/Participants"),
            "recordings": format!("{url}/Recordings"),
            "transcriptions": format!("{url}/Transcriptions"),
            "recording_rules": format!("{url}/RecordingRules"),
        },
        "url": url,
    })
}

pub(crate) fn participant(ctx: &Ctx, p: &Participant) -> Value {
    let url = format!(
        "{}/v1/Rooms/{}/Participants/{}",
        ctx.base, p.room_sid, p.sid
    );
    let duration = match (p.status, p.end_time) {
        (ParticipantStatus::Disconnected, Some(end)) => Some(whole_secs(p.created, end)),
        _ => None,
    };
    json!({
        "sid": p.sid,
        "room_sid": p.room_sid,
        "account_sid": ctx.account_sid,
        "status": p.status.as_str(),
        "identity": p.identity,
        "date_created": iso(p.created),
        "date_updated": iso(p.updated),
        "start_time": iso(p.created),
        "end_time": p.end_time.map(iso),
        "duration": duration,
        "links": {
            "published_tracks": format!("{url}/PublishedTracks"),
            "subscribed_tracks": format!("{url}/SubscribedTracks"),
            "subscribe_rules": format!("{url}/SubscribeRules"),
            "anonymize": format!("{url}/Anonymize"),
        },
        "url": url,
    })
}

/// The rule set Twilio reports for a participant whose rules were never set over REST.
fn default_rules() -> Vec<Value> {
    vec![json!({
        "type": "include",
        "all": true,
        "publisher": null,
        "track": null,
        "kind": null,
        "priority": null,
    })]
}

/// `GET`/`POST .../SubscribeRules`: no `meta`, no `url`.
pub(crate) fn subscribe_rules(p: &Participant) -> Value {
    let (rules, created, updated) = match &p.rules {
        Some(set) => (
            set.rules.clone(),
            Some(iso(set.created)),
            Some(iso(set.updated)),
        ),
        None => (default_rules(), None, None),
    };
    json!({
        "participant_sid": p.sid,
        "room_sid": p.room_sid,
        "rules": rules,
        "date_created": created,
        "date_updated": updated,
    })
}

pub(crate) fn player_streamer(ctx: &Ctx, s: &PlayerStreamer) -> Value {
    let url = format!("{}/v1/PlayerStreamers/{}", ctx.base, s.sid);
    json!({
        "account_sid": ctx.account_sid,
        "date_created": iso(s.created),
        "date_updated": iso(s.updated),
        "video": s.video,
        "links": {
            "timed_metadata": format!("{url}/TimedMetadata"),
            "playback_grant": format!("{url}/PlaybackGrant"),
        },
        "sid": s.sid,
        "status": s.status.as_str(),
        "url": url,
        "status_callback": s.status_callback,
        "status_callback_method": s.status_callback_method,
        "ended_reason": s.ended_reason,
        "max_duration": s.max_duration,
    })
}

/// The streamer's current playback grant, if one was ever issued.
pub(crate) fn playback_grant(ctx: &Ctx, s: &PlayerStreamer) -> Option<Value> {
    let grant = s.grant.as_ref()?;
    Some(json!({
        "sid": s.sid,
        "url": format!("{}/v1/PlayerStreamers/{}/PlaybackGrant", ctx.base, s.sid),
        "account_sid": ctx.account_sid,
        "date_created": iso(grant.created),
        "grant": {
            "playbackUrl": format!(
                "{}/__standin/live/{}?grant={}",
                ctx.base, s.sid, grant.token
            ),
            "playerStreamerSid": s.sid,
            "requestCredentials": null,
        },
    }))
}

pub(crate) fn media_processor(ctx: &Ctx, m: &MediaProcessor) -> Value {
    json!({
        "account_sid": ctx.account_sid,
        "sid": m.sid,
        "date_created": iso(m.created),
        "date_updated": iso(m.updated),
        "extension": m.extension,
        "extension_context": m.extension_context,
        "status": m.status.as_str(),
        "url": format!("{}/v1/MediaProcessors/{}", ctx.base, m.sid),
        "ended_reason": m.ended_reason,
        "status_callback": m.status_callback,
        "status_callback_method": m.status_callback_method,
        "max_duration": m.max_duration,
    })
}
