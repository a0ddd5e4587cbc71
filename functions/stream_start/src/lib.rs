//! `POST /stream_start`: the host, connected to their room, goes live. In `room` mode that only
//! checks the room is in progress with the host in it (viewers find it by itself); in `live`
//! mode it also starts the room's PlayerStreamer and MediaProcessor, once per room.

use lambda_http::{Body, Request, Response};
use onair_common::config::AudienceMode;
use onair_common::ids::RoomName;
use onair_common::response::respond;
use onair_common::{ApiError, App, stream};
use serde::Serialize;

#[derive(Serialize)]
struct StreamStarted {
    stream: StreamInfo,
}

#[derive(Serialize)]
struct StreamInfo {
    room: RoomName,
    room_sid: String,
    mode: AudienceMode,
    #[serde(flatten)]
    live: Option<stream::LiveResources>,
}

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond("stream_start", stream_start(app, &req).await)
}

async fn stream_start(app: &App, req: &Request) -> Result<StreamStarted, ApiError> {
    let host = app.gate().host(req).await?;

    let (twilio, settings) = (&app.twilio, &app.settings);
    let (room, name) = stream::host_live_room(twilio, settings, host.room.as_ref()).await?;
    let live = match settings.audience_mode {
        AudienceMode::Room => None,
        AudienceMode::Live => Some(stream::start_live(twilio, settings, &name).await?),
    };
    Ok(StreamStarted {
        stream: StreamInfo {
            room: name,
            room_sid: room.sid,
            mode: settings.audience_mode,
            live,
        },
    })
}
