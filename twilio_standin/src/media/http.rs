//! The `/media` routes: WHIP (RFC 9725) to publish, WHEP to watch, `DELETE` to leave, a page's
//! mute state, the room status, CORS for pages on another origin, and Twilio-shaped error bodies.
//! Query strings and JSON bodies are parsed here, so the hub sees typed options.
//!
//! | route | request | answer |
//! |---|---|---|
//! | `POST /media/whip/{room}` | `Authorization: Bearer <token>`, `Content-Type: application/sdp`, a complete offer; meeting rooms: `?kind=camera` (default) or `?kind=screen` | `201`, `Content-Type: application/sdp`, `Location: /media/sessions/{id}`, the answer |
//! | `POST /media/whep/{room}` | the same, with a watching offer; meeting rooms: `?publisher=<identity or PA sid>` | the same |
//! | `DELETE /media/sessions/{id}` | (the unguessable id is the capability) | `204`, also if it had already ended; `404` if unknown |
//! | `POST /media/sessions/{id}/state` | `{"mic_muted"?: bool, "camera_muted"?: bool}` | `200 {"publications": [{"kind", "muted"}]}` |
//! | `GET /media/rooms/{room}` | `Authorization: Bearer <token>` | `200 {"publishers": n, "viewers": n, "participants": [{"identity", "sid", "publications"}]}` |
//! | `PATCH` on any of them | (no trickle ICE, no ICE restart) | `405` |
//! | `OPTIONS` on any of them | CORS preflight | `204` |
//!
//! Errors: `{"code", "message", "more_info", "status"}` as Twilio writes them: 400 (20001, a
//! bad offer), 401 (20101 to 20107, a refused token), 404 (53106 room, 20404 session or unknown
//! path), 405 (20004), 409 (53105, room full), 415 (20001, not `application/sdp`).
//!
//! Every route is wrapped, outermost first, in [`layers::hold_and_log`] (one log line, a late
//! answer held back), [`cors`], and [`layers::apply_faults`], so a test can make WHIP or WHEP
//! answer with an error status or late, and the page still reads the answer.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, post};
use serde::Deserialize;
use serde_json::json;

use crate::error::{INVALID_PARAMETER, METHOD_NOT_ALLOWED, TwilioError};
use crate::layers;

use super::sdp::Layout;
use super::sessions::{PublicationKind, Role};
use super::{Hub, OpenOptions, Opened};

type HubState = State<Arc<Hub>>;

/// The `/media` routes with their layers, to be merged into the stand-in's router.
pub(crate) fn router<S: Clone + Send + Sync + 'static>(hub: Arc<Hub>) -> Router<S> {
    let shared = hub.shared.clone();
    Router::new()
        .route(
            "/media/whip/{room}",
            post(publish).patch(no_patch).options(preflight),
        )
        .route(
            "/media/ivs/whip/{stage}",
            post(publish_stage).patch(no_patch).options(preflight),
        )
        .route(
            "/media/whep/{room}",
            post(watch).patch(no_patch).options(preflight),
        )
        .route(
            "/media/sessions/{id}",
            delete(end).patch(no_patch).options(preflight),
        )
        .route(
            "/media/sessions/{id}/state",
            post(set_state).options(preflight),
        )
        .route("/media/rooms/{room}", get(room_status).options(preflight))
        .route("/media/{*rest}", any(not_found))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn_with_state(shared, layers::apply_faults))
        .layer(from_fn(cors))
        .layer(from_fn(layers::hold_and_log))
        .with_state(hub)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn is_sdp(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/sdp"))
}

/// The query string of a WHIP (`kind`) or WHEP (`publisher`) request; anything else is refused.
fn open_options(role: Role, query: Option<&str>) -> Result<OpenOptions, TwilioError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|e| TwilioError::invalid(format!("Malformed query string: {e}")))?;
    let mut options = OpenOptions::default();
    for (name, value) in pairs {
        match (role, name.as_str()) {
            (Role::Publisher, "kind") if options.kind.is_none() => {
                options.kind = Some(match value.as_str() {
                    "camera" => Layout::Camera,
                    "screen" => Layout::Screen,
                    _ => {
                        return Err(TwilioError::invalid(format!(
                            "kind must be camera or screen, not {value:?}"
                        )));
                    }
                });
            }
            (Role::Viewer, "publisher") if options.publisher.is_none() && !value.is_empty() => {
                options.publisher = Some(value);
            }
            _ => {
                let takes = match role {
                    Role::Publisher => "WHIP takes ?kind=camera|screen (meeting rooms)",
                    Role::Viewer => "WHEP takes ?publisher=<identity> (meeting rooms)",
                };
                return Err(TwilioError::invalid(format!(
                    "Unexpected, repeated or empty query parameter {name:?}: {takes}"
                )));
            }
        }
    }
    Ok(options)
}

/// The body of a WHIP/WHEP request: an SDP offer (415 for another content type, 400 if not
/// UTF-8).
fn sdp_offer<'a>(headers: &HeaderMap, body: &'a [u8]) -> Result<&'a str, TwilioError> {
    if !is_sdp(headers) {
        return Err(TwilioError::new(
            415,
            INVALID_PARAMETER,
            "Content-Type must be application/sdp (the body is the SDP offer)",
        ));
    }
    std::str::from_utf8(body)
        .map_err(|_| TwilioError::new(400, INVALID_PARAMETER, "The SDP offer is not UTF-8 text"))
}

