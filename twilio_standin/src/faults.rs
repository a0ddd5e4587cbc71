//! Fault injection: make chosen calls, Twilio REST (`/v1/...`) or media (`/media/...`), fail
//! with a status or answer late. The faults in force and their counts; the fault layer
//! (`layers::apply_faults`) applies them.

use std::time::Duration;

/// A fault applies to the calls whose method matches `method` (any method if `None`, case
/// insensitive) and whose path contains `path_contains` (e.g. `/v1/Rooms`, or `/media/whep/` for
/// every WHEP offer). Counting matching calls from the moment the fault is added, it applies to
/// calls `nth` (1 = the next one) through `nth + times - 1`. The control API (`/__standin/...`)
/// never takes faults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub method: Option<String>,
    pub path_contains: String,
    pub nth: u32,
    pub times: u32,
    pub action: FaultAction,
}

/// What a fault does to a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultAction {
    /// Answer with a Twilio error body and this status instead of handling the call
    /// (429 → code 20429, 5xx → code 20500), before auth or token checks.
    Status(u16),
    /// Handle the call normally, then wait this long before answering (a WHEP offer opens its
    /// session and joins the room at once; the SDP answer comes late).
    Delay(Duration),
}

impl Fault {
    /// A fault that applies once, to the next matching call.
    pub fn once(method: Option<&str>, path_contains: &str, action: FaultAction) -> Fault {
        Fault {
            method: method.map(str::to_owned),
            path_contains: path_contains.to_owned(),
            nth: 1,
            times: 1,
            action,
        }
    }
}

#[derive(Debug)]
struct Armed {
    fault: Fault,
    seen: u32,
}

/// The faults in force, each with its own count of matching calls.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    armed: Vec<Armed>,
}

impl Faults {
    pub(crate) fn add(&mut self, fault: Fault) {
        self.armed.push(Armed { fault, seen: 0 });
    }

    pub(crate) fn clear(&mut self) {
        self.armed.clear();
    }

    /// Counts this call against every matching fault and returns the action of the first fault
    /// (in the order added) whose window covers it.
    pub(crate) fn on_call(&mut self, method: &str, path: &str) -> Option<FaultAction> {
        let mut action = None;
        for armed in &mut self.armed {
            let f = &armed.fault;
            let method_matches = f
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method));
            if !method_matches || !path.contains(f.path_contains.as_str()) {
                continue;
            }
            armed.seen = armed.seen.saturating_add(1);
            let first = f.nth.max(1);
            let last = first.saturating_add(f.times).saturating_sub(1);
            if action.is_none() && f.times > 0 && (first..=last).contains(&armed.seen) {
                action = Some(f.action);
            }
        }
        // Faults whose window has passed can never apply again.
        self.armed.retain(|a| {
            let last = a
                .fault
                .nth
                .max(1)
                .saturating_add(a.fault.times)
                .saturating_sub(1);
            a.fault.times > 0 && a.seen < last
        });
        action
    }
}
