//! The `ivs` mode measures (Amazon IVS real-time stages, against the stand-in's IVS API):
//!
//! 1. crowd: 1,000 viewers call `audience_token` evenly over 60 s of a manual clock while the
//!    host publishes on the stream's stage; counts the IVS calls the stand-in received, by
//!    operation (the target: none per viewer, at most 12 lookups a minute per container);
//! 2. warm: CPU time of one `audience_token` request on the warm path (the stage lookup
//!    remembered, no IVS call): minting the viewer's ES384 participant token is most of it;
//! 3. mint: CPU time of `onair_common::ivs_token::mint`, so participant tokens per second per
//!    core.
//!
//! The key pair is made for the run by the openssl CLI and never stored.

use std::collections::{BTreeMap, BTreeSet};

use criterion::{BatchSize, Criterion, Throughput};
use onair_common::App;
use onair_common::audience::{AudienceCache, Clock};
use onair_common::ids::StageArn;
use onair_common::ivs_token::{self, Capabilities, Mint, StageEndpoints};
use onair_common::secret::SigningKey;
use onair_test_support::ivs_keys::{self, KeyPair};
use onair_test_support::request::{answer, post_empty, post_json};
use serde_json::json;

use crate::audience::{CROWD_SPAN, VIEWERS};
use crate::cpu_clock::ThreadCpuTime;
use crate::fixture::{self, Upstream, report};

/// An `ivs` App whose stage lookup goes by a manual clock, the stream `main`'s studio stage
/// opened by `host_token` and its host publishing on it (a simulated WHIP publisher).
fn live_stage(upstream: &Upstream, keys: &KeyPair, rt: &tokio::runtime::Runtime) -> (App, Clock) {
    let mut app = upstream.ivs_app(keys);
    let clock = Clock::manual();
    app.audience = AudienceCache::with_clock(clock.clone());
    let body = json!({ "password": fixture::HOST_PASSWORD, "stream": "main" });
    let (status, login) = answer(&rt.block_on(host_token::handle(&app, post_json(body))));
    assert_eq!(status, 200, "host_token in ivs mode: {login}");
    let stages = upstream.standin.ivs_stages();
    let stage = stages.first().expect("the studio's stage");
    upstream
        .standin
        .ivs_connect_publisher(&stage.arn, fixture::HOST_IDENTITY)
        .expect("the host publishes");
    // Past the lookup remembered before the host published.
    clock.advance(app.settings.ivs.as_ref().expect("ivs settings").lookup_ttl);
    (app, clock)
}

/// 1,000 viewers within 60 s: IVS calls by operation.
fn crowd(keys: &KeyPair, rt: &tokio::runtime::Runtime) -> serde_json::Value {
    let upstream = Upstream::start_ivs(keys);
    let (app, clock) = live_stage(&upstream, keys, rt);
    upstream.standin.clear_ivs_calls();
    let step = CROWD_SPAN / VIEWERS;
    let mut participants = BTreeSet::new();
    for viewer in 0..VIEWERS {
        let (status, body) = answer(&rt.block_on(audience_token::handle(&app, post_empty())));
        assert_eq!(
            (status, body["live"].as_bool()),
            (200, Some(true)),
            "viewer {viewer}: {body}"
        );
        participants.insert(body["identity"].as_str().unwrap_or_default().to_owned());
        clock.advance(step);
    }
    assert_eq!(participants.len(), VIEWERS as usize, "a participant each");
    let calls = upstream.standin.ivs_calls();
    let mut by_operation: BTreeMap<String, u32> = BTreeMap::new();
    for call in &calls {
        *by_operation.entry(call.operation.clone()).or_default() += 1;
    }
    json!({
        "viewers": VIEWERS,
        "span_secs": CROWD_SPAN.as_secs(),
        "lookup_secs": app.settings.ivs.as_ref().map(|i| i.lookup_ttl.as_secs()),
        "ivs_calls": calls.len(),
        "by_operation": by_operation,
    })
}

/// The warm path: the clock stands still, so every request after the first is answered from
/// the remembered lookup. Checks that no IVS call happened while it was measured.
fn warm(c: &mut Criterion<ThreadCpuTime>, keys: &KeyPair, rt: &tokio::runtime::Runtime) {
    let upstream = Upstream::start_ivs(keys);
    let (app, _clock) = live_stage(&upstream, keys, rt);
    let (status, first) = answer(&rt.block_on(audience_token::handle(&app, post_empty())));
    assert_eq!((status, first["live"].as_bool()), (200, Some(true)));
    let before = upstream.standin.ivs_calls().len();
    let mut group = c.benchmark_group("audience_token");
    group.bench_function("ivs_cached", |b| {
        b.iter_batched(
            post_empty,
            |req| rt.block_on(audience_token::handle(&app, req)),
            BatchSize::SmallInput,
        )
    });
    group.finish();
    report(
        "warm_ivs_calls",
        &json!({ "ivs": upstream.standin.ivs_calls().len() - before }),
    );
}

/// One viewer's participant token.
fn mint(c: &mut Criterion<ThreadCpuTime>, keys: &KeyPair) {
    let key = SigningKey::from_pem(&keys.private_pem).expect("a P-384 key");
    let arn = StageArn::parse("arn:aws:ivs:us-east-1:123456789012:stage/AbCdEfGhIjKl")
        .expect("a stage ARN");
    let stage = StageEndpoints {
        arn,
        events: "wss://global.events.live-video.net".into(),
        whip: "https://abcdefghijkl.global-bm.whip.live-video.net".into(),
    };
    let mut group = c.benchmark_group("token");
    group.throughput(Throughput::Elements(1));
    group.bench_function("ivs_mint", |b| {
        b.iter(|| {
            ivs_token::mint(Mint {
                key: &key,
                key_arn: "arn:aws:ivs:us-east-1:123456789012:public-key/AbCdEfGhIjKl",
                stage: &stage,
                user_id: "viewer-0123456789abcdef",
                capabilities: Capabilities::SUBSCRIBE,
                attributes: BTreeMap::new(),
                now: 1_800_000_000,
                ttl_secs: 7200,
            })
        })
    });
    group.finish();
}

/// The crowd (`ivs_crowd.json`), then `audience_token/ivs_cached` and `token/ivs_mint`.
pub fn run(c: &mut Criterion<ThreadCpuTime>, rt: &tokio::runtime::Runtime) {
    let keys = ivs_keys::p384();
    report("ivs_crowd", &crowd(&keys, rt));
    warm(c, &keys, rt);
    mint(c, &keys);
}
