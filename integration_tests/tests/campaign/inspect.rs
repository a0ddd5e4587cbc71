//! Reading the stand-in after an action: what is still active (billable), and what one room
//! still has running.

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

/// What `room` still has running: itself, MediaProcessors composing it, and the
/// PlayerStreamers those feed. Empty after a successful stop.
pub fn still_running(standin: &StandIn, room: &str) -> Vec<String> {
    let mut running = Vec::new();
    if room_in_progress(standin, room) {
        running.push(format!("room {room}"));
    }
    let processors: Vec<_> = standin
        .media_processors()
        .into_iter()
        .filter(|m| m.room_name.as_deref() == Some(room))
        .collect();
    let streamers = standin.player_streamers();
    for processor in &processors {
        if processor.status == "started" {
            running.push(format!("MediaProcessor {}", processor.sid));
        }
        for output in &processor.outputs {
            if streamers
                .iter()
                .any(|s| &s.sid == output && s.status != "ended")
            {
                running.push(format!("PlayerStreamer {output}"));
            }
        }
    }
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
