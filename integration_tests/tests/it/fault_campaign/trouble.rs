//! Which trouble a run makes: faults injected into the stand-in (429, 5xx, answers later than
//! the client waits, the Nth matching call failing) and handlers cut off after their Nth Twilio
//! call, as a Lambda killed by its timeout would be.

use std::time::Duration;

use twilio_standin::{Fault, FaultAction};

use super::rng::Rng;

/// The campaign's Twilio client timeout, small so that late answers cost little time.
pub const CLIENT_TIMEOUT_MS: u64 = 200;
/// A late answer: the call takes effect at once, but its answer comes after the client gave up.
pub const LATE: Duration = Duration::from_millis(350);

/// The Twilio calls the handlers make, as fault targets (method, part of the path).
const TARGETS: &[(Option<&str>, &str)] = &[
    (Some("POST"), "/v1/Rooms"),
    (Some("GET"), "/v1/Rooms"),
    (Some("GET"), "/Participants"),
    (Some("POST"), "/SubscribeRules"),
    (Some("POST"), "/v1/PlayerStreamers"),
    (Some("GET"), "/v1/PlayerStreamers"),
    (Some("POST"), "/PlaybackGrant"),
    (Some("POST"), "/v1/MediaProcessors"),
    (Some("GET"), "/v1/MediaProcessors"),
    (None, "/v1/"),
];

#[derive(Debug, Clone, Copy)]
enum Kind {
    Status(u16),
    Late,
}

/// Percent of actions preceded by a new fault.
pub const FAULT_PERCENT: u64 = 30;
/// Percent of cuttable handler calls that are cut off.
pub const CUT_PERCENT: u64 = 12;

/// A random fault: a target, a status or a late answer, and a window of matching calls.
pub fn random_fault(rng: &mut Rng) -> Fault {
    let (method, path) = TARGETS[rng.below(TARGETS.len() as u64) as usize];
    let kind = rng.weighted(&[
        (30, Kind::Status(429)),
        (25, Kind::Status(500)),
        (25, Kind::Status(503)),
        (12, Kind::Late),
    ]);
    let (action, times) = match kind {
        Kind::Status(status) => (FaultAction::Status(status), rng.between(1, 3) as u32),
        Kind::Late => (FaultAction::Delay(LATE), 1),
    };
    Fault {
        method: method.map(str::to_owned),
        path_contains: path.to_owned(),
        nth: rng.between(1, 3) as u32,
        times,
        action,
    }
}

/// After how many Twilio calls to cut the next handler off, if at all.
pub fn cut_after(rng: &mut Rng) -> Option<u64> {
    rng.chance(CUT_PERCENT).then(|| rng.between(1, 4))
}
