//! Secret hygiene: the main flows of every endpoint, in the three audience modes, with refusals,
//! Twilio failures, signed and forged room callbacks and the reaper, run in-process while the
//! real log subscriber (same format, same filter) writes every line into memory. No log line and
//! no response body may contain the API key secret, the auth token, the host password, the Basic
//! credentials built from the key, the IVS private key (any line of it), the AWS secret access
//! key, or any complete access or participant token: those minted during the run
//! appear only in the `token` field of the 200 answers that hand them out, which are left out of
//! the check.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine;
use lambda_http::Body;
use onair_integration_tests::*;
use serde_json::{Value, json};
use twilio_standin::FaultAction;

/// Where Twilio is told to send room status callbacks (nothing is delivered there).
const EVENTS_URL: &str = "https://onair.test/room_events";

/// Every log line written in this process.
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        onair_common::logging::init_with_writer(move || LogSink(sink.clone()));
        logs
    })
    .clone()
}

struct LogSink(Arc<Mutex<Vec<u8>>>);

impl Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The answers of one run: bodies to check, and the tokens handed out.
#[derive(Default)]
struct Run {
    bodies: Vec<String>,
    tokens: Vec<String>,
}

impl Run {
    /// Calls the endpoint; keeps the body, minus the `token` of a 200 from an endpoint that
    /// hands tokens out (kept aside: it may appear nowhere else).
    async fn call(
        &mut self,
        stack: &Stack,
        endpoint: Endpoint,
        req: lambda_http::Request,
    ) -> (u16, Value) {
        let (status, body) = stack.call(endpoint, req).await;
        let mut checked = body.clone();
        let hands_out_tokens = matches!(endpoint, Endpoint::HostToken | Endpoint::AudienceToken);
        if status == 200
            && hands_out_tokens
            && let Some(Value::String(token)) =
                checked.as_object_mut().and_then(|o| o.remove("token"))
        {
            self.tokens.push(token);
        }
        self.bodies.push(checked.to_string());
        (status, body)
    }
}

impl Run {
    /// `POST /host_token` with `password`.
    async fn log_in(&mut self, stack: &Stack, password: &str) -> (u16, Value) {
        self.log_in_to(stack, password, "main").await
    }

    /// A viewer finds nothing live, a wrong password is refused, then the host opens the studio
    /// of `main`: its answer and the host's token.
    async fn first_login(&mut self, stack: &Stack) -> (Value, String) {
        let (status, _) = self
            .call(stack, Endpoint::AudienceToken, post_empty())
            .await;
        assert_eq!(status, 200);
        let (status, _) = self.log_in(stack, "not it").await;
        assert_eq!(status, 401);
        let (status, login) = self.log_in(stack, HOST_PASSWORD).await;
        assert_eq!(status, 200, "{login}");
        let host_token = self.tokens.last().unwrap().clone();
        (login, host_token)
    }

    /// Opens the studio of `stream` with the password.
    async fn log_in_to(&mut self, stack: &Stack, password: &str, stream: &str) -> (u16, Value) {
        let req = post_json(json!({ "password": password, "stream": stream }));
        self.call(stack, Endpoint::HostToken, req).await
    }
}

