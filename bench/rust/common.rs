//! What the function crates' benchmarks share (included with `#[path]` by
//! `functions/<name>/benches/<name>.rs`): a criterion measurement of the calling thread's CPU
//! time, the Twilio stand-in on a thread of its own, an [`App`] configured against it as a
//! deployed function is (settings and secrets from a key-value source), and requests.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{Criterion, Throughput};
use lambda_http::{Body, Request};
use onair_common::App;
use onair_common::config::{Secrets, Settings};
use onair_common::secret_store::SecretStore;
use twilio_standin::{Account, StandIn};

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
    runtime: tokio::runtime::Runtime,
}

impl Upstream {
    pub fn start() -> Upstream {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("the stand-in's runtime starts");
        let standin = runtime
            .block_on(StandIn::start(Account::for_tests()))
            .expect("the stand-in starts");
        Upstream { standin, runtime }
    }

    /// An App against this stand-in with the defaults a deployment has, plus `extra`.
    pub fn app(&self, extra: &[(&str, &str)]) -> App {
        let base = self.standin.base_url();
        let mut source = source(&[
            ("TWILIO_VIDEO_BASE_URL", base.as_str()),
            ("TWILIO_MEDIA_BASE_URL", base.as_str()),
        ]);
        source.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let settings = Settings::from_source(&source).expect("bench settings parse");
        let secrets = Secrets::from_source(&source).expect("bench secrets parse");
        App::new(settings, SecretStore::fixed(secrets))
    }

    /// Twilio calls received so far.
    pub fn calls(&self) -> usize {
        self.standin.calls().len()
    }
}

/// Settings and secrets as a function's environment holds them: the stand-in's test account,
/// the bench's host password and identity, plus `extra`.
pub fn source(extra: &[(&str, &str)]) -> HashMap<String, String> {
    let account = Account::for_tests();
    [
        ("TWILIO_ACCOUNT_SID", account.account_sid.as_str()),
        ("TWILIO_API_KEY_SID", account.api_key_sid.as_str()),
        ("TWILIO_API_KEY_SECRET", account.api_key_secret.as_str()),
        ("HOST_PASSWORD", HOST_PASSWORD),
        ("HOST_IDENTITY", HOST_IDENTITY),
    ]
    .iter()
    .chain(extra)
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The runtime a Lambda function runs its handler on: one thread, this one.
pub fn handler_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("the handler's runtime starts")
}

/// A `POST` as API Gateway hands it to a function.
pub fn post(body: Option<&str>) -> Request {
    let builder = lambda_http::http::Request::builder()
        .method("POST")
        .uri("https://onair.bench/endpoint");
    match body {
        Some(json) => builder
            .header("content-type", "application/json")
            .body(Body::Text(json.to_owned())),
        None => builder.body(Body::Empty),
    }
    .expect("a valid request")
}

/// Status and JSON body of a handler's answer.
pub fn answer(response: lambda_http::Response<Body>) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let body = match response.body() {
        Body::Text(text) => serde_json::from_str(text).expect("the answer is JSON"),
        other => panic!("unexpected body {other:?}"),
    };
    (status, body)
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

/// CPU time of the calling thread (`CLOCK_THREAD_CPUTIME_ID`), in nanoseconds: what one
/// request costs the function's single thread, without time spent waiting.
pub struct ThreadCpuTime;

fn thread_cpu_nanos() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; this clock id exists on every Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "CLOCK_THREAD_CPUTIME_ID is readable");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

impl Measurement for ThreadCpuTime {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        thread_cpu_nanos()
    }
    fn end(&self, started: u64) -> u64 {
        thread_cpu_nanos().saturating_sub(started)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, value: &u64) -> f64 {
        *value as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = if typical < 1e3 {
            (1.0, "ns cpu")
        } else if typical < 1e6 {
            (1e-3, "µs cpu")
        } else if typical < 1e9 {
            (1e-6, "ms cpu")
        } else {
            (1e-9, "s cpu")
        };
        values.iter_mut().for_each(|v| *v *= factor);
        unit
    }

    fn scale_throughputs(
        &self,
        typical: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let per_iteration = match *throughput {
            Throughput::Elements(n) => n as f64,
            Throughput::Bytes(n) | Throughput::BytesDecimal(n) => n as f64,
            Throughput::Bits(n) => n as f64,
            Throughput::ElementsAndBytes { elements, .. } => elements as f64,
        };
        let (factor, unit) = if per_iteration * 1e9 / typical < 1e3 {
            (1.0, "/s cpu")
        } else if per_iteration * 1e9 / typical < 1e6 {
            (1e-3, "K/s cpu")
        } else {
            (1e-6, "M/s cpu")
        };
        values
            .iter_mut()
            .for_each(|v| *v = per_iteration * 1e9 / *v * factor);
        unit
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}
