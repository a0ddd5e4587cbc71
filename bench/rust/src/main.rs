//! `onair-bench`: the warm-cost part of bench/run.sh, criterion used as a library in one
//! release-profile binary. bench/run.sh builds it in the same `cargo build --release` as the
//! function binaries and the stand-in, so all of them share one dependency build (a `cargo
//! bench` target would need panic=unwind and so a second build of every dependency).
//!
//! - `audience`: the crowd (Twilio calls of 1,000 viewers within 60 s, both modes), the warm
//!   path's CPU per request in both modes, tokens minted per second;
//! - `outage`: the same crowd while every Twilio call fails (500, or a timeout): the calls
//!   Twilio received and the answers;
//! - `ivs`: the same crowd in `ivs` mode (IVS calls of 1,000 viewers within 60 s), its warm
//!   path's CPU per request, ES384 participant tokens minted per second;
//! - `host`: CPU per `host_token` request, one room created on the in-process stand-in;
//! - `status_crowd`: 1,000 viewers polling `/status/<stream>` through the dev server's edge
//!   cache: the `stream_status` invocations per second per stream.
//!
//! Arguments are criterion's, as `cargo bench` passes them to a benchmark: `--bench` measures
//! (bench/run.sh passes it); without it criterion runs every benchmark once, as a check.
//! Criterion writes under `$CRITERION_HOME`; the crowds' counts and the Twilio calls made while
//! the warm path was measured go to `$ONAIR_BENCH_OUT` (if set). `ONAIR_BENCH_ONLY=status_crowd`
//! runs that part alone (it needs no criterion measurement).

mod audience;
mod cpu_clock;
mod fixture;
mod host;
mod ivs;
mod outage;
mod status_crowd;

fn main() {
    let status_crowd = || fixture::report("status_crowd", &status_crowd::run());
    if std::env::var("ONAIR_BENCH_ONLY").as_deref() == Ok("status_crowd") {
        status_crowd();
        return;
    }
    let rt = fixture::handler_runtime();
    let mut c = fixture::criterion();
    audience::run(&mut c, &rt);
    ivs::run(&mut c, &rt);
    fixture::report("outage_crowd", &outage::run(&rt));
    host::run(&mut c, &rt);
    status_crowd();
    c.final_summary();
}
