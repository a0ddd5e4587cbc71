//! `POST /stream_start`: the host, connected to their room, goes live. In `room` mode that only
//! checks the room is in progress with the host in it (viewers find it by itself); in `live`
//! mode it also starts the room's PlayerStreamer and MediaProcessor, once per room.

use lambda_http::{Body, Request, Response};
use onair_common::config::AudienceMode;
use onair_common::response::respond;
use onair_common::{ApiError, App, auth, request, stream};
use serde::Serialize;

#[derive(Serialize)]
struct StreamStarted {
    stream: StreamInfo,
}

#[derive(Serialize)]
struct StreamInfo {
    room: String,
    room_sid: String,
    mode: AudienceMode,
    #[serde(flatten)]
    live: Option<stream::LiveResources>,
}

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond("stream_start", stream_start(app, &req).await)
}

async fn stream_start(app: &App, req: &Request) -> Result<StreamStarted, ApiError> {
    let credentials = auth::host_credentials(req)?;
    let host = auth::authenticate_host(app, request::source_address(req), &credentials).await?;

    let (room, name) = stream::host_live_room(app, &host).await?;
    let live = match app.settings.audience_mode {
        AudienceMode::Room => None,
        AudienceMode::Live => Some(stream::start_live(app, &name).await?),
    };
    Ok(StreamStarted {
        stream: StreamInfo {
            room: name.as_str().to_owned(),
            room_sid: room.sid,
            mode: app.settings.audience_mode,
            live,
        },
    })
}
