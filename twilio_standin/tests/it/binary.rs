//! The `twilio-standin` binary: prints where it listens, takes its account from the
//! environment, logs one line per request without secrets, stops cleanly on SIGTERM, and
//! refuses bad arguments with exit status 2.
#![cfg(unix)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills the child if a test fails before stopping it.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// The binary with `args` (and whatever else `setup` sets, such as the environment and
/// stderr), started; with the base URL its first line announces.
pub fn listening(args: &[&str], setup: impl FnOnce(&mut Command)) -> (Running, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_twilio-standin"));
    command.args(args).stdout(Stdio::piped());
    setup(&mut command);
    let mut running = Running(command.spawn().expect("the binary starts"));
    let stdout = running.0.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("a first line");
    let base = line
        .trim()
        .strip_prefix("twilio stand-in listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (running, base)
}

/// Runs the binary with `args`, which it must refuse with exit status 2: what it wrote to
/// stderr.
pub fn refused_with_status_2(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_twilio-standin"))
        .args(args)
        .output()
        .expect("the binary runs");
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const SID: &str = "AC11111111111111111111111111111111";
const TOKEN: &str = "binarytesttoken00000000000000000";

#[tokio::test]
async fn the_binary_serves_logs_and_stops_on_sigterm() {
    let (mut running, base) = listening(
        &["--bind", "127.0.0.1", "--port", "0", "--media-port", "0"],
        |command| {
            command
                .env("STANDIN_ACCOUNT_SID", SID)
                .env("STANDIN_AUTH_TOKEN", TOKEN)
                .stderr(Stdio::piped());
        },
    );
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");

    let http = reqwest::Client::new();
    let ok = http
        .get(format!("{base}/v1/Rooms"))
        .basic_auth(SID, Some(TOKEN))
        .send()
        .await
        .expect("answer");
    assert_eq!(
        ok.status().as_u16(),
        200,
        "credentials from the environment"
    );
    let defaults = twilio_standin::Account::for_tests();
    let old = http
        .get(format!("{base}/v1/Rooms"))
        .basic_auth(&defaults.account_sid, Some(&defaults.auth_token))
        .send()
        .await
        .expect("answer");
    assert_eq!(old.status().as_u16(), 401, "the defaults were replaced");
    // The API key pair was not set, so it keeps its default.
    let key = http
        .get(format!("{base}/v1/Rooms"))
        .basic_auth(&defaults.api_key_sid, Some(&defaults.api_key_secret))
        .send()
        .await
        .expect("answer");
    assert_eq!(key.status().as_u16(), 200);
    drop(http);

    let pid = running.0.id().to_string();
    let sent = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = running.0.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "still running 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status {status}");

    let mut log = String::new();
    running
        .0
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut log)
        .expect("readable log");
    assert_eq!(log.matches("GET /v1/Rooms -> 200").count(), 2, "{log}");
    assert_eq!(log.matches("GET /v1/Rooms -> 401").count(), 1, "{log}");
    assert!(
        log.contains("media relay (WHIP/WHEP under http://127.0.0.1:")
            && log.contains("/media) on udp 127.0.0.1:"),
        "the relay's addresses are logged: {log}"
    );
    for secret in [
        TOKEN,
        defaults.auth_token.as_str(),
        defaults.api_key_secret.as_str(),
    ] {
        assert!(!log.contains(secret), "a secret reached the log");
    }
    assert!(
        !log.to_ascii_lowercase().contains("basic "),
        "an auth header reached the log"
    );
}

#[test]
fn bad_arguments_exit_with_status_2() {
    for args in [
        &["--port", "http"][..],
        &["--bind", "localhost:1"],
        &["--verbose"],
        &["--port"],
        &["--media-port", "udp"],
        &["--media-ip", "0.0.0.0"],
        &["--media-ip", "phone.local"],
    ] {
        assert!(refused_with_status_2(args).contains("usage"), "{args:?}");
    }
}
