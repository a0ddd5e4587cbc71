//! `GET /status/<stream>`: whether a stream is offline, ready (its host is in the studio) or
//! live, for viewers waiting on its page. Public, and made to be cached: every answer carries
//! `Cache-Control: public, max-age=1`, so CloudFront (locally the dev server) answers a crowd
//! from its copy and asks this function at most once a second per edge and stream. The answer
//! comes from the same remembered lookup as `audience_token` (one Twilio lookup per
//! `AUDIENCE_CACHE_SECONDS` per container, a failure remembered); a bad name is a `400` an edge
//! may keep for a minute, and "offline" is a `200` like any other state.

use lambda_http::{Body, Request, Response};
use onair_common::ids::{RoomName, StreamName};
use onair_common::response::respond_cacheable;
use onair_common::stream::State;
use onair_common::{ApiError, App, request};
use serde::Serialize;

/// The route's prefix: `/status/<stream>`.
pub const PATH_PREFIX: &str = "/status/";
/// How long an edge or a browser may keep an answer.
pub const MAX_AGE_SECS: u64 = 1;

#[derive(Serialize)]
struct StreamStatus {
    stream: StreamName,
    state: State,
    #[serde(skip_serializing_if = "Option::is_none")]
    room: Option<RoomName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    viewers: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    started_at: Option<u64>,
}

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond_cacheable(
        "stream_status",
        stream_status(app, &req).await,
        MAX_AGE_SECS,
    )
}

async fn stream_status(app: &App, req: &Request) -> Result<StreamStatus, ApiError> {
    let stream = request::path_stream(req, PATH_PREFIX)?;

    let status = app
        .audience
        .status(&app.twilio, &app.settings, &stream)
        .await?;
    Ok(StreamStatus {
        stream,
        state: status.state,
        room: status.room,
        viewers: status.viewers,
        started_at: status.started_at,
    })
}
