//! Fuzzing whole handlers: every endpoint (`ENDPOINTS`), in room and live mode, in-process against the
//! stand-in, with generated requests (methods, paths, content types, bodies, `stream` fields and
//! credentials that are right, stale, edited or junk: host sessions, host and audience tokens,
//! the password, meeting invites with generated names; presented as a bearer header, in JSON or
//! as a beacon's text).
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
    host_session: String,
    host_token: String,
    audience_token: String,
    /// A host token whose room has ended.
    stale_host_token: String,
    /// An invite to a meeting the host opened.
    invite: String,
}

impl Pool {
    /// A fresh live stream on `main` and its credentials, after stopping the `previous` one's
    /// (a stream on air cannot be opened again); `None` if the host cannot sign in now (a
    /// wrong-password limiter may hold the host back after the fuzzer's wrong passwords).
    async fn new(stack: &Stack, previous: Option<&Pool>) -> Option<Pool> {
        if let Some(previous) = previous {
            let (status, _) = stack
                .call(Endpoint::StreamStop, bearer(&previous.host_token))
                .await;
            assert_eq!(status, 200);
        }
        let host_session = sign_in(stack).await?;
        let stale_host_token = open_studio(stack, &host_session).await;
        let (status, _) = stack
            .call(Endpoint::StreamStop, bearer(&stale_host_token))
            .await;
        assert_eq!(status, 200);
        let host_token = open_studio(stack, &host_session).await;
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
            host_session,
            host_token,
            audience_token: audience["token"].as_str().unwrap_or_default().to_owned(),
            stale_host_token,
            invite: meeting["invite"].as_str().unwrap().to_owned(),
        })
    }
}

/// A host session from `host_session` with the right password, if it is granted.
async fn sign_in(stack: &Stack) -> Option<String> {
    let req = post_json(json!({ "password": HOST_PASSWORD }));
    let (status, session) = stack.call(Endpoint::HostSession, req).await;
    (status == 200).then(|| session["session"].as_str().unwrap().to_owned())
}

/// The host token of a fresh studio room of `main`.
async fn open_studio(stack: &Stack, session: &str) -> String {
    let (status, login) = stack.open_studio(session, "main").await;
    assert_eq!(status, 200, "{login}");
    login["token"].as_str().unwrap().to_owned()
}

#[derive(Debug, Clone)]
enum Credential {
    Absent,
    HostSession,
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
    /// A `stream` field for the JSON body.
    stream: Option<Value>,
    /// The path (`stream_status` reads its input from it).
    path: String,
    body: Option<Vec<u8>>,
}

/// Stream names: the live one, others that are valid, and near misses.
fn stream_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "main", "talk", "a", "x-y-z", "main-", "-main", "Main", "ma in", "main/x", "",
            "0123456789012345678901234567890123456789", "01234567890123456789012345678901234567890",
        ]).prop_map(|s| json!(s)),
        1 => text(50).prop_map(|s| json!(s)),
        1 => json_value(&["stream"]),
    ]
}

/// Request paths: the status resource with names as [`stream_value`] draws them, and others.
fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => Just("/endpoint".to_owned()),
        3 => stream_value().prop_map(|v| format!("/status/{}", v.as_str().unwrap_or("x"))),
        1 => text(40).prop_map(|t| format!("/status/{t}")),
        1 => text(40),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    let credential = prop_oneof![
        2 => Just(Credential::Absent),
        3 => Just(Credential::HostSession),
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
        prop_oneof![6 => Just("POST"), 2 => Just("GET"), 1 => prop::sample::select(vec!["HEAD", "PUT", "OPTIONS"])],
        content_type,
        presentation,
        credential,
        prop_oneof![3 => Just(vec![]), 1 => mutations()],
        prop_oneof![3 => Just(None), 1 => json_value(&["room"]).prop_map(Some)],
        prop_oneof![3 => text(50).prop_map(Value::String), 1 => json_value(&["name"])],
        prop_oneof![2 => Just(None), 3 => stream_value().prop_map(Some)],
        path(),
        prop_oneof![
            6 => Just(None),
            1 => bytes(200).prop_map(Some),
            1 => json_object(&["token", "password", "room", "stream", "invite", "name"]).prop_map(|v| Some(v.to_string().into_bytes())),
            1 => huge(onair_common::request::MAX_BODY_BYTES).prop_map(|h| Some(h.into_bytes())),
        ],
    )
        .prop_map(
            |(
                endpoint,
                method,
                content_type,
                presentation,
                credential,
                edits,
                room,
                name,
                stream,
                path,
                body,
            )| Case {
                endpoint,
                method,
                content_type,
                presentation,
                credential,
                edits,
                room,
                name,
                stream,
                path,
                body,
            },
        )
}

impl Case {
    fn request(&self, pool: &Pool) -> Request {
        let text = match &self.credential {
            Credential::Absent => None,
            Credential::HostSession => Some(pool.host_session.clone()),
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
                (_, None) => (self.with_stream(json!({})), "application/json", None),
                (Presentation::Bearer, Some(t)) => (
                    self.with_stream(json!({})),
                    "application/json",
                    Some(format!("Bearer {t}")),
                ),
                (Presentation::JsonToken, Some(t)) => (
                    self.with_stream(json!({ "token": t })),
                    "application/json",
                    None,
                ),
                (Presentation::TextBody, Some(t)) => (t.clone().into_bytes(), "text/plain", None),
                (Presentation::JsonPassword, Some(t)) => {
                    let mut object = json!({ "password": t });
                    if let Some(room) = &self.room {
                        object["room"] = room.clone();
                    }
                    (self.with_stream(object), "application/json", None)
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
        // A path that is no URI at all never reaches a function: API Gateway refuses it.
        let uri = http::Uri::try_from(format!("https://onair.test{}", self.path))
            .unwrap_or_else(|_| http::Uri::from_static("https://onair.test/status/not%20a%20uri"));
        let mut builder = http::Request::builder().method(self.method).uri(uri);
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

impl Case {
    /// `object` with this case's `stream` field, as body bytes; no body for an empty object.
    fn with_stream(&self, mut object: Value) -> Vec<u8> {
        if let Some(stream) = &self.stream {
            object["stream"] = stream.clone();
        }
        match object.as_object().is_some_and(|o| o.is_empty()) {
            true => Vec::new(),
            false => object.to_string().into_bytes(),
        }
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
            .block_on(Pool::new(&stack, None))
            .expect("the host signs in (before any wrong password)"),
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
                // Rooms nobody joined close by themselves (STUDIO_MAX_MINUTES); then a fresh
                // stream, if the host may sign in.
                stack
                    .standin
                    .advance_clock(Duration::from_secs(15 * 60 + 1));
                if let Some(fresh) = runtime.block_on(Pool::new(&stack, Some(&pool))) {
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
