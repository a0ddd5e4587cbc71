//! Fuzzing whole handlers: every endpoint (`ENDPOINTS`), in room and live mode, in-process against the
//! stand-in, with generated requests (methods, content types, bodies, and credentials that are
//! right, stale, edited or junk, presented as a bearer header, in JSON or as a beacon's text;
//! meeting invites with generated names).
//! No answer is a 5xx or a panic; every answer is JSON and every error has the error shape; a
//! request refused at the edge or by its credentials costs no Twilio call.
//!
//! Cases: `ONAIR_FUZZ_HANDLER_CASES` per mode (default 2,000); the request corpus of
//! `functions/common/fuzz-corpus` is replayed against every endpoint first.

use std::sync::Mutex;
use std::time::Duration;

use lambda_http::{Body, Request};
use onair_integration_tests::*;
use onair_test_support::fuzz::*;
use proptest::prelude::*;
use serde_json::{Value, json};

/// Statuses that are decided before any Twilio call.
const LOCAL_REFUSALS: [u16; 6] = [400, 401, 405, 413, 415, 429];
/// After this many cases the stream is set up afresh, so valid credentials stay valid.
const CASES_PER_STREAM: usize = 200;

/// Credentials valid for the current stream.
struct Pool {
    host_token: String,
    audience_token: String,
    /// A host token whose room has ended.
    stale_host_token: String,
    /// An invite to a meeting the host opened.
    invite: String,
}

impl Pool {
    /// A fresh live stream and its credentials; `None` if the host cannot log in now (a
    /// wrong-password limiter may hold the host back after the fuzzer's wrong passwords).
    async fn new(stack: &Stack) -> Option<Pool> {
        let stale_host_token = log_in(stack).await?;
        let (status, _) = stack
            .call(Endpoint::StreamStop, bearer(&stale_host_token))
            .await;
        assert_eq!(status, 200);
        let host_token = log_in(stack).await?;
        let room = claims(&host_token)["grants"]["video"]["room"]
            .as_str()
            .unwrap()
            .to_owned();
        stack
            .standin
            .connect_participant(&room, "presenter")
            .unwrap();
        let (status, started) = stack.call(Endpoint::StreamStart, bearer(&host_token)).await;
        assert_eq!(status, 200, "{started}");
        let (status, audience) = stack.call(Endpoint::AudienceToken, post_empty()).await;
        assert_eq!(status, 200, "{audience}");
        if let Some(viewer) = audience["identity"].as_str() {
            stack.standin.connect_participant(&room, viewer).unwrap();
        }
        let (status, meeting) = stack
            .call(Endpoint::MeetingCreate, bearer(&host_token))
            .await;
        assert_eq!(status, 200, "{meeting}");
        Some(Pool {
            host_token,
            audience_token: audience["token"].as_str().unwrap_or_default().to_owned(),
            stale_host_token,
            invite: meeting["invite"].as_str().unwrap().to_owned(),
        })
    }
}

/// The host token from `host_token` with the right password, if it is granted.
async fn log_in(stack: &Stack) -> Option<String> {
    let req = post_json(json!({ "password": HOST_PASSWORD }));
    let (status, login) = stack.call(Endpoint::HostToken, req).await;
    (status == 200).then(|| login["token"].as_str().unwrap().to_owned())
}

#[derive(Debug, Clone)]
enum Credential {
    Absent,
    HostToken,
    AudienceToken,
    StaleHostToken,
    RightPassword,
    Invite,
    Text(String),
}

#[derive(Debug, Clone, Copy)]
enum Presentation {
    Bearer,
    JsonToken,
    TextBody,
    JsonPassword,
    /// `{"invite": <credential>, "name": <name>}`, as the meeting page sends it.
    JsonInvite,
}

#[derive(Debug, Clone)]
struct Case {
    endpoint: Endpoint,
    method: &'static str,
    content_type: Option<String>,
    presentation: Presentation,
    credential: Credential,
    edits: Vec<Mutation>,
    room: Option<Value>,
    /// The display name sent with an invite.
    name: Value,
    body: Option<Vec<u8>>,
}

