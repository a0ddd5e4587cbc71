//! The crowd against a failing Twilio: 1,000 viewers call the `audience_token` handler, evenly
//! spread over 60 s of a manual clock, in `live` and in `room` mode, while every Twilio call
//! fails, either answering `500` or answering later than the client waits (a timeout). Counts
//! the Twilio calls the stand-in received and the handler's answers by status.
//!
//! The audience cache remembers a failed lookup for `FAILURE_MEMORY` and tries each call once,
//! so a container asks Twilio at most once per `FAILURE_MEMORY` however large the crowd. Before
//! (every viewer's lookup retried three times, nothing remembered) the same crowd made three
//! calls per viewer.

use std::collections::BTreeMap;
use std::time::Duration;

use onair_common::audience::FAILURE_MEMORY;
use serde_json::json;
use twilio_standin::{Fault, FaultAction};

use crate::audience::{CROWD_SPAN, VIEWERS, calls_by_kind, live_app};
use onair_test_support::request::{answer, post_empty};

use crate::fixture::Upstream;

/// The client's time limit for the timeout case (the smallest `TWILIO_TIMEOUT_MS` allowed), and
/// how late the stand-in answers.
const CLIENT_TIMEOUT_MS: &str = "100";
const LATE: Duration = Duration::from_millis(300);

/// How every Twilio call fails.
#[derive(Clone, Copy)]
enum Failure {
    Status500,
    Timeout,
}

impl Failure {
    fn name(self) -> &'static str {
        match self {
            Failure::Status500 => "status_500",
            Failure::Timeout => "timeout",
        }
    }

    /// A fault on every call from now on.
    fn fault(self) -> Fault {
        Fault {
            method: None,
            path_contains: "/v1/".into(),
            nth: 1,
            times: u32::MAX,
            action: match self {
                Failure::Status500 => FaultAction::Status(500),
                Failure::Timeout => FaultAction::Delay(LATE),
            },
        }
    }
}

/// `{mode: {failure: {viewers, span_secs, twilio_calls, by_kind, answers}}}`.
pub fn run(rt: &tokio::runtime::Runtime) -> serde_json::Value {
    let mut modes = serde_json::Map::new();
    for mode in ["live", "room"] {
        let mut failures = serde_json::Map::new();
        for failure in [Failure::Status500, Failure::Timeout] {
            let upstream = Upstream::start();
            let (app, clock) = live_app(
                &upstream,
                rt,
                mode,
                &[("TWILIO_TIMEOUT_MS", CLIENT_TIMEOUT_MS)],
            );
            upstream.standin.clear_calls();
            upstream.standin.inject(failure.fault());
            let step = CROWD_SPAN / VIEWERS;
            let mut answers = BTreeMap::<u16, u32>::new();
            for _ in 0..VIEWERS {
                let response = rt.block_on(audience_token::handle(&app, post_empty()));
                let has_retry_after = response.headers().contains_key("retry-after");
                let (status, body) = answer(&response);
                assert!(
                    status == 502 && has_retry_after,
                    "{mode}, {}: {status} {body}",
                    failure.name()
                );
                *answers.entry(status).or_default() += 1;
                clock.advance(step);
            }
            upstream.standin.clear_faults();
            let calls = upstream.standin.calls();
            failures.insert(
                failure.name().to_owned(),
                json!({
                    "viewers": VIEWERS,
                    "span_secs": CROWD_SPAN.as_secs(),
                    // A failure is remembered as long as an answer at most.
                    "failure_memory_secs": FAILURE_MEMORY.min(app.settings.audience_cache_ttl).as_secs(),
                    "twilio_calls": calls.len(),
                    "by_kind": calls_by_kind(&calls),
                    "answers": answers,
                }),
            );
        }
        modes.insert(mode.to_owned(), serde_json::Value::Object(failures));
    }
    serde_json::Value::Object(modes)
}