/// 201 with the SDP answer and the session's URL, or the error.
fn created(opened: Result<Opened, TwilioError>) -> Response {
    match opened {
        Ok(opened) => (
            StatusCode::CREATED,
            [
                (header::CONTENT_TYPE, "application/sdp".to_owned()),
                (header::LOCATION, format!("/media/sessions/{}", opened.id)),
                (header::CACHE_CONTROL, "no-store".to_owned()),
            ],
            opened.answer,
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

fn open(
    hub: &Hub,
    role: Role,
    room: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let offer = match sdp_offer(headers, body) {
        Ok(offer) => offer,
        Err(e) => return e.into_response(),
    };
    let options = match open_options(role, query) {
        Ok(options) => options,
        Err(e) => return e.into_response(),
    };
    created(hub.open(role, room, bearer(headers), offer, &options))
}

async fn publish(
    State(hub): HubState,
    Path(room): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    open(
        &hub,
        Role::Publisher,
        &room,
        query.as_deref(),
        &headers,
        &body,
    )
}

/// IVS WHIP: the stage's publisher, with a participant token.
async fn publish_stage(
    State(hub): HubState,
    Path(stage): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if query.is_some_and(|q| !q.is_empty()) {
        return TwilioError::invalid("IVS WHIP takes no query parameters").into_response();
    }
    let offer = match sdp_offer(&headers, &body) {
        Ok(offer) => offer,
        Err(e) => return e.into_response(),
    };
    created(hub.publish_stage(&stage, bearer(&headers), offer))
}

async fn watch(
    State(hub): HubState,
    Path(room): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    open(&hub, Role::Viewer, &room, query.as_deref(), &headers, &body)
}

async fn end(State(hub): HubState, Path(id): Path<String>) -> Response {
    if hub.end(&id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        TwilioError::not_found(&format!("/media/sessions/{id}")).into_response()
    }
}

/// The body of `POST /media/sessions/{id}/state`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MuteBody {
    mic_muted: Option<bool>,
    camera_muted: Option<bool>,
}

impl MuteBody {
    fn parse(body: &[u8]) -> Result<Vec<(PublicationKind, bool)>, TwilioError> {
        let parsed: MuteBody = serde_json::from_slice(body).map_err(|e| {
            TwilioError::invalid(format!(
                "The body must be a JSON object {{\"mic_muted\"?: bool, \"camera_muted\"?: bool}}: {e}"
            ))
        })?;
        let changes: Vec<(PublicationKind, bool)> = [
            (PublicationKind::Mic, parsed.mic_muted),
            (PublicationKind::Camera, parsed.camera_muted),
        ]
        .into_iter()
        .filter_map(|(kind, muted)| muted.map(|m| (kind, m)))
        .collect();
        if changes.is_empty() {
            return Err(TwilioError::invalid("Give mic_muted, camera_muted or both"));
        }
        Ok(changes)
    }
}

async fn set_state(State(hub): HubState, Path(id): Path<String>, body: Bytes) -> Response {
    let result = MuteBody::parse(&body).and_then(|changes| hub.set_muted(&id, &changes));
    match result {
        Ok(publications) => (
            [(header::CACHE_CONTROL, "no-store")],
            axum::Json(json!({ "publications": publications })),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

async fn room_status(
    State(hub): HubState,
    Path(room): Path<String>,
    headers: HeaderMap,
) -> Response {
    match hub.room_status(&room, bearer(&headers)) {
        Ok(status) => ([(header::CACHE_CONTROL, "no-store")], axum::Json(status)).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn no_patch() -> Response {
    let mut response = TwilioError::new(
        405,
        METHOD_NOT_ALLOWED,
        "PATCH is not supported: send a complete offer (all ICE candidates gathered); to renegotiate, DELETE the session and POST a new offer",
    )
    .into_response();
    response.headers_mut().insert(
        header::ALLOW,
        HeaderValue::from_static("POST, DELETE, OPTIONS"),
    );
    response
}

async fn method_not_allowed(method: Method) -> TwilioError {
    TwilioError::method_not_allowed(method.as_str())
}

async fn not_found(uri: Uri) -> TwilioError {
    TwilioError::not_found(uri.path())
}

async fn preflight() -> Response {
    (
        StatusCode::NO_CONTENT,
        [
            (
                header::ACCESS_CONTROL_ALLOW_METHODS,
                "GET, POST, DELETE, PATCH, OPTIONS",
            ),
            (
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                "Authorization, Content-Type, If-Match",
            ),
            (header::ACCESS_CONTROL_MAX_AGE, "600"),
        ],
    )
        .into_response()
}

/// Adds the CORS headers every `/media` answer carries, errors and injected faults included, and
/// names the bearer scheme on a 401 (these routes take access tokens, not HTTP Basic).
async fn cors(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let unauthorized = response.status() == StatusCode::UNAUTHORIZED;
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Location"),
    );
    if unauthorized {
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"twilio-standin media\""),
        );
    }
    response
}
