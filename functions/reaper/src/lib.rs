//! The reaper: scheduled clean-up (EventBridge, every few minutes), so nothing billable outlives
//! its purpose even when a host never called `stream_stop`.
//!
//! 1. Completes OnAir rooms past the longest stream; rooms whose host connected and left, once
//!    the room is older than a grace period; and studio rooms whose host never connected, once
//!    older than `STUDIO_MAX_MINUTES` (each with its Live resources, through
//!    `stream::stop_room`). Twilio lists who left a room (`disconnected` participants), which
//!    tells a host who left from one who never came. Every room is judged by itself, so each
//!    stream's rooms are handled apart and a live stream is never touched by another's end.
//!    Meeting rooms past the longest meeting (`MEETING_MAX_MINUTES`) are completed too,
//!    whoever is in them.
//! 2. In `live` mode, ends MediaProcessors whose OnAir room is no longer in progress, with the
//!    PlayerStreamers they feed, and PlayerStreamers that no running MediaProcessor feeds and
//!    that are older than the grace period: those were left by a start that failed half-way, or
//!    by a room that ended by itself (Twilio then ends the processor, but the streamer bills on).
//! 3. In `ivs` mode, ends OnAir's stages (`onair-<stream>`, tagged `onair-stream`) older than
//!    `STREAM_MAX_MINUTES`; those with no active session older than `STUDIO_MAX_MINUTES` (the
//!    host never came, or left and nobody stayed: an empty stage bills nothing meanwhile); and
//!    those whose session goes on without the host publishing, once older than the grace
//!    period (viewers left behind bill per participant-hour). The host's participants are
//!    disconnected, then the stage deleted (`stage::end_stage`). Stages not ours are left alone.

use std::collections::HashSet;

use onair_common::config::AudienceMode;
use onair_common::ids::{MeetingRoom, RoomName, StageArn};
use onair_common::twilio::{ParticipantStatus, Room, TwilioError};
use onair_common::{App, meeting, stage, stream};
use serde::Serialize;

/// How long a room may be without its host (connecting, reconnecting) before it is completed,
/// and how old an unfed PlayerStreamer must be before it counts as abandoned.
pub const GRACE_SECS: u64 = 120;

/// Why the reaper completes a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    PastLongestStream,
    HostLeft,
    StudioUnused,
}

impl Reason {
    fn describe(self) -> &'static str {
        match self {
            Reason::PastLongestStream => "past the longest stream",
            Reason::HostLeft => "host gone",
            Reason::StudioUnused => "the host never came to the studio",
        }
    }
}

/// What one run ended; logged and returned to the scheduler.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Report {
    pub rooms_completed: Vec<RoomName>,
    pub meeting_rooms_completed: Vec<MeetingRoom>,
    pub media_processors_ended: Vec<String>,
    pub player_streamers_ended: Vec<String>,
    /// `ivs` mode: the stages deleted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stages_ended: Vec<StageArn>,
    /// Steps that failed; the next run tries again.
    pub errors: Vec<String>,
}

/// One run, judging ages against `now` (unix seconds).
pub async fn reap(app: &App, now: u64) -> Report {
    let mut report = Report::default();
    // Stages first: meetings' rooms failing to list must not leave stages billing.
    if app.settings.audience_mode == AudienceMode::Ivs {
        reap_stages(app, now, &mut report).await;
    }
    match reap_rooms(app, now, &mut report).await {
        Ok(live_rooms) => {
            if app.settings.audience_mode == AudienceMode::Live
                && let Err(err) = reap_live_resources(app, now, &live_rooms, &mut report).await
            {
                report.errors.push(format!("listing Live resources: {err}"));
            }
        }
        Err(err) => report.errors.push(format!("listing rooms: {err}")),
    }
    tracing::info!(
        rooms_completed = ?report.rooms_completed,
        meeting_rooms_completed = ?report.meeting_rooms_completed,
        media_processors_ended = ?report.media_processors_ended,
        player_streamers_ended = ?report.player_streamers_ended,
        stages_ended = ?report.stages_ended,
        errors = ?report.errors,
        "reaper run finished"
    );
    report
}

/// `ivs` mode: ends OnAir's stages past their bounds (see the module's comment).
async fn reap_stages(app: &App, now: u64, report: &mut Report) {
    let ivs = match app.ivs() {
        Ok(ivs) => ivs,
        Err(err) => return report.errors.push(format!("ivs: {err}")),
    };
    let stages = match ivs.list_stages().await {
        Ok(stages) => stages,
        Err(err) => return report.errors.push(format!("listing stages: {err}")),
    };
    for summary in stages.iter().filter(|s| s.stream().is_some()) {
        let reason = match stage::judge(ivs, &app.settings, summary, now, GRACE_SECS).await {
            Ok(Some(reason)) => reason,
            Ok(None) => continue,
            Err(err) => {
                report
                    .errors
                    .push(format!("judging {}: {err}", summary.arn));
                continue;
            }
        };
        match stage::end_stage(ivs, &app.settings, &summary.arn).await {
            Ok(ended) => {
                tracing::info!(stage = %summary.arn, stream = ?ended.stream, reason = reason.describe(), "reaper ended a stage");
                if ended.deleted {
                    report.stages_ended.push(summary.arn.clone());
                }
            }
            Err(err) => report.errors.push(format!("ending {}: {err}", summary.arn)),
        }
    }
}

