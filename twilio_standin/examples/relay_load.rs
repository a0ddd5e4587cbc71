//! Load harness for the media relay: 1 publisher and N viewers stream through a stand-in for a
//! fixed time, and the stand-in's process CPU time, peak memory and forwarded packets are
//! printed as a table (recorded in docs/RELAY.md).
//!
//! ```text
//! cargo run --release -p twilio-standin --example relay_load -- --viewers 1,5,10 --seconds 30
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

use onair_test_support::relay_peer::{Load, Peer};

const USAGE: &str = "usage: relay_load [--viewers 1,5,10] [--seconds 30]";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        serve();
        return;
    }
    let mut viewers: Vec<usize> = vec![1, 5, 10];
    let mut seconds: u64 = 30;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .unwrap_or_else(|| fail(&format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--viewers" => {
                viewers = value()
                    .split(',')
                    .map(|v| {
                        v.trim()
                            .parse()
                            .unwrap_or_else(|_| fail("--viewers: numbers"))
                    })
                    .collect();
            }
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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let mut rows = Vec::new();
    for n in viewers {
        eprintln!("relay_load: 1 publisher, {n} viewers, {seconds} s ...");
        rows.push(runtime.block_on(run(n, Duration::from_secs(seconds))));
    }
    print_table(&rows, seconds);
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
    viewers: usize,
    window: Duration,
    cpu: Duration,
    hwm_kib: u64,
    received: u64,
    forwarded: u64,
    bytes_forwarded: u64,
    viewer_packets: u64,
    setup: Duration,
}

/// Kills the child when dropped (also when a run panics).
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
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

async fn relay_stats(http: &reqwest::Client, base: &str) -> Value {
    http.get(format!("{base}/__standin/media"))
        .send()
        .await
        .expect("the control API answers")
        .json::<Value>()
        .await
        .expect("JSON")["stats"]
        .clone()
}

async fn run(viewers: usize, window: Duration) -> Row {
    let started = Instant::now();
    let exe = std::env::current_exe().expect("this executable");
    let mut child = Command::new(exe)
        .arg("--serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the stand-in child starts");
    let stdout = child.stdout.take().expect("stdout");
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the base URL");
    let base = line.trim().to_owned();
    let pid = server.0.id();

    let account = Account::for_tests();
    let http = reqwest::Client::new();
    let room = format!("livestream-load{viewers}");
    let created: Value = http
        .post(format!("{base}/v1/Rooms"))
        .basic_auth(&account.account_sid, Some(&account.auth_token))
        .form(&[("UniqueName", room.as_str()), ("Type", "group")])
        .send()
        .await
        .expect("room created")
        .json()
        .await
        .expect("JSON");
    let room_sid = created["sid"].as_str().expect("a room sid").to_owned();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let token = |identity: &str| AccessToken::video(identity, &room, now, 3600).sign(&account);

    let limit = Duration::from_secs(30);
    let host = Peer::publish(
        &http,
        &format!("{base}/media/whip/{room}"),
        &token("host"),
        Load::default(),
    )
    .await
    .expect("WHIP accepted");
    host.wait_for("the publisher to connect", limit, |c| c.connected)
        .await;
    let mut peers = Vec::new();
    for i in 0..viewers {
        let identity = format!("viewer-{i}");
        let v = Peer::watch(
            &http,
            &format!("{base}/media/whep/{room}"),
            &token(&identity),
        )
        .await
        .expect("WHEP accepted");
        v.wait_for("a viewer to connect", limit, |c| c.connected)
            .await;
        let status = http
            .post(format!(
                "{base}/v1/Rooms/{room_sid}/Participants/{identity}/SubscribeRules"
            ))
            .basic_auth(&account.account_sid, Some(&account.auth_token))
            .form(&[("Rules", r#"[{"type":"include","publisher":"host"}]"#)])
            .send()
            .await
            .expect("rules set")
            .status();
        assert_eq!(status.as_u16(), 200);
        peers.push(v);
    }
    for v in &peers {
        v.wait_for("media at every viewer", limit, |c| {
            c.received.iter().all(|&r| r > 0)
        })
        .await;
    }
    let setup = started.elapsed();

    // The measuring window.
    let cpu0 = cpu_time(pid);
    let stats0 = relay_stats(&http, &base).await;
    let got0: u64 = peers
        .iter()
        .map(|v| v.counts().received.iter().sum::<u64>())
        .sum();
    let t0 = Instant::now();
    tokio::time::sleep(window).await;
    let elapsed = t0.elapsed();
    let cpu = cpu_time(pid).saturating_sub(cpu0);
    let stats1 = relay_stats(&http, &base).await;
    let got1: u64 = peers
        .iter()
        .map(|v| v.counts().received.iter().sum::<u64>())
        .sum();
    let hwm_kib = peak_rss_kib(pid);
    let delta = |k: &str| stats1[k].as_u64().unwrap_or(0) - stats0[k].as_u64().unwrap_or(0);

    for v in peers {
        v.close().await;
    }
    host.close().await;
    drop(server);
    Row {
        viewers,
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

fn print_table(rows: &[Row], seconds: u64) {
    println!(
        "\n1 publisher (screen 30 fps x 3 packets + webcam 30 fps x 1 packet of 1000 B, audio 50 x 120 B per s), {seconds} s per row\n"
    );
    println!(
        "| viewers | relay CPU time | relay CPU (% of one core) | peak RSS (VmHWM) | packets in | packets forwarded | forwarded/s | Mbit/s out | received by viewers | setup |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let secs = r.window.as_secs_f64();
        println!(
            "| {} | {:.2} s | {:.1} % | {:.1} MiB | {} | {} | {:.0} | {:.1} | {} ({:.1} %) | {:.1} s |",
            r.viewers,
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