fn case() -> impl Strategy<Value = Case> {
    let credential = prop_oneof![
        2 => Just(Credential::Absent),
        4 => Just(Credential::HostToken),
        4 => Just(Credential::AudienceToken),
        2 => Just(Credential::StaleHostToken),
        1 => Just(Credential::RightPassword),
        3 => Just(Credential::Invite),
        3 => text(60).prop_map(Credential::Text),
    ];
    let presentation = prop::sample::select(vec![
        Presentation::Bearer,
        Presentation::JsonToken,
        Presentation::TextBody,
        Presentation::JsonPassword,
        Presentation::JsonInvite,
    ]);
    let content_type = prop_oneof![
        6 => Just(None),
        2 => prop::sample::select(vec!["application/json", "text/plain", "image/png", "", "application/json; charset=utf-8"])
            .prop_map(|c| Some(c.to_owned())),
        1 => text(30).prop_map(Some),
    ];
    (
        prop::sample::select(ENDPOINTS.to_vec()),
        prop_oneof![8 => Just("POST"), 1 => prop::sample::select(vec!["GET", "PUT", "OPTIONS"])],
        content_type,
        presentation,
        credential,
        prop_oneof![3 => Just(vec![]), 1 => mutations()],
        prop_oneof![3 => Just(None), 1 => json_value(&["room"]).prop_map(Some)],
        prop_oneof![3 => text(50).prop_map(Value::String), 1 => json_value(&["name"])],
        prop_oneof![
            6 => Just(None),
            1 => bytes(200).prop_map(Some),
            1 => json_object(&["token", "password", "room", "invite", "name"]).prop_map(|v| Some(v.to_string().into_bytes())),
            1 => huge(onair_common::request::MAX_BODY_BYTES).prop_map(|h| Some(h.into_bytes())),
        ],
    )
        .prop_map(
            |(endpoint, method, content_type, presentation, credential, edits, room, name, body)| {
                Case {
                    endpoint,
                    method,
                    content_type,
                    presentation,
                    credential,
                    edits,
                    room,
                    name,
                    body,
                }
            },
        )
}

impl Case {
    fn request(&self, pool: &Pool) -> Request {
        let text = match &self.credential {
            Credential::Absent => None,
            Credential::HostToken => Some(pool.host_token.clone()),
            Credential::AudienceToken => Some(pool.audience_token.clone()),
            Credential::StaleHostToken => Some(pool.stale_host_token.clone()),
            Credential::RightPassword => Some(HOST_PASSWORD.to_owned()),
            Credential::Invite => Some(pool.invite.clone()),
            Credential::Text(text) => Some(text.clone()),
        }
        .map(|t| String::from_utf8_lossy(&apply(t.as_bytes(), &self.edits)).into_owned());

        let (mut body, default_type, mut authorization): (Vec<u8>, &str, Option<String>) =
            match (self.presentation, &text) {
                (_, None) => (vec![], "application/json", None),
                (Presentation::Bearer, Some(t)) => {
                    (vec![], "application/json", Some(format!("Bearer {t}")))
                }
                (Presentation::JsonToken, Some(t)) => (
                    json!({ "token": t }).to_string().into_bytes(),
                    "application/json",
                    None,
                ),
                (Presentation::TextBody, Some(t)) => (t.clone().into_bytes(), "text/plain", None),
                (Presentation::JsonPassword, Some(t)) => {
                    let mut object = json!({ "password": t });
                    if let Some(room) = &self.room {
                        object["room"] = room.clone();
                    }
                    (object.to_string().into_bytes(), "application/json", None)
                }
                (Presentation::JsonInvite, Some(t)) => (
                    json!({ "invite": t, "name": self.name })
                        .to_string()
                        .into_bytes(),
                    "application/json",
                    None,
                ),
            };
        if let Some(extra) = &self.body {
            body = extra.clone();
        }
        let mut builder = http::Request::builder()
            .method(self.method)
            .uri("https://onair.test/endpoint");
        let content_type = self.content_type.as_deref().unwrap_or(default_type);
        if let Ok(value) = http::HeaderValue::from_str(content_type) {
            builder = builder.header("content-type", value);
        }
        if let Some(value) = authorization
            .take()
            .and_then(|a| http::HeaderValue::from_str(&a).ok())
        {
            builder = builder.header("authorization", value);
        }
        let body = match String::from_utf8(body) {
            Ok(text) if text.is_empty() => Body::Empty,
            Ok(text) => Body::Text(text),
            Err(err) => Body::Binary(err.into_bytes()),
        };
        builder.body(body).unwrap()
    }
}

