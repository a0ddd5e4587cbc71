//! The Twilio REST surface: one entry point for every `/v1/...` request. It applies injected
//! faults, checks HTTP Basic auth, parses query and form parameters, routes to the Video
//! (`rooms`, `participants`) and Media (`live`) handlers, records the call, and logs one line.

mod live;
mod participants;
mod rooms;

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::Value;

use crate::calls::Call;
use crate::error::TwilioError;
use crate::faults::FaultAction;
use crate::params::Params;
use crate::render::Ctx;
use crate::shared::Shared;

/// Largest request body accepted.
const MAX_BODY: usize = 1 << 20;

/// A handler's answer: success status and JSON body, or a Twilio error.
pub(crate) type Reply = Result<(u16, Value), TwilioError>;

/// What handlers get from a request.
pub(crate) struct Req<'a> {
    /// The raw request path (still percent-encoded), for page URLs.
    pub(crate) path: &'a str,
    pub(crate) params: &'a Params,
    pub(crate) ctx: &'a Ctx,
}

/// The resource a path names (segments already percent-decoded).
enum Route<'a> {
    Rooms,
    Room(&'a str),
    Participants(&'a str),
    Participant(&'a str, &'a str),
    SubscribeRules(&'a str, &'a str),
    PlayerStreamers,
    PlayerStreamer(&'a str),
    PlaybackGrant(&'a str),
    MediaProcessors,
    MediaProcessor(&'a str),
}

fn route<'a>(segments: &'a [String]) -> Option<Route<'a>> {
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
    Some(match s.as_slice() {
        ["v1", "Rooms"] => Route::Rooms,
        ["v1", "Rooms", room] => Route::Room(room),
        ["v1", "Rooms", room, "Participants"] => Route::Participants(room),
        ["v1", "Rooms", room, "Participants", p] => Route::Participant(room, p),
        ["v1", "Rooms", room, "Participants", p, "SubscribeRules"] => {
            Route::SubscribeRules(room, p)
        }
        ["v1", "PlayerStreamers"] => Route::PlayerStreamers,
        ["v1", "PlayerStreamers", sid] => Route::PlayerStreamer(sid),
        ["v1", "PlayerStreamers", sid, "PlaybackGrant"] => Route::PlaybackGrant(sid),
        ["v1", "MediaProcessors"] => Route::MediaProcessors,
        ["v1", "MediaProcessors", sid] => Route::MediaProcessor(sid),
        _ => return None,
    })
}

fn dispatch(shared: &Shared, method: &Method, segments: &[String], req: &Req<'_>) -> Reply {
    let Some(route) = route(segments) else {
        return Err(TwilioError::not_found(req.path));
    };
    let get = *method == Method::GET;
    let post = *method == Method::POST;
    match route {
        Route::Rooms if get => rooms::list(shared, req),
        Route::Rooms if post => rooms::create(shared, req),
        Route::Room(room) if get => rooms::fetch(shared, req, room),
        Route::Room(room) if post => rooms::update(shared, req, room),
        Route::Participants(room) if get => participants::list(shared, req, room),
        Route::Participant(room, p) if get => participants::fetch(shared, req, room, p),
        Route::Participant(room, p) if post => participants::update(shared, req, room, p),
        Route::SubscribeRules(room, p) if get => participants::fetch_rules(shared, req, room, p),
        Route::SubscribeRules(room, p) if post => participants::update_rules(shared, req, room, p),
        Route::PlayerStreamers if get => live::list_streamers(shared, req),
        Route::PlayerStreamers if post => live::create_streamer(shared, req),
        Route::PlayerStreamer(sid) if get => live::fetch_streamer(shared, req, sid),
        Route::PlayerStreamer(sid) if post => live::update_streamer(shared, req, sid),
        Route::PlaybackGrant(sid) if get => live::fetch_grant(shared, req, sid),
        Route::PlaybackGrant(sid) if post => live::create_grant(shared, req, sid),
        Route::MediaProcessors if get => live::list_processors(shared, req),
        Route::MediaProcessors if post => live::create_processor(shared, req),
        Route::MediaProcessor(sid) if get => live::fetch_processor(shared, req, sid),
        Route::MediaProcessor(sid) if post => live::update_processor(shared, req, sid),
        _ => Err(TwilioError::method_not_allowed(method.as_str())),
    }
}

/// The axum fallback that serves every REST request.
pub(crate) async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let method = parts.method.clone();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or("").to_owned();

    let fault = shared.fault_for(method.as_str(), &path);
    let body = read_body(body).await;
    let parsed = body.and_then(|bytes| parse_params(&query, &parts.headers, &bytes));
    let logged_params = parsed
        .as_ref()
        .map(|p| p.pairs().to_vec())
        .unwrap_or_default();

    let outcome: Reply = match fault {
        Some(FaultAction::Status(status)) => Err(TwilioError::injected(status)),
        _ if !authorized(&parts.headers, &shared) => Err(TwilioError::authenticate()),
        _ => match (&parsed, decode_segments(&path)) {
            (Err(e), _) => Err(e.clone()),
            (Ok(_), None) => Err(TwilioError::not_found(&path)),
            (Ok(params), Some(segments)) => {
                let ctx = Ctx {
                    base: base_url(&parts.headers, &shared.local_base),
                    account_sid: shared.account.account_sid.clone(),
                };
                let req = Req {
                    path: &path,
                    params,
                    ctx: &ctx,
                };
                dispatch(&shared, &method, &segments, &req)
            }
        },
    };

    let response = match outcome {
        Ok((status, json)) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            (status, axum::Json(json)).into_response()
        }
        Err(error) => error.into_response(),
    };
    let status = response.status().as_u16();
    if method != Method::GET {
        // Rooms completed, participants disconnected, rules set: the media relay looks again.
        shared.touch();
    }
    shared.record(Call {
        method: method.as_str().to_owned(),
        path: path.clone(),
        params: logged_params,
        status,
    });
    if let Some(FaultAction::Delay(delay)) = fault {
        tokio::time::sleep(delay).await;
    }
    tracing::info!(
        "{} {} -> {} ({} ms)",
        method,
        path,
        status,
        started.elapsed().as_millis()
    );
    response
}

