//! Reading the stand-in after an action: what is still active (billable), and what one room
//! still has running.

use serde_json::Value;
use twilio_standin::StandIn;

/// Resources still running: in-progress rooms, unended PlayerStreamers, started
/// MediaProcessors, by sid.
#[derive(Debug, Default)]
pub struct Active {
    pub rooms: Vec<String>,
    pub player_streamers: Vec<String>,
    pub media_processors: Vec<String>,
}

impl Active {
    pub fn of(standin: &StandIn) -> Active {
        Active {
            rooms: standin
                .rooms()
                .into_iter()
                .filter(|r| r.status == "in-progress")
                .map(|r| r.unique_name)
                .collect(),
            player_streamers: standin
                .player_streamers()
                .into_iter()
                .filter(|p| p.status != "ended" && p.status != "failed")
                .map(|p| p.sid)
                .collect(),
            media_processors: standin
                .media_processors()
                .into_iter()
                .filter(|m| m.status == "started")
                .map(|m| m.sid)
                .collect(),
        }
    }

    pub fn count(&self) -> usize {
        self.rooms.len() + self.player_streamers.len() + self.media_processors.len()
    }
}

pub fn room_in_progress(standin: &StandIn, room: &str) -> bool {
    standin
        .rooms()
        .iter()
        .any(|r| r.unique_name == room && r.status == "in-progress")
}

pub fn connected(standin: &StandIn, room: &str, identity: &str) -> bool {
    standin
        .participants(room)
        .iter()
        .any(|p| p.identity == identity && p.status == "connected")
}

/// What a stop of `room` must end: its started MediaProcessors and the PlayerStreamers those
/// feed, by sid. (A streamer whose processor had already ended, with the room or in a stop that
/// failed half-way, is the reaper's: nothing names it any more.)
pub fn live_resources(standin: &StandIn, room: &str) -> Vec<String> {
    let running_streamers: Vec<String> = standin
        .player_streamers()
        .into_iter()
        .filter(|s| s.status != "ended")
        .map(|s| s.sid)
        .collect();
    let mut sids = Vec::new();
    for processor in standin.media_processors() {
        if processor.status != "started" || processor.room_name.as_deref() != Some(room) {
            continue;
        }
        sids.extend(
            processor
                .outputs
                .iter()
                .filter(|o| running_streamers.contains(o))
                .cloned(),
        );
        sids.push(processor.sid);
    }
    sids
}

/// What is still running after a stop of `room`: the room itself, any of its MediaProcessors,
/// and any of `before` (its [`live_resources`] when the stop began).
pub fn still_running(standin: &StandIn, room: &str, before: &[String]) -> Vec<String> {
    let mut running = Vec::new();
    if room_in_progress(standin, room) {
        running.push(format!("room {room}"));
    }
    running.extend(live_resources(standin, room));
    running.extend(
        standin
            .player_streamers()
            .into_iter()
            .filter(|s| s.status != "ended" && before.contains(&s.sid))
            .map(|s| s.sid),
    );
    running.dedup();
    running
}

/// Started MediaProcessors composing `room`.
pub fn started_processors(standin: &StandIn, room: &str) -> usize {
    standin
        .media_processors()
        .iter()
        .filter(|m| m.status == "started" && m.room_name.as_deref() == Some(room))
        .count()
}

/// What a successful `stream_start` answer names that is not running: its room (not in
/// progress) and, in `live` mode, its MediaProcessor (not started) or PlayerStreamer (not
/// started).
pub fn not_running(standin: &StandIn, stream: &Value) -> Vec<String> {
    let mut dead = Vec::new();
    let room = stream["room"].as_str().unwrap_or_default();
    if !room_in_progress(standin, room) {
        dead.push(format!("room {room}"));
    }
    if let Some(sid) = stream["media_processor_sid"].as_str()
        && !standin
            .media_processors()
            .iter()
            .any(|m| m.sid == sid && m.status == "started")
    {
        dead.push(format!("MediaProcessor {sid}"));
    }
    if let Some(sid) = stream["player_streamer_sid"].as_str()
        && !standin
            .player_streamers()
            .iter()
            .any(|p| p.sid == sid && p.status == "started")
    {
        dead.push(format!("PlayerStreamer {sid}"));
    }
    dead
}
