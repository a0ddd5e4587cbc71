//! CPU time of one warm `host_token` request: the password check, one room created on the
//! Twilio stand-in (in this process, on its own thread, over loopback with a kept-alive
//! connection) and the host's token minted.
//!
//! CPU time is the calling thread's (`CLOCK_THREAD_CPUTIME_ID`): the handler, the HTTP client
//! and the JSON, not the stand-in's work and not the time spent waiting for it.

use criterion::{BatchSize, Criterion};

use onair_test_support::request::{answer, post_json};

use crate::cpu_clock::ThreadCpuTime;
use crate::fixture::{HOST_PASSWORD, Upstream};

/// Group `host_token`, benchmark `standin_loopback`.
pub fn run(c: &mut Criterion<ThreadCpuTime>, rt: &tokio::runtime::Runtime) {
    let upstream = Upstream::start();
    let app = upstream.app(&[]);
    let body = serde_json::json!({ "password": HOST_PASSWORD });
    let (status, first) = answer(&rt.block_on(host_token::handle(&app, post_json(body.clone()))));
    assert_eq!(status, 200, "{first}");

    let mut group = c.benchmark_group("host_token");
    group.bench_function("standin_loopback", |b| {
        b.iter_batched(
            || post_json(body.clone()),
            |req| rt.block_on(host_token::handle(&app, req)),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}
