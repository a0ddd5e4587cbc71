//! The waiting crowd at the edge: viewers poll `GET /status/<stream>` once a second, each at its
//! own phase, through the dev server (`onair-dev-server`, the release binary, whose copy of
//! CloudFront's status cache is `dev_server/src/edge_cache.rs`) in front of the `stream_status`
//! handler, which a small HTTP server in this process runs against the Twilio stand-in, counting
//! its invocations per stream. Two streams: `main` with its host in the studio (`ready`) and
//! `talk-2` offline. The figure is function invocations per second per stream, which
//! docs/ARCHITECTURE.md (The path of a request) bounds at one per edge, however many wait.

use std::collections::HashMap;
use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body as AxumBody;
use axum::extract::{Request, State};
use axum::response::Response as AxumResponse;
use axum::routing::any;
use lambda_http::Body;
use onair_common::App;
use onair_test_support::request::{get, post_json};
use serde_json::{Value, json};

use crate::fixture::{HOST_PASSWORD, Upstream};

/// Viewers per stream (`ONAIR_STATUS_VIEWERS` sets another count), how long they poll, and how
/// often each asks.
const VIEWERS_PER_STREAM: usize = 500;
const POLL_SECS: u64 = 30;
const POLL_EVERY: Duration = Duration::from_secs(1);
const STREAMS: [&str; 2] = ["main", "talk-2"];

/// When the function was invoked, per stream.
type Invocations = Arc<Mutex<HashMap<String, Vec<Instant>>>>;

struct Function {
    app: App,
    invocations: Invocations,
}

/// The function as API Gateway would call it: the path in, its answer out, each call counted.
async fn invoke(State(function): State<Arc<Function>>, req: Request) -> AxumResponse {
    let path = req.uri().path().to_owned();
    let stream = path.trim_start_matches("/status/").to_owned();
    function
        .invocations
        .lock()
        .unwrap()
        .entry(stream)
        .or_default()
        .push(Instant::now());
    let answer = stream_status::handle(&function.app, get(&path)).await;
    let (parts, body) = answer.into_parts();
    let bytes = match body {
        Body::Text(text) => text.into_bytes(),
        Body::Binary(bytes) => bytes,
        _ => Vec::new(),
    };
    AxumResponse::from_parts(parts, AxumBody::from(bytes))
}

/// The dev server, stopped when dropped.
struct DevServer(Child);

impl Drop for DevServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let listener = StdListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

/// `onair-dev-server` next to this binary (bench/run.sh builds both), or `$ONAIR_DEV_SERVER`.
fn dev_server_binary() -> PathBuf {
    std::env::var_os("ONAIR_DEV_SERVER").map_or_else(
        || {
            let me = std::env::current_exe().expect("this binary's path");
            me.with_file_name("onair-dev-server")
        },
        PathBuf::from,
    )
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// The most invocations within any one second (a window starting at each invocation).
fn most_in_one_second(times: &[Instant]) -> usize {
    (0..times.len())
        .map(|i| {
            times[i..]
                .iter()
                .take_while(|t| t.duration_since(times[i]) < Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap_or(0)
}

pub fn run() -> Value {
    let upstream = Upstream::start();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("the crowd's runtime starts");
    runtime.block_on(crowd(&upstream))
}

async fn crowd(upstream: &Upstream) -> Value {
    let app = upstream.app(&[]);
    // The host of `main` opens its studio: the stream is `ready` (viewers of room mode wait in it).
    let opened = host_token::handle(
        &app,
        post_json(json!({ "password": HOST_PASSWORD, "stream": STREAMS[0] })),
    )
    .await;
    assert_eq!(opened.status(), 200, "the studio of main opens");

    let invocations = Invocations::default();
    let function = Arc::new(Function {
        app,
        invocations: invocations.clone(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("the function's port");
    let api = format!("http://{}", listener.local_addr().expect("its address"));
    let service = Router::new().fallback(any(invoke)).with_state(function);
    tokio::spawn(async move { axum::serve(listener, service).await });

    let port = free_port();
    let _dev = DevServer(
        Command::new(dev_server_binary())
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args([
                "--static",
                "static",
                "--api",
                &api,
                "--media",
                "http://127.0.0.1:9",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "onair-dev-server starts (build it: cargo build --release -p onair-dev-server)",
            ),
    );
    let edge = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while client
        .get(format!("{edge}/index.html"))
        .send()
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "the dev server answers within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    invocations.lock().unwrap().clear();

    // Each viewer starts at its own point of the first second, then asks once a second.
    let started = Instant::now();
    let per_stream = std::env::var("ONAIR_STATUS_VIEWERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(VIEWERS_PER_STREAM);
    let viewers = per_stream * STREAMS.len();
    let mut tasks = Vec::with_capacity(viewers);
    for viewer in 0..viewers {
        let stream = STREAMS[viewer % STREAMS.len()];
        let url = format!("{edge}/status/{stream}");
        let client = client.clone();
        let phase = POLL_EVERY * viewer as u32 / viewers as u32;
        tasks.push(tokio::spawn(async move {
            let mut ticks = tokio::time::interval_at((started + phase).into(), POLL_EVERY);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut seen = Vec::new();
            while started.elapsed() < Duration::from_secs(POLL_SECS) {
                ticks.tick().await;
                let asked = Instant::now();
                let answer = client
                    .get(&url)
                    .send()
                    .await
                    .expect("the dev server answers");
                let hit = answer
                    .headers()
                    .get("x-cache")
                    .is_some_and(|v| v.to_str().is_ok_and(|v| v.starts_with("Hit")));
                let ok = answer.status() == 200 && answer.bytes().await.is_ok();
                seen.push((asked.elapsed(), hit, ok));
            }
            (stream, seen)
        }));
    }
    let mut seen_by: HashMap<&str, (Vec<Duration>, usize, usize)> = HashMap::new();
    for task in tasks {
        let (stream, seen) = task.await.expect("a viewer finishes");
        let entry = seen_by.entry(stream).or_default();
        for (latency, hit, ok) in seen {
            entry.0.push(latency);
            entry.1 += usize::from(hit);
            entry.2 += usize::from(!ok);
        }
    }
    let span = started.elapsed().as_secs_f64();
    let invocations = invocations.lock().unwrap().clone();
    let streams: serde_json::Map<String, Value> = STREAMS
        .iter()
        .map(|stream| {
            let (mut latencies, hits, failed) = seen_by.remove(stream).unwrap_or_default();
            latencies.sort();
            let calls = invocations.get(*stream).cloned().unwrap_or_default();
            let report = json!({
                "viewers": per_stream,
                "requests": latencies.len(),
                "requests_per_sec": latencies.len() as f64 / span,
                "hits": hits,
                "failed": failed,
                "invocations": calls.len(),
                "invocations_per_sec": calls.len() as f64 / span,
                "most_invocations_in_one_sec": most_in_one_second(&calls),
                "latency_ms": {
                    "p50": percentile(&latencies, 0.5),
                    "p90": percentile(&latencies, 0.9),
                    "max": percentile(&latencies, 1.0),
                },
            });
            ((*stream).to_owned(), report)
        })
        .collect();
    json!({
        "viewers": viewers,
        "poll_every_secs": POLL_EVERY.as_secs(),
        "span_secs": span,
        "streams": streams,
    })
}
