//! What the benchmarks share: criterion set up with the CPU clock, the Twilio stand-in on a
//! thread of its own (with its IVS API for `ivs` mode), an [`App`] configured against it as a
//! deployed function is (settings and secrets from a key-value source, `onair_test_support::app`),
//! and where results are written.
//! Requests and answers: `onair_test_support::request`.

use std::path::PathBuf;
use std::time::Duration;

use criterion::Criterion;
use onair_common::App;
use onair_test_support::app::{self, Source};
use onair_test_support::ivs_keys::KeyPair;
use twilio_standin::{Account, StandIn};

use crate::cpu_clock::ThreadCpuTime;

pub const HOST_PASSWORD: &str = "bench-host-password";
pub const HOST_IDENTITY: &str = "host";

/// Criterion with the calling thread's CPU time as its clock, short enough for bench/run.sh.
pub fn criterion() -> Criterion<ThreadCpuTime> {
    Criterion::default()
        .with_measurement(ThreadCpuTime)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
        .configure_from_args()
}

/// The Twilio stand-in, served by a one-worker runtime so that its work never runs on (nor is
/// counted against) the benchmark's thread. Dropping it stops the server.
pub struct Upstream {
    pub standin: StandIn,
    /// Serves the stand-in; held only to be dropped with it.
    _runtime: tokio::runtime::Runtime,
}

impl Upstream {
    pub fn start() -> Upstream {
        Upstream::serve(StandIn::start(Account::for_tests()))
    }

    /// Runs `starting` (a stand-in starting) on a one-worker runtime of its own, which then
    /// serves it.
    fn serve(starting: impl Future<Output = std::io::Result<StandIn>>) -> Upstream {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("the stand-in's runtime starts");
        let standin = runtime.block_on(starting).expect("the stand-in starts");
        Upstream {
            standin,
            _runtime: runtime,
        }
    }

    /// An App against this stand-in with the defaults a deployment has, plus `extra`.
    pub fn app(&self, extra: &[(&str, &str)]) -> App {
        let source = app::with(app::standin_source(&self.standin), &HOST);
        app::app(&app::with(source, extra))
    }

    /// The stand-in with its IVS API too, the public half of `keys` imported at start (as the
    /// stack imports it into IVS).
    pub fn start_ivs(keys: &KeyPair) -> Upstream {
        Upstream::serve(app::start_ivs_standin(keys))
    }

    /// An `ivs` mode App against this stand-in (started by [`Upstream::start_ivs`] with `keys`).
    pub fn ivs_app(&self, keys: &KeyPair) -> App {
        let mut source = app::with(app::standin_source(&self.standin), &HOST);
        source.extend(app::ivs_source(&self.standin, &keys.private_pem));
        app::ivs_app(&source)
    }

    /// Twilio calls received so far.
    pub fn calls(&self) -> usize {
        self.standin.calls().len()
    }
}

/// The bench's host password and identity, as a function's environment holds them.
const HOST: [(&str, &str); 2] = [
    ("HOST_PASSWORD", HOST_PASSWORD),
    ("HOST_IDENTITY", HOST_IDENTITY),
];

/// Settings and secrets as a function's environment holds them: the stand-in's test account,
/// the bench's host password and identity, plus `extra`.
pub fn source(extra: &[(&str, &str)]) -> Source {
    app::with(
        app::with(app::credentials(&Account::for_tests()), &HOST),
        extra,
    )
}

/// The runtime a Lambda function runs its handler on: one thread, this one.
pub fn handler_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("the handler's runtime starts")
}

/// Where bench/run.sh collects results (`ONAIR_BENCH_OUT`), if it is set.
pub fn out_dir() -> Option<PathBuf> {
    std::env::var_os("ONAIR_BENCH_OUT").map(PathBuf::from)
}

/// Writes `value` as `<ONAIR_BENCH_OUT>/<name>.json` (if set) and prints it.
pub fn report(name: &str, value: &serde_json::Value) {
    println!("{name}: {value}");
    if let Some(dir) = out_dir() {
        std::fs::create_dir_all(&dir).expect("the results folder can be made");
        std::fs::write(dir.join(format!("{name}.json")), value.to_string())
            .expect("the results can be written");
    }
}
