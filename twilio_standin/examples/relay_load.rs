//! Load harness for the media relay: a stream (1 publisher and N viewers) or a meeting (N
//! participants, each publishing camera and microphone and watching every other) runs through a
//! stand-in for a fixed time, and the stand-in's process CPU time, peak memory and forwarded
//! packets are printed as tables (recorded in docs/RELAY.md).
//!
//! ```text
//! cargo run --release -p twilio-standin --example relay_load -- --viewers 1,5,10 --seconds 30
//! cargo run --release -p twilio-standin --example relay_load -- --meeting 4,8 --seconds 30
//! ```
//!
//! The stand-in runs in a child process (this same executable with `--serve`, which starts the
//! library's `StandIn` exactly as the `twilio-standin` binary does: a 2-worker runtime), so its
//! CPU (`/proc/<pid>/stat` utime + stime, over the measuring window only) and peak resident
//! memory (`VmHWM`, since start) are its own. The peers (str0m, in
//! `onair_test_support::relay_peer`) run in this process; on a 2-core machine they compete with
//! the relay for the CPU.
//! Linux only (reads `/proc`).

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use twilio_standin::{AccessToken, Account, StandIn};

use onair_test_support::relay_peer::{Load, Peer, Shape};

const USAGE: &str = "usage: relay_load [--viewers 1,5,10] [--meeting 4,8] [--seconds 30] (default: --viewers 1,5,10)";

/// How long setting a run up may take before the harness gives up.
const SETUP_LIMIT: Duration = Duration::from_secs(60);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        serve();
        return;
    }
    let mut viewers: Option<Vec<usize>> = None;
    let mut meetings: Vec<usize> = Vec::new();
    let mut seconds: u64 = 30;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .unwrap_or_else(|| fail(&format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--viewers" => viewers = Some(numbers(arg, &value())),
            "--meeting" => meetings = numbers(arg, &value()),
            "--seconds" => {
                seconds = value()
                    .parse()
                    .unwrap_or_else(|_| fail("--seconds: a number"))
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return;
            }
            other => fail(&format!("unknown argument {other}")),
        }
    }
    if meetings.iter().any(|&n| n < 2) {
        fail("--meeting: at least 2 participants");
    }
    let viewers = viewers.unwrap_or_else(|| {
        if meetings.is_empty() {
            vec![1, 5, 10]
        } else {
            Vec::new()
        }
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let window = Duration::from_secs(seconds);
    let mut streams = Vec::new();
    for n in viewers {
        eprintln!("relay_load: 1 publisher, {n} viewers, {seconds} s ...");
        streams.push(runtime.block_on(stream(n, window)));
    }
    let mut calls = Vec::new();
    for n in meetings {
        eprintln!("relay_load: a meeting of {n}, {seconds} s ...");
        calls.push(runtime.block_on(meeting(n, window)));
    }
    if !streams.is_empty() {
        println!(
            "\n1 publisher (screen 30 fps x 3 packets + webcam 30 fps x 1 packet of 1000 B, audio 50 x 120 B per s), {seconds} s per row\n"
        );
        print_table("viewers", &streams);
    }
    if !calls.is_empty() {
        println!(
            "\nMeetings: each participant publishes camera 30 fps x 2 packets of 1000 B and audio 50 x 120 B per s, and watches every other participant; {seconds} s per row\n"
        );
        print_table("participants (sessions)", &calls);
    }
}

fn numbers(arg: &str, list: &str) -> Vec<usize> {
    list.split(',')
        .map(|v| {
            v.trim()
                .parse()
                .unwrap_or_else(|_| fail(&format!("{arg}: numbers")))
        })
        .collect()
}

fn fail(message: &str) -> ! {
    eprintln!("relay_load: {message}\n{USAGE}");
    std::process::exit(2);
}

/// Child mode: a stand-in on 127.0.0.1 until stdin closes.
fn serve() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let standin = StandIn::start(Account::for_tests())
            .await
            .expect("the stand-in starts");
        println!("{}", standin.base_url());
        // Ends when the parent closes our stdin (or dies).
        let _ = tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
        })
        .await;
        standin.shutdown().await;
    });
}