/// Completes rooms past their bounds; returns the OnAir rooms still in progress afterwards.
async fn reap_rooms(
    app: &App,
    now: u64,
    report: &mut Report,
) -> Result<HashSet<RoomName>, TwilioError> {
    let mut still_live = HashSet::new();
    for room in app.twilio.list_rooms_in_progress().await? {
        let Some(name) = room.onair_name() else {
            reap_meeting_room(app, &room, now, report).await;
            continue;
        };
        match judge(app, &room, now).await? {
            None => {
                still_live.insert(name);
            }
            Some(reason) => stop(app, &name, reason, report).await,
        }
    }
    Ok(still_live)
}

/// Completes `room` if it is a meeting's and has lasted as long as a meeting may.
async fn reap_meeting_room(app: &App, room: &Room, now: u64, report: &mut Report) {
    let Some(name) = room.meeting_room() else {
        return;
    };
    if !meeting::past_maximum(room, &app.settings.meetings, now) {
        return;
    }
    match meeting::end_room(&app.twilio, &name).await {
        Ok(true) => report.meeting_rooms_completed.push(name),
        Ok(false) => {}
        Err(err) => report.errors.push(format!("completing {name}: {err}")),
    }
}

/// Whether `room` has outlived its purpose at `now`, and why.
async fn judge(app: &App, room: &Room, now: u64) -> Result<Option<Reason>, TwilioError> {
    // A room without a readable date is treated as old: better to end it than to leak it.
    let age = room.age_secs(now).unwrap_or(u64::MAX);
    if age >= app.settings.stream_max.as_secs() {
        return Ok(Some(Reason::PastLongestStream));
    }
    if age < GRACE_SECS {
        return Ok(None);
    }
    let (twilio, host) = (&app.twilio, &app.settings.host_identity);
    if !twilio
        .connected_participants(&room.sid, Some(host))
        .await?
        .is_empty()
    {
        return Ok(None);
    }
    let came_and_left = !twilio
        .participants(&room.sid, ParticipantStatus::Disconnected, Some(host))
        .await?
        .is_empty();
    Ok(if came_and_left {
        Some(Reason::HostLeft)
    } else if age >= app.settings.studio_max.as_secs() {
        Some(Reason::StudioUnused)
    } else {
        None
    })
}

async fn stop(app: &App, room: &RoomName, reason: Reason, report: &mut Report) {
    match stream::stop_room(&app.twilio, &app.settings, room).await {
        Ok(stopped) => {
            tracing::info!(room = %room, stream = ?room.stream(), reason = reason.describe(), "reaper stopped a room");
            if stopped.room_completed {
                report.rooms_completed.push(room.clone());
            }
            report
                .media_processors_ended
                .extend(stopped.live.media_processors);
            report
                .player_streamers_ended
                .extend(stopped.live.player_streamers);
        }
        Err(err) => report.errors.push(format!("stopping {room}: {err}")),
    }
}

async fn reap_live_resources(
    app: &App,
    now: u64,
    live_rooms: &HashSet<RoomName>,
    report: &mut Report,
) -> Result<(), TwilioError> {
    let twilio = &app.twilio;
    let mut fed = HashSet::new();
    for processor in twilio.list_started_media_processors().await? {
        // Processors of rooms that are not ours, or still live, are left alone.
        if processor
            .room_name()
            .is_none_or(|room| live_rooms.contains(&room))
        {
            fed.extend(processor.outputs());
            continue;
        }
        match twilio.end_media_processor(&processor.sid).await {
            Ok(_) => report.media_processors_ended.push(processor.sid.clone()),
            Err(err) => report
                .errors
                .push(format!("ending {}: {err}", processor.sid)),
        }
        for streamer in processor.outputs() {
            end_streamer(app, &streamer, report).await;
        }
    }
    for streamer in twilio.running_player_streamers().await? {
        let age = streamer.age_secs(now).unwrap_or(u64::MAX);
        if !fed.contains(&streamer.sid) && age >= GRACE_SECS {
            end_streamer(app, &streamer.sid, report).await;
        }
    }
    Ok(())
}

async fn end_streamer(app: &App, sid: &str, report: &mut Report) {
    match app.twilio.end_player_streamer(sid).await {
        Ok(_) => report.player_streamers_ended.push(sid.to_owned()),
        Err(err) if err.is_not_found() => {}
        Err(err) => report.errors.push(format!("ending {sid}: {err}")),
    }
}
