//! A Twilio stand-in on an ephemeral port and an [`App`] pointed at it ([`Stack`]), each
//! endpoint's handler called in-process ([`Endpoint`]), and what the tests read back from the
//! stand-in.

use std::collections::HashMap;

use lambda_http::{Body, Request};
use onair_common::App;
use onair_test_support::app;
use onair_test_support::request::{answer, bearer, get, post_json, with_bearer};
use serde_json::{Value, json};
use twilio_standin::{Account, StandIn};

pub const HOST_PASSWORD: &str = "correct horse battery staple";

/// The HTTP endpoints: the nine the pages call and `room_events`, which Twilio calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    HostSession,
    HostToken,
    StreamStart,
    StreamStop,
    AudienceToken,
    StreamStatus,
    Subscribe,
    RoomEvents,
    MeetingCreate,
    MeetingToken,
}

pub const ENDPOINTS: [Endpoint; 10] = [
    Endpoint::HostSession,
    Endpoint::HostToken,
    Endpoint::StreamStart,
    Endpoint::StreamStop,
    Endpoint::AudienceToken,
    Endpoint::StreamStatus,
    Endpoint::Subscribe,
    Endpoint::RoomEvents,
    Endpoint::MeetingCreate,
    Endpoint::MeetingToken,
];

/// The IVS operations the functions call in `ivs` mode, as fault targets.
pub const IVS_OPERATIONS: [&str; 6] = [
    "ListStages",
    "CreateStage",
    "GetStage",
    "ListParticipants",
    "DisconnectParticipant",
    "DeleteStage",
];

/// A stand-in and an App configured against it.
pub struct Stack {
    pub standin: StandIn,
    pub app: App,
}

/// The settings every test uses, with `extra` on top (e.g. `AUDIENCE_MODE=live`).
pub fn config(standin: &StandIn, extra: &[(&str, &str)]) -> HashMap<String, String> {
    let defaults = [
        ("HOST_PASSWORD", HOST_PASSWORD),
        ("HOST_IDENTITY", "presenter"),
        ("AUDIENCE_CACHE_SECONDS", "0"),
        ("TWILIO_TIMEOUT_MS", "500"),
        // In-process requests carry no source address and share one wrong-password counter;
        // the host_password tests set the production default back.
        ("HOST_PASSWORD_MAX_ATTEMPTS", "1000000"),
    ];
    app::with(app::with(app::standin_source(standin), &defaults), extra)
}

pub use onair_test_support::app::ivs_app;

/// A P-384 key pair made now with the openssl CLI (never stored).
pub use onair_test_support::ivs_keys::{KeyPair as IvsKeyPair, p384 as ivs_key_pair};

/// An App against `standin` with the test settings and `extra` on top.
pub fn app_for(standin: &StandIn, extra: &[(&str, &str)]) -> App {
    app::app(&config(standin, extra))
}

impl Stack {
    pub async fn start(extra: &[(&str, &str)]) -> Stack {
        let standin = StandIn::start(Account::for_tests())
            .await
            .expect("the stand-in starts");
        let app = app_for(&standin, extra);
        Stack { standin, app }
    }

    pub async fn room() -> Stack {
        Stack::start(&[]).await
    }

    pub async fn live() -> Stack {
        Stack::start(&[("AUDIENCE_MODE", "live")]).await
    }

    /// `AUDIENCE_MODE=ivs`: a stand-in whose IVS API imported the public half of a P-384 key
    /// pair made for this stack (openssl; never stored), and an App with the private half,
    /// the stand-in's key ARN and an IVS client against it; `extra` on top.
    pub async fn ivs(extra: &[(&str, &str)]) -> Stack {
        Stack::ivs_with(&ivs_key_pair(), extra).await
    }

    /// [`Stack::ivs`] with the key pair `keys`.
    pub async fn ivs_with(keys: &IvsKeyPair, extra: &[(&str, &str)]) -> Stack {
        let standin = app::start_ivs_standin(keys)
            .await
            .expect("the stand-in starts");
        let mut source = config(&standin, &[("IVS_TIMEOUT_MS", "1000")]);
        source.extend(app::ivs_source(&standin, &keys.private_pem));
        let source = app::with(source, extra);
        let app = ivs_app(&source);
        Stack { standin, app }
    }