async fn read_body(body: Body) -> Result<Vec<u8>, TwilioError> {
    to_bytes(body, MAX_BODY)
        .await
        .map(|b| b.to_vec())
        .map_err(|_| TwilioError::invalid("Request body too large or unreadable"))
}

/// Query parameters, then form parameters, in arrival order.
fn parse_params(query: &str, headers: &HeaderMap, body: &[u8]) -> Result<Params, TwilioError> {
    let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|_| TwilioError::invalid("Malformed query string"))?;
    if !body.is_empty() {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !content_type
            .to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
        {
            return Err(TwilioError::invalid(
                "Request bodies must be application/x-www-form-urlencoded",
            ));
        }
        let form: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
            .map_err(|_| TwilioError::invalid("Malformed form body"))?;
        pairs.extend(form);
    }
    Ok(Params::new(pairs))
}

/// HTTP Basic with one of the account's two credential pairs.
fn authorized(headers: &HeaderMap, shared: &Shared) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some((scheme, encoded)) = value.trim().split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let Ok(text) = String::from_utf8(decoded) else {
        return false;
    };
    match text.split_once(':') {
        Some((user, password)) => shared.account.accepts(user, password),
        None => false,
    }
}

/// `http://<Host>` when the request names a plausible host, else the listener's own address,
/// so `url`, `links` and page URLs point where the caller reached us.
fn base_url(headers: &HeaderMap, fallback: &str) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
        });
    match host {
        Some(h) => format!("http://{h}"),
        None => fallback.to_owned(),
    }
}

/// Splits `/v1/Rooms/x%20y` into decoded segments; `None` if a segment is not valid UTF-8.
fn decode_segments(path: &str) -> Option<Vec<String>> {
    path.strip_prefix('/')
        .unwrap_or(path)
        .split('/')
        .map(percent_decode)
        .collect()
}

fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(v) = hex {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8(out).ok()
}