/// One request through its handler: no 5xx, JSON (checked by [`Stack::call`]), and no Twilio
/// call when refused locally.
async fn check(stack: &Stack, endpoint: Endpoint, req: Request) -> Result<u16, TestCaseError> {
    stack.standin.clear_calls();
    let (status, body) = stack.call(endpoint, req).await;
    prop_assert!(status < 500, "{endpoint:?} answered {status}: {body}");
    if LOCAL_REFUSALS.contains(&status) {
        prop_assert_eq!(
            stack.twilio_calls(),
            0,
            "{:?} refused with {} after Twilio calls: {:?}",
            endpoint,
            status,
            stack.standin.calls()
        );
    }
    Ok(status)
}

fn fuzz_mode(mode: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // With the auth token and the callback URL, so `room_events` checks signatures instead of
    // answering 503.
    let auth_token = twilio_standin::Account::for_tests().auth_token;
    let stack = runtime.block_on(Stack::start(&[
        ("AUDIENCE_MODE", mode),
        ("TWILIO_AUTH_TOKEN", &auth_token),
        ("ROOM_EVENTS_URL", "https://onair.test/room_events"),
    ]));

    let pool = Mutex::new(
        runtime
            .block_on(Pool::new(&stack))
            .expect("the host logs in (before any wrong password)"),
    );
    // The request corpus, against every endpoint.
    for (name, event) in corpus("request") {
        for endpoint in ENDPOINTS {
            let req = lambda_http::request::from_str(std::str::from_utf8(&event).unwrap()).unwrap();
            if let Err(err) = runtime.block_on(check(&stack, endpoint, req)) {
                panic!("{mode} mode, corpus {name} on {endpoint:?}: {err}");
            }
        }
    }

    let count = std::sync::atomic::AtomicUsize::new(0);
    let statuses = Mutex::new(std::collections::BTreeMap::<u16, usize>::new());
    run(
        &format!("fuzz_handlers {mode}"),
        cases("ONAIR_FUZZ_HANDLER_CASES", 2_000),
        case(),
        |case| {
            let mut pool = pool.lock().unwrap_or_else(|e| e.into_inner());
            let n = count.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if n.is_multiple_of(CASES_PER_STREAM) {
                // Rooms nobody joined close by themselves; then a fresh stream, if the host may
                // log in.
                stack.standin.advance_clock(Duration::from_secs(300));
                if let Some(fresh) = runtime.block_on(Pool::new(&stack)) {
                    *pool = fresh;
                }
            }
            let status = runtime.block_on(check(&stack, case.endpoint, case.request(&pool)))?;
            *statuses
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(status)
                .or_default() += 1;
            Ok(())
        },
    );
    let statuses = statuses.into_inner().unwrap_or_else(|e| e.into_inner());
    println!("fuzz_handlers {mode}: statuses {statuses:?}");
    // The cases reached past the edge too: some succeeded.
    assert!(statuses.get(&200).copied().unwrap_or(0) > 0, "{statuses:?}");
    runtime.block_on(stack.standin.shutdown());
}

#[test]
fn handlers_in_room_mode_never_fail_on_any_request() {
    fuzz_mode("room");
}

#[test]
fn handlers_in_live_mode_never_fail_on_any_request() {
    fuzz_mode("live");
}