    /// Calls an endpoint's handler; returns its response as it is.
    pub async fn respond(&self, endpoint: Endpoint, req: Request) -> lambda_http::Response<Body> {
        match endpoint {
            Endpoint::HostSession => host_session::handle(&self.app, req).await,
            Endpoint::HostToken => host_token::handle(&self.app, req).await,
            Endpoint::StreamStatus => stream_status::handle(&self.app, req).await,
            Endpoint::StreamStart => stream_start::handle(&self.app, req).await,
            Endpoint::StreamStop => stream_stop::handle(&self.app, req).await,
            Endpoint::AudienceToken => audience_token::handle(&self.app, req).await,
            Endpoint::Subscribe => subscribe::handle(&self.app, req).await,
            Endpoint::RoomEvents => room_events::handle(&self.app, req).await,
            Endpoint::MeetingCreate => meeting_create::handle(&self.app, req).await,
            Endpoint::MeetingToken => meeting_token::handle(&self.app, req).await,
        }
    }

    /// Calls an endpoint's handler; returns status and JSON body.
    pub async fn call(&self, endpoint: Endpoint, req: Request) -> (u16, Value) {
        let (status, _, body) = self.call_with_headers(endpoint, req).await;
        (status, body)
    }

    /// Calls an endpoint's handler; returns status, headers and JSON body.
    pub async fn call_with_headers(
        &self,
        endpoint: Endpoint,
        req: Request,
    ) -> (u16, http::HeaderMap, Value) {
        let response = self.respond(endpoint, req).await;
        let status = response.status().as_u16();
        assert_eq!(
            response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/json"),
            "every answer is JSON"
        );
        let (_, body) = answer(&response);
        if status >= 400 {
            assert!(
                body["error"]["code"].is_string() && body["error"]["message"].is_string(),
                "error shape: {body}"
            );
        }
        (status, response.headers().clone(), body)
    }

    /// Calls an endpoint's handler that must answer 200; returns the body.
    pub async fn call_ok(&self, endpoint: Endpoint, req: Request) -> Value {
        let (status, body) = self.call(endpoint, req).await;
        assert_eq!(status, 200, "{endpoint:?}: {body}");
        body
    }

    /// Logs the host in; returns the host token response.
    pub async fn host_login(&self) -> Value {
        let password = post_json(json!({ "password": HOST_PASSWORD }));
        self.call_ok(Endpoint::HostToken, password).await
    }

    /// Signs the host in (`host_session`); returns the session token.
    pub async fn host_session(&self) -> String {
        let password = post_json(json!({ "password": HOST_PASSWORD }));
        let body = self.call_ok(Endpoint::HostSession, password).await;
        body["session"].as_str().expect("a session").to_owned()
    }

    /// Opens the studio of `stream` with a host `session`: the `host_token` answer, status and
    /// body as they are.
    pub async fn open_studio(&self, session: &str, stream: &str) -> (u16, Value) {
        let req = with_bearer(post_json(json!({ "stream": stream })), session);
        self.call(Endpoint::HostToken, req).await
    }

    /// Signs in, opens the studio of `stream` and connects the host to its room, as the host
    /// page does when it goes live; returns the host token response.
    pub async fn host_connected_to(&self, stream: &str) -> Value {
        let session = self.host_session().await;
        let (status, login) = self.open_studio(&session, stream).await;
        assert_eq!(status, 200, "{login}");
        self.connect_host(login)
    }

    /// [`Stack::host_connected_to`] `stream`, then `stream_start`; returns the host token response.
    pub async fn live_on(&self, stream: &str) -> Value {
        let login = self.host_connected_to(stream).await;
        self.go_live(login).await
    }

    /// Connects the host to the room of a host token response, as the host page does.
    fn connect_host(&self, login: Value) -> Value {
        self.standin
            .connect_participant(login["room"].as_str().unwrap(), "presenter")
            .expect("the host joins");
        login
    }

    /// `stream_start` with the token of a host token response; returns that response.
    async fn go_live(&self, login: Value) -> Value {
        let token = bearer(login["token"].as_str().unwrap());
        self.call_ok(Endpoint::StreamStart, token).await;
        login
    }

