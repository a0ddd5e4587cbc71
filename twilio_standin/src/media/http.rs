//! The `/media` routes: WHIP (RFC 9725) to publish, WHEP to watch, `DELETE` to leave, a viewer
//! count, CORS for pages on another origin, and Twilio-shaped error bodies.
//!
//! | route | request | answer |
//! |---|---|---|
//! | `POST /media/whip/{room}` | `Authorization: Bearer <token>`, `Content-Type: application/sdp`, a complete offer | `201`, `Content-Type: application/sdp`, `Location: /media/sessions/{id}`, the answer |
//! | `POST /media/whep/{room}` | the same, with a watching offer | the same |
//! | `DELETE /media/sessions/{id}` | (the unguessable id is the capability) | `204`; `404` if unknown |
//! | `GET /media/rooms/{room}` | `Authorization: Bearer <token>` | `200 {"publishers": n, "viewers": n}` |
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
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, post};
use serde_json::json;

use crate::error::{INVALID_PARAMETER, METHOD_NOT_ALLOWED, TwilioError};
use crate::layers;

use super::Hub;
use super::sessions::Role;

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
            "/media/whep/{room}",
            post(watch).patch(no_patch).options(preflight),
        )
        .route(
            "/media/sessions/{id}",
            delete(end).patch(no_patch).options(preflight),
        )
        .route("/media/rooms/{room}", get(counts).options(preflight))
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

fn open(hub: &Hub, role: Role, room: &str, headers: &HeaderMap, body: &[u8]) -> Response {
    if !is_sdp(headers) {
        return TwilioError::new(
            415,
            INVALID_PARAMETER,
            "Content-Type must be application/sdp (the body is the SDP offer)",
        )
        .into_response();
    }
    let Ok(offer) = std::str::from_utf8(body) else {
        return TwilioError::new(400, INVALID_PARAMETER, "The SDP offer is not UTF-8 text")
            .into_response();
    };
    match hub.open(role, room, bearer(headers), offer) {
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

async fn publish(
    State(hub): HubState,
    Path(room): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    open(&hub, Role::Publisher, &room, &headers, &body)
}

async fn watch(
    State(hub): HubState,
    Path(room): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    open(&hub, Role::Viewer, &room, &headers, &body)
}

async fn end(State(hub): HubState, Path(id): Path<String>) -> Response {
    if hub.end(&id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        TwilioError::not_found(&format!("/media/sessions/{id}")).into_response()
    }
}

async fn counts(State(hub): HubState, Path(room): Path<String>, headers: HeaderMap) -> Response {
    match hub.counts(&room, bearer(&headers)) {
        Ok((publishers, viewers)) => (
            [(header::CACHE_CONTROL, "no-store")],
            axum::Json(json!({ "publishers": publishers, "viewers": viewers })),
        )
            .into_response(),
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