/// One stream's life in `mode`, with the refusals and failures around it.
async fn flows(mode: &str, run: &mut Run) {
    let auth_token = twilio_standin::Account::for_tests().auth_token;
    let stack = Stack::start(&[
        ("AUDIENCE_MODE", mode),
        ("TWILIO_AUTH_TOKEN", &auth_token),
        ("ROOM_EVENTS_URL", EVENTS_URL),
    ])
    .await;
    let key = stack.standin.account().api_key_secret.clone();

    // Nothing live yet; a wrong password; the host logs in and connects.
    let (login, host_token) = run.first_login(&stack).await;
    let room = login["room"].as_str().unwrap().to_owned();
    stack
        .standin
        .connect_participant(&room, "presenter")
        .unwrap();

    // Bad input carrying the password: never echoed.
    for (content_type, body) in [
        ("text/plain", HOST_PASSWORD.to_owned()),
        (
            "application/json",
            format!("{{\"password\": \"{HOST_PASSWORD}\""),
        ),
        (
            "application/x-www-form-urlencoded",
            format!("password={HOST_PASSWORD}"),
        ),
        (
            "application/json",
            json!({ "password": HOST_PASSWORD, "x": "y".repeat(17_000) }).to_string(),
        ),
    ] {
        let req = request("POST", Some(content_type), Body::Text(body));
        let (status, _) = run.call(&stack, Endpoint::HostToken, req).await;
        assert!((400..500).contains(&status));
    }

    // Start, with the token and with the password; refused tokens.
    let (status, started) = run
        .call(&stack, Endpoint::StreamStart, bearer(&host_token))
        .await;
    assert_eq!(status, 200, "{started}");
    let (status, _) = run
        .call(
            &stack,
            Endpoint::StreamStart,
            post_json(json!({ "password": HOST_PASSWORD, "room": room })),
        )
        .await;
    assert_eq!(status, 200);
    let expired = signed_token(
        &stack,
        json!({ "identity": "presenter", "video": { "room": room } }),
        -5,
        &key,
    );
    let other_key = signed_token(
        &stack,
        json!({ "identity": "presenter", "video": { "room": room } }),
        600,
        "another-key",
    );
    for token in [&expired, &other_key] {
        let (status, _) = run.call(&stack, Endpoint::StreamStart, bearer(token)).await;
        assert_eq!(status, 401);
        run.tokens.push(token.clone());
    }
    let (status, _) = run
        .call(&stack, Endpoint::Subscribe, bearer(&host_token))
        .await;
    assert_eq!(status, 401);

    // Viewers: one connects and subscribes (room mode), one never connects.
    let (status, audience) = run
        .call(&stack, Endpoint::AudienceToken, post_empty())
        .await;
    assert_eq!(
        (status, audience["live"].as_bool()),
        (200, Some(true)),
        "{audience}"
    );
    let viewer_token = run.tokens.last().unwrap().clone();
    let viewer = audience["identity"].as_str().unwrap();
    stack.standin.connect_participant(&room, viewer).unwrap();
    let (status, _) = run
        .call(&stack, Endpoint::Subscribe, bearer(&viewer_token))
        .await;
    assert_eq!(status, if mode == "room" { 200 } else { 401 });
    run.call(&stack, Endpoint::AudienceToken, post_empty())
        .await;
    let absent_viewer = run.tokens.last().unwrap().clone();
    run.call(&stack, Endpoint::Subscribe, bearer(&absent_viewer))
        .await;

    // Twilio failing: a 500, a 401 (as after a key rotation), a 429, and a slow answer, while
    // another stream's studio opens (`main` is live: a second studio for it is a 409 before any
    // Twilio call).
    for (n, (action, path)) in [
        (FaultAction::Status(500), "/v1/Rooms"),
        (FaultAction::Status(401), "/v1/Rooms"),
        (FaultAction::Status(429), "/v1/Rooms"),
        (
            FaultAction::Delay(std::time::Duration::from_millis(700)),
            "/v1/Rooms",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        stack.standin.inject(fault("POST", path, 3, action));
        let (status, login) = run
            .log_in_to(&stack, HOST_PASSWORD, &format!("failing-{n}"))
            .await;
        assert!(status == 502 || status == 200, "{login}");
        stack.standin.clear_faults();
    }
    stack
        .standin
        .inject(fault("GET", "/v1/", 5, FaultAction::Status(503)));
    run.call(&stack, Endpoint::AudienceToken, post_empty())
        .await;
    run.call(&stack, Endpoint::StreamStart, bearer(&host_token))
        .await;
    stack.standin.clear_faults();

    // The tab closes: the beacon stops the stream; a second stop finds nothing.
    let beacon = request(
        "POST",
        Some("text/plain;charset=UTF-8"),
        Body::Text(host_token.clone()),
    );
    let (status, stopped) = run.call(&stack, Endpoint::StreamStop, beacon).await;
    assert_eq!(
        (status, stopped["stopped"].as_bool()),
        (200, Some(true)),
        "{stopped}"
    );
    let (status, _) = run
        .call(
            &stack,
            Endpoint::StreamStop,
            post_json(json!({ "password": HOST_PASSWORD })),
        )
        .await;
    assert_eq!(status, 200);

    // Twilio's callback that the room ended: signed, mis-signed and unsigned.
    let callback: Vec<(String, String)> = [
        ("AccountSid", stack.standin.account().account_sid.as_str()),
        ("RoomName", room.as_str()),
        ("RoomSid", "RM0123456789abcdef0123456789abcdef"),
        ("RoomStatus", "completed"),
        ("StatusCallbackEvent", "room-ended"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let signature = twilio_standin::signature(&auth_token, EVENTS_URL, &callback);
    let (status, body) = run
        .call(
            &stack,
            Endpoint::RoomEvents,
            post_form(&callback, Some(&signature)),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for wrong in [Some("bm90IGEgc2lnbmF0dXJl"), None] {
        let (status, _) = run
            .call(&stack, Endpoint::RoomEvents, post_form(&callback, wrong))
            .await;
        assert!((400..500).contains(&status));
    }

    // Rooms left behind by the failed logins are the reaper's.
    stack
        .standin
        .advance_clock(std::time::Duration::from_secs(3 * 3600));
    reaper::reap(&stack.app, stack.twilio_now()).await;
    stack.standin.shutdown().await;
}

/// A stream's life in `ivs` mode: the host's stage, a WHIP publish, start, viewers, IVS failing,
/// stop and the reaper. Answers the private key it ran with.
async fn ivs_flows(run: &mut Run) -> String {
    let keys = ivs_key_pair();
    let stack = Stack::ivs_with(&keys, &[("IVS_LOOKUP_SECONDS", "1")]).await;
    let (login, host_token) = run.first_login(&stack).await;
    let publisher = onair_test_support::relay_peer::Peer::publish(
        &reqwest::Client::new(),
        login["media"]["publish_url"].as_str().unwrap(),
        &host_token,
        onair_test_support::relay_peer::Load {
            webcam: false,
            ..Default::default()
        },
    )
    .await
    .expect("the host publishes");
    let (status, body) = run
        .call(&stack, Endpoint::StreamStart, bearer(&host_token))
        .await;
    assert_eq!(status, 200, "{body}");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, viewer) = run
        .call(&stack, Endpoint::AudienceToken, post_empty())
        .await;
    assert_eq!(
        (status, viewer["live"].as_bool()),
        (200, Some(true)),
        "{viewer}"
    );
    let (status, _) = run
        .call(&stack, Endpoint::StreamStart, bearer("not.a.token"))
        .await;
    assert_eq!(status, 401);
    // IVS failing.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    stack.standin.inject(fault(
        "POST",
        "/ivs/ListStages",
        1,
        FaultAction::Status(500),
    ));
    let (status, _) = run
        .call(&stack, Endpoint::AudienceToken, post_empty())
        .await;
    assert_eq!(status, 502);
    stack.standin.inject(fault(
        "POST",
        "/ivs/DeleteStage",
        1,
        FaultAction::Status(503),
    ));
    let (status, _) = run
        .call(&stack, Endpoint::StreamStop, bearer(&host_token))
        .await;
    assert_eq!(status, 502);
    let (status, _) = run
        .call(&stack, Endpoint::StreamStop, bearer(&host_token))
        .await;
    assert_eq!(status, 200);
    publisher.close().await;
    reaper::reap(&stack.app, onair_common::token::unix_now() + 24 * 3600).await;
    stack.standin.shutdown().await;
    keys.private_pem
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_or_token_reaches_a_log_line_or_a_response_body() {
    let logs = captured_logs();
    let mut run = Run::default();
    flows("room", &mut run).await;
    flows("live", &mut run).await;
    let private_pem = ivs_flows(&mut run).await;

    let account = twilio_standin::Account::for_tests();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        account.api_key_sid, account.api_key_secret
    ));
    let mut secrets = vec![
        ("the API key secret", account.api_key_secret.clone()),
        ("the auth token", account.auth_token.clone()),
        ("the host password", HOST_PASSWORD.to_owned()),
        ("the Basic credentials", basic),
        (
            "the AWS secret access key",
            twilio_standin::DEFAULT_SECRET_ACCESS_KEY.to_owned(),
        ),
    ];
    // The IVS private key, whole or any line of its body.
    for line in private_pem.lines().filter(|l| !l.starts_with("-----")) {
        secrets.push(("the IVS private key", line.to_owned()));
    }
    for token in &run.tokens {
        secrets.push(("an access token", token.clone()));
    }
    let logs = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    // The capture saw the flows: the function's own lines, failures included.
    for expected in [
        "studio room opened",
        "Twilio call failed",
        "request refused",
        "live stream started",
        "studio stage opened",
        "stage ended",
    ] {
        assert!(
            logs.contains(expected),
            "no `{expected}` line among:\n{logs}"
        );
    }
    assert!(
        run.tokens.len() >= 8 && run.bodies.len() >= 40,
        "{} tokens, {} bodies",
        run.tokens.len(),
        run.bodies.len()
    );
    for (what, secret) in &secrets {
        for line in logs.lines() {
            assert!(
                !line.contains(secret.as_str()),
                "{what} in a log line: {line}"
            );
        }
        for body in &run.bodies {
            assert!(
                !body.contains(secret.as_str()),
                "{what} in a response body: {body}"
            );
        }
    }
    println!(
        "secret hygiene: {} log lines, {} bodies, {} tokens checked",
        logs.lines().count(),
        run.bodies.len(),
        run.tokens.len()
    );
}
