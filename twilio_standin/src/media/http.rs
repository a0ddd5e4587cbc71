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
//! bad offer), 401 (20101 to 20107, a refused token), 404 (53106 room, 20404 session), 405
//! (20004), 409 (53105, room full), 415 (20001, not `application/sdp`).

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde_json::json;

use crate::error::{INVALID_PARAMETER, TwilioError};

use super::{Hub, Role};

type HubState = State<Arc<Hub>>;

/// The `/media` router, to be nested at `/media` on the stand-in's listener.
pub(crate) fn router<S: Clone + Send + Sync + 'static>(hub: Arc<Hub>) -> Router<S> {
    Router::new()
        .route(
            "/whip/{room}",
            post(publish).patch(no_patch).options(preflight),
        )
        .route(
            "/whep/{room}",
            post(watch).patch(no_patch).options(preflight),
        )
        .route(
            "/sessions/{id}",
            delete(end).patch(no_patch).options(preflight),
        )
        .route("/rooms/{room}", get(counts).options(preflight))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(cors_and_log))
        .with_state(hub)
}

/// A Twilio-shaped error response (no `WWW-Authenticate: Basic`: these routes take bearer
/// tokens).
fn error(e: TwilioError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, axum::Json(e.body())).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"twilio-standin media\""),
        );
    }
    response
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
        return error(TwilioError::new(
            415,
            INVALID_PARAMETER,
            "Content-Type must be application/sdp (the body is the SDP offer)",
        ));
    }
    let Ok(offer) = std::str::from_utf8(body) else {
        return error(TwilioError::new(
            400,
            INVALID_PARAMETER,
            "The SDP offer is not UTF-8 text",
        ));
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
        Err(e) => error(e),
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
        error(TwilioError::not_found(&format!("/media/sessions/{id}")))
    }
}

async fn counts(State(hub): HubState, Path(room): Path<String>, headers: HeaderMap) -> Response {
    match hub.counts(&room, bearer(&headers)) {
        Ok((publishers, viewers)) => (
            [(header::CACHE_CONTROL, "no-store")],
            axum::Json(json!({ "publishers": publishers, "viewers": viewers })),
        )
            .into_response(),
        Err(e) => error(e),
    }
}

async fn no_patch() -> Response {
    let mut response = error(TwilioError::new(
        405,
        crate::error::METHOD_NOT_ALLOWED,
        "PATCH is not supported: send a complete offer (all ICE candidates gathered); to renegotiate, DELETE the session and POST a new offer",
    ));
    response.headers_mut().insert(
        header::ALLOW,
        HeaderValue::from_static("POST, DELETE, OPTIONS"),
    );
    response
}

async fn method_not_allowed(method: Method) -> Response {
    error(TwilioError::method_not_allowed(method.as_str()))
}

async fn not_found(request: Request) -> Response {
    error(TwilioError::not_found(&format!(
        "/media{}",
        request.uri().path()
    )))
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

/// Adds the CORS headers every `/media` answer carries, and logs one line per request (never
/// a header: the bearer token stays out of logs).
async fn cors_and_log(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Location"),
    );
    tracing::info!(
        "{method} /media{path} -> {} ({} ms)",
        response.status().as_u16(),
        started.elapsed().as_millis()
    );
    response
}
