//! `GET /status/<stream>`: whether a stream is offline, ready (its host is in the studio) or
//! live, for viewers waiting on its page. Public, and made to be cached: every answer carries
//! `Cache-Control: public, max-age=1`, so CloudFront (locally the dev server) answers a crowd
//! from its copy and asks this function at most once a second per edge and stream. The answer
//! comes from the same remembered lookup as `audience_token` (one Twilio lookup per
//! `AUDIENCE_CACHE_SECONDS` per container, a failure remembered); a bad name is a `400` an edge
//! may keep for a minute, and "offline" is a `200` like any other state. In `ivs` mode the
//! lookup is the remembered listing of stages (no viewer count: IVS gives none there).

use lambda_http::{Body, Request, Response};
use onair_common::config::AudienceMode;
use onair_common::ids::{StageArn, StreamName};
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
    /// The room (`ivs` mode: `ivs-<stage id>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    room: Option<String>,
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
    if app.settings.audience_mode == AudienceMode::Ivs {
        let status = app.audience.stage_status(app.ivs()?, &stream).await?;
        return Ok(StreamStatus {
            stream,
            state: status.state,
            room: status.stage.as_ref().map(StageArn::room),
            viewers: None,
            started_at: None,
        });
    }

    let status = app
        .audience
        .status(&app.twilio, &app.settings, &stream)
        .await?;
    Ok(StreamStatus {
        stream,
        state: status.state,
        room: status.room.map(|room| room.as_str().to_owned()),
        viewers: status.viewers,
        started_at: status.started_at,
    })
}