struct Row {
    /// What ran: the viewer count, or the participant count and the session count.
    label: String,
    window: Duration,
    cpu: Duration,
    hwm_kib: u64,
    received: u64,
    forwarded: u64,
    bytes_forwarded: u64,
    viewer_packets: u64,
    setup: Duration,
}

/// The stand-in child; killed when dropped (also when a run panics).
struct Server {
    child: Child,
    base: String,
    http: reqwest::Client,
    account: Account,
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts this executable with `--serve` and reads the base URL it prints.
    fn spawn() -> Server {
        let exe = std::env::current_exe().expect("this executable");
        let mut child = Command::new(exe)
            .arg("--serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the stand-in child starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the base URL");
        Server {
            child,
            base: line.trim().to_owned(),
            http: reqwest::Client::new(),
            account: Account::for_tests(),
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Creates the room `name`; answers its sid.
    async fn create_room(&self, name: &str) -> String {
        let created: Value = self
            .http
            .post(format!("{}/v1/Rooms", self.base))
            .basic_auth(&self.account.account_sid, Some(&self.account.auth_token))
            .form(&[("UniqueName", name), ("Type", "group")])
            .send()
            .await
            .expect("room created")
            .json()
            .await
            .expect("JSON");
        created["sid"].as_str().expect("a room sid").to_owned()
    }

    fn token(&self, identity: &str, room: &str) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        AccessToken::video(identity, room, now, 3600).sign(&self.account)
    }

    async fn publish(&self, identity: &str, room: &str, query: &str, load: Load) -> Peer {
        let peer = Peer::publish(
            &self.http,
            &format!("{}/media/whip/{room}{query}", self.base),
            &self.token(identity, room),
            load,
        )
        .await
        .expect("WHIP accepted");
        peer.wait_for("a publisher to connect", SETUP_LIMIT, |c| c.connected)
            .await;
        peer
    }

    async fn watch(&self, identity: &str, room: &str, query: &str) -> Peer {
        let peer = Peer::watch(
            &self.http,
            &format!("{}/media/whep/{room}{query}", self.base),
            &self.token(identity, room),
        )
        .await
        .expect("WHEP accepted");
        peer.wait_for("a viewer to connect", SETUP_LIMIT, |c| c.connected)
            .await;
        peer
    }

    async fn relay_stats(&self) -> Value {
        self.http
            .get(format!("{}/__standin/media", self.base))
            .send()
            .await
            .expect("the control API answers")
            .json::<Value>()
            .await
            .expect("JSON")["stats"]
            .clone()
    }

    /// Measures the relay over `window` while `viewers` receive; closes every peer after.
    async fn measure(
        self,
        label: String,
        started: Instant,
        publishers: Vec<Peer>,
        viewers: Vec<Peer>,
        window: Duration,
    ) -> Row {
        let setup = started.elapsed();
        let pid = self.pid();
        let received = |peers: &[Peer]| -> u64 {
            peers
                .iter()
                .map(|v| v.counts().received.iter().sum::<u64>())
                .sum()
        };
        let cpu0 = cpu_time(pid);
        let stats0 = self.relay_stats().await;
        let got0 = received(&viewers);
        let t0 = Instant::now();
        tokio::time::sleep(window).await;
        let elapsed = t0.elapsed();
        let cpu = cpu_time(pid).saturating_sub(cpu0);
        let stats1 = self.relay_stats().await;
        let got1 = received(&viewers);
        let hwm_kib = peak_rss_kib(pid);
        let delta = |k: &str| stats1[k].as_u64().unwrap_or(0) - stats0[k].as_u64().unwrap_or(0);
        for p in viewers.into_iter().chain(publishers) {
            p.close().await;
        }
        Row {
            label,
            window: elapsed,
            cpu,
            hwm_kib,
            received: delta("packets_received"),
            forwarded: delta("packets_forwarded"),
            bytes_forwarded: delta("bytes_forwarded"),
            viewer_packets: got1 - got0,
            setup,
        }
    }
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// utime + stime of `pid` (all its threads).
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/<pid>/stat");
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let after = &stat[stat.rfind(')').expect("a stat line") + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 =
        fields[11].parse::<u64>().unwrap_or(0) + fields[12].parse::<u64>().unwrap_or(0);
    Duration::from_secs_f64(ticks as f64 / clock_ticks_per_second())
}

/// Peak resident set size of `pid` in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// A stream room: one host (screen, microphone, webcam) and `viewers` viewers by rules.
async fn stream(viewers: usize, window: Duration) -> Row {
    let started = Instant::now();
    let server = Server::spawn();
    let room = format!("livestream-load{viewers}");
    let room_sid = server.create_room(&room).await;
    let host = server.publish("host", &room, "", Load::default()).await;
    let mut peers = Vec::new();
    for i in 0..viewers {
        let identity = format!("viewer-{i}");
        peers.push(server.watch(&identity, &room, "").await);
        let status = server
            .http
            .post(format!(
                "{}/v1/Rooms/{room_sid}/Participants/{identity}/SubscribeRules",
                server.base
            ))
            .basic_auth(
                &server.account.account_sid,
                Some(&server.account.auth_token),
            )
            .form(&[("Rules", r#"[{"type":"include","publisher":"host"}]"#)])
            .send()
            .await
            .expect("rules set")
            .status();
        assert_eq!(status.as_u16(), 200);
    }
    for v in &peers {
        v.wait_for("media at every viewer", SETUP_LIMIT, |c| {
            c.received.iter().all(|&r| r > 0)
        })
        .await;
    }
    server
        .measure(viewers.to_string(), started, vec![host], peers, window)
        .await
}

/// A meeting room: `people` participants, each a camera session and a WHEP session per other.
async fn meeting(people: usize, window: Duration) -> Row {
    let started = Instant::now();
    let server = Server::spawn();
    let room = format!("meeting-load{people:08}");
    server.create_room(&room).await;
    let camera = Load {
        shape: Shape::Camera,
        webcam_packets: 2,
        ..Load::default()
    };
    let identity = |i: usize| format!("{i:08x}.person-{i}");
    let mut cameras = Vec::new();
    for i in 0..people {
        let load = Load {
            origin: u8::try_from(i).unwrap_or(u8::MAX),
            ..camera
        };
        cameras.push(server.publish(&identity(i), &room, "", load).await);
    }
    let mut watchers = Vec::new();
    for i in 0..people {
        for j in (0..people).filter(|&j| j != i) {
            let query = format!("?publisher={}", identity(j));
            watchers.push(server.watch(&identity(i), &room, &query).await);
        }
    }
    for w in &watchers {
        w.wait_for("camera and microphone at every watcher", SETUP_LIMIT, |c| {
            c.received[1] > 0 && c.received[2] > 0
        })
        .await;
    }
    let label = format!("{people} ({} sessions)", cameras.len() + watchers.len());
    server
        .measure(label, started, cameras, watchers, window)
        .await
}

fn print_table(what: &str, rows: &[Row]) {
    println!(
        "| {what} | relay CPU time | relay CPU (% of one core) | peak RSS (VmHWM) | packets in | packets forwarded | forwarded/s | Mbit/s out | received by viewers | setup |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let secs = r.window.as_secs_f64();
        println!(
            "| {} | {:.2} s | {:.1} % | {:.1} MiB | {} | {} | {:.0} | {:.1} | {} ({:.1} %) | {:.1} s |",
            r.label,
            r.cpu.as_secs_f64(),
            100.0 * r.cpu.as_secs_f64() / secs,
            r.hwm_kib as f64 / 1024.0,
            r.received,
            r.forwarded,
            r.forwarded as f64 / secs,
            r.bytes_forwarded as f64 * 8.0 / secs / 1e6,
            r.viewer_packets,
            if r.forwarded > 0 {
                100.0 * r.viewer_packets as f64 / r.forwarded as f64
            } else {
                0.0
            },
            r.setup.as_secs_f64(),
        );
    }
}
