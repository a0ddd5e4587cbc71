//! The actions of a run (host, viewers and meeting guests, time, the reaper) and what each
//! endpoint may answer
//! whatever Twilio does: never a 500, never a status outside its list.

use onair_integration_tests::Endpoint;

use super::rng::Rng;

/// Which audience mode a run uses: even seeds `room`, odd seeds `live`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Room,
    Live,
}

impl Mode {
    pub fn of_seed(seed: u64) -> Mode {
        if seed.is_multiple_of(2) {
            Mode::Room
        } else {
            Mode::Live
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Mode::Room => "room",
            Mode::Live => "live",
        }
    }
}

/// One step of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The host opens the studio of one of [`STREAMS`] (a fresh room; signed in with a host
    /// session, or the password) and connects, leaving the previous room if any.
    GoLive,
    /// Another studio asks for the host's stream while the host may be on air: a `409` then,
    /// and the stream goes on untouched.
    RivalStudio,
    /// `stream_start` once.
    Start,
    /// `stream_start` twice in a row: the same answer both times.
    StartTwice,
    /// Two `stream_start` calls at once: one pair left for the room.
    StartTogether,
    /// `stream_stop` twice in a row: the second one stops nothing.
    StopTwice,
    /// The host's tab closes: the host leaves the room, and maybe a `sendBeacon` stop.
    CloseTab {
        beacon: bool,
    },
    /// A viewer of one of [`STREAMS`] asks for a token and (room mode) joins and subscribes.
    ViewerJoins {
        subscribe: bool,
    },
    /// A waiting viewer's page polls `GET /status/<stream>` of one of [`STREAMS`].
    StatusPoll,
    ViewerLeaves,
    /// A guest joins the host's meeting (opened on first use) and connects.
    GuestJoins,
    /// Two guests join at once: without faults both get in, into one room.
    GuestsJoinTogether,
    GuestLeaves,
    /// The stand-in's clock moves on this many seconds.
    TimePasses(u64),
    /// A scheduled reaper run, faults and all.
    Reap,
}

/// The streams of a run: two, so that one host's rooms and viewers meet another stream's.
pub const STREAMS: [&str; 2] = ["main", "talk-2"];

/// One of [`STREAMS`].
pub fn stream(rng: &mut Rng) -> &'static str {
    STREAMS[rng.below(STREAMS.len() as u64) as usize]
}

/// Draws the next action.
pub fn draw(rng: &mut Rng) -> Action {
    let picked = rng.weighted(&[
        (12, Action::GoLive),
        (4, Action::RivalStudio),
        (6, Action::StatusPoll),
        (14, Action::Start),
        (10, Action::StartTwice),
        (6, Action::StartTogether),
        (10, Action::StopTwice),
        (6, Action::CloseTab { beacon: false }),
        (14, Action::ViewerJoins { subscribe: false }),
        (5, Action::ViewerLeaves),
        (7, Action::GuestJoins),
        (4, Action::GuestsJoinTogether),
        (3, Action::GuestLeaves),
        (9, Action::TimePasses(0)),
        (5, Action::Reap),
    ]);
    match picked {
        Action::CloseTab { .. } => Action::CloseTab {
            beacon: rng.chance(50),
        },
        Action::ViewerJoins { .. } => Action::ViewerJoins {
            subscribe: rng.chance(70),
        },
        Action::TimePasses(_) => Action::TimePasses(rng.between(5, 150)),
        other => other,
    }
}

/// The statuses `endpoint` may answer to a well-formed request from the host or a viewer in a
/// campaign: success, the documented conflicts, and 502 when Twilio failed.
pub fn allowed(endpoint: Endpoint) -> &'static [u16] {
    match endpoint {
        Endpoint::StreamStop | Endpoint::AudienceToken | Endpoint::StreamStatus => &[200, 502],
        // No Twilio call: the password is right, so it is always granted.
        Endpoint::HostSession => &[200],
        // 409: the stream is live from another studio.
        Endpoint::HostToken | Endpoint::StreamStart => &[200, 409, 502],
        Endpoint::Subscribe => &[200, 404, 502],
        // Twilio's room status callbacks; the campaign does not send them.
        Endpoint::RoomEvents => &[200, 502],
        // Makes no Twilio call.
        Endpoint::MeetingCreate => &[200],
        Endpoint::MeetingToken => &[200, 409, 502],
    }
}
