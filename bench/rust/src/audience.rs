//! The `audience_token` measures:
//!
//! 1. crowd: 1,000 viewers call the handler, evenly spread over 60 s of a manual clock, in
//!    `live` and in `room` mode, against the Twilio stand-in; counts the Twilio calls.
//! 2. warm: CPU time of one `audience_token` request on the warm path, where the live lookup
//!    (and in `live` mode the PlaybackGrant) is cached and no Twilio call happens.
//! 3. mint: CPU time of `onair_common::token::mint`, so tokens per second per core.
//!
//! CPU time is the calling thread's (`CLOCK_THREAD_CPUTIME_ID`); the handler runs on a
//! current-thread runtime, as in the Lambda binary. The crowd's counts and the Twilio calls made
//! while the warm path was measured also go to `$ONAIR_BENCH_OUT`.

use std::collections::BTreeMap;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput};
use onair_common::App;
use onair_common::audience::{AudienceCache, Clock};
use onair_common::config::Secrets;
use onair_common::ids::{Identity, RoomName};
use onair_common::token::{self, Grant};
use onair_test_support::request::{answer, post_empty};
use serde_json::json;

use crate::cpu_clock::ThreadCpuTime;
use crate::fixture::{self, Upstream, report};

pub const VIEWERS: u32 = 1_000;
pub const CROWD_SPAN: Duration = Duration::from_secs(60);

/// An App in `mode` (with `extra` settings) whose audience cache goes by a manual clock, with
/// the host live in a room (and in `live` mode, the stream started: PlayerStreamer and
/// MediaProcessor).
pub fn live_app(
    upstream: &Upstream,
    rt: &tokio::runtime::Runtime,
    mode: &str,
    extra: &[(&str, &str)],
) -> (App, Clock) {
    let mut settings = vec![("AUDIENCE_MODE", mode)];
    settings.extend_from_slice(extra);
    let mut app = upstream.app(&settings);
    let clock = Clock::manual();
    app.audience = AudienceCache::with_clock(clock.clone());
    rt.block_on(async {
        let room = RoomName::new_random();
        let bounds = onair_common::stream::room_bounds(&app.settings);
        app.twilio
            .create_room(&room, &bounds, None)
            .await
            .expect("the room is created");
        upstream
            .standin
            .connect_participant(room.as_str(), fixture::HOST_IDENTITY)
            .expect("the host joins");
        if mode == "live" {
            onair_common::stream::start_live(&app.twilio, &app.settings, &room)
                .await
                .expect("the stream starts");
        }
    });
    (app, clock)
}

/// 1,000 viewers within 60 s: Twilio calls per mode, by kind.
fn crowd(rt: &tokio::runtime::Runtime) -> serde_json::Value {
    let mut modes = serde_json::Map::new();
    for mode in ["live", "room"] {
        let upstream = Upstream::start();
        let (app, clock) = live_app(&upstream, rt, mode, &[]);
        upstream.standin.clear_calls();
        let step = CROWD_SPAN / VIEWERS;
        for viewer in 0..VIEWERS {
            let (status, body) = answer(&rt.block_on(audience_token::handle(&app, post_empty())));
            assert_eq!(
                (status, body["live"].as_bool()),
                (200, Some(true)),
                "viewer {viewer}: {body}"
            );
            clock.advance(step);
        }
        let calls = upstream.standin.calls();
        let by_kind = calls_by_kind(&calls);
        modes.insert(
            mode.to_owned(),
            json!({
                "viewers": VIEWERS,
                "span_secs": CROWD_SPAN.as_secs(),
                "audience_cache_secs": app.settings.audience_cache_ttl.as_secs(),
                "playback_grant_ttl_secs": app.settings.playback_grant_ttl.as_secs(),
                "grant_usable_secs": app.settings.playback_grant_ttl.saturating_sub(onair_common::audience::GRANT_MARGIN).as_secs(),
                "twilio_calls": calls.len(),
                "by_kind": by_kind,
            }),
        );
    }
    serde_json::Value::Object(modes)
}

/// How many of `calls` went to each kind of call (see [`call_kind`]).
pub fn calls_by_kind(calls: &[twilio_standin::Call]) -> BTreeMap<String, u32> {
    let mut by_kind = BTreeMap::new();
    for call in calls {
        *by_kind
            .entry(call_kind(&call.method, &call.path))
            .or_default() += 1;
    }
    by_kind
}

/// `GET /v1/Rooms`, `GET /v1/Rooms/{sid}/Participants`, ... with sids replaced by `{sid}`.
fn call_kind(method: &str, path: &str) -> String {
    let path: Vec<&str> = path
        .split('/')
        .map(|part| {
            let sid = part.len() == 34 && part.chars().take(2).all(|c| c.is_ascii_uppercase());
            if sid { "{sid}" } else { part }
        })
        .collect();
    format!("{method} {}", path.join("/"))
}

/// The warm path in `mode`: the clock stands still, so after the first request every request
/// is served from the cache. Checks that no Twilio call happened while it was measured.
fn warm(c: &mut Criterion<ThreadCpuTime>, rt: &tokio::runtime::Runtime) {
    let mut group = c.benchmark_group("audience_token");
    let mut calls_while_measured = serde_json::Map::new();
    for mode in ["live", "room"] {
        let upstream = Upstream::start();
        let (app, _clock) = live_app(&upstream, rt, mode, &[]);
        let (status, first) = answer(&rt.block_on(audience_token::handle(&app, post_empty())));
        assert_eq!((status, first["live"].as_bool()), (200, Some(true)));
        let before = upstream.calls();
        group.bench_function(format!("{mode}_cached"), |b| {
            b.iter_batched(
                post_empty,
                |req| rt.block_on(audience_token::handle(&app, req)),
                BatchSize::SmallInput,
            )
        });
        calls_while_measured.insert(mode.to_owned(), json!(upstream.calls() - before));
    }
    group.finish();
    report(
        "warm_upstream_calls",
        &serde_json::Value::Object(calls_while_measured),
    );
}

/// One access token, as every viewer gets one.
fn mint(c: &mut Criterion<ThreadCpuTime>) {
    let secrets = Secrets::from_source(&fixture::source(&[])).expect("bench secrets parse");
    let identity = Identity::new_viewer();
    let grant = Grant::VideoRoom(RoomName::new_random());
    let mut group = c.benchmark_group("token");
    group.throughput(Throughput::Elements(1));
    group.bench_function("mint", |b| {
        b.iter(|| token::mint(&secrets, &identity, &grant, token::unix_now(), 7200))
    });
    group.finish();
}

/// The crowd (`crowd.json`), then groups `audience_token` (`live_cached`, `room_cached`) and
/// `token` (`mint`).
pub fn run(c: &mut Criterion<ThreadCpuTime>, rt: &tokio::runtime::Runtime) {
    report("crowd", &crowd(rt));
    warm(c, rt);
    mint(c);
}