    /// `GET /status/<stream>`: status, headers and body.
    pub async fn status_of(&self, stream: &str) -> (u16, http::HeaderMap, Value) {
        self.call_with_headers(Endpoint::StreamStatus, get(&format!("/status/{stream}")))
            .await
    }

    /// `audience_token` for `stream`: status and body.
    pub async fn audience(&self, stream: &str) -> (u16, Value) {
        self.call(
            Endpoint::AudienceToken,
            post_json(json!({ "stream": stream })),
        )
        .await
    }

    /// Logs the host in and connects them to their room, as the host page would.
    pub async fn host_connected(&self) -> Value {
        let login = self.host_login().await;
        self.connect_host(login)
    }

    /// Logs the host in, connects them and starts the stream; returns the host token response.
    pub async fn live_stream(&self) -> Value {
        let login = self.host_connected().await;
        self.go_live(login).await
    }

    /// The host opens a meeting; returns the `meeting_create` answer.
    pub async fn meeting(&self) -> Value {
        let password = post_json(json!({ "password": HOST_PASSWORD }));
        self.call_ok(Endpoint::MeetingCreate, password).await
    }

    /// A guest joins with `invite` as `name`: the `meeting_token` answer, as it came.
    pub async fn join(&self, invite: &str, name: &str) -> (u16, Value) {
        self.call(
            Endpoint::MeetingToken,
            post_json(json!({ "invite": invite, "name": name })),
        )
        .await
    }

    /// The stand-in's clock (real time plus what tests advanced), for the reaper's age checks.
    pub fn twilio_now(&self) -> u64 {
        self.standin.now_unix()
    }

    /// Twilio calls the stand-in received so far.
    pub fn twilio_calls(&self) -> usize {
        self.standin.calls().len()
    }

    /// How many calls matched `method` and a path containing `path`.
    pub fn calls_to(&self, method: &str, path: &str) -> usize {
        self.standin
            .calls()
            .iter()
            .filter(|c| c.method == method && c.path.contains(path))
            .count()
    }

    pub fn active_rooms(&self) -> usize {
        self.standin
            .rooms()
            .iter()
            .filter(|r| r.status == "in-progress")
            .count()
    }

    pub fn running_streamers(&self) -> usize {
        self.standin
            .player_streamers()
            .iter()
            .filter(|p| p.status != "ended" && p.status != "failed")
            .count()
    }

    /// IVS calls the stand-in logged so far.
    pub fn ivs_calls(&self) -> Vec<twilio_standin::IvsCall> {
        self.standin.ivs_calls()
    }

    /// How many logged IVS calls were `operation`.
    pub fn ivs_calls_of(&self, operation: &str) -> usize {
        self.ivs_calls()
            .iter()
            .filter(|c| c.operation == operation)
            .count()
    }

    pub fn running_processors(&self) -> usize {
        self.standin
            .media_processors()
            .iter()
            .filter(|p| p.status == "started")
            .count()
    }
}

/// A fault on the next `times` calls of `method` to paths containing `path`.
pub fn fault(
    method: &str,
    path: &str,
    times: u32,
    action: twilio_standin::FaultAction,
) -> twilio_standin::Fault {
    twilio_standin::Fault {
        method: Some(method.into()),
        path_contains: path.into(),
        nth: 1,
        times,
        action,
    }
}

/// A token with Twilio's header for the stand-in's account, signed (HS256) with `key`: `grants`
/// as given, valid from now for `exp_offset` seconds (negative: expired that long ago).
pub fn signed_token(stack: &Stack, grants: Value, exp_offset: i64, key: &str) -> String {
    let account = stack.standin.account();
    let now = onair_common::token::unix_now() as i64;
    let claims = json!({
        "jti": format!("{}-{now}", account.api_key_sid), "iss": account.api_key_sid, "sub": account.account_sid,
        "nbf": now, "exp": now + exp_offset, "grants": grants,
    });
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.cty = Some(onair_common::token::TWILIO_CTY.into());
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(key.as_bytes()),
    )
    .unwrap()
}
