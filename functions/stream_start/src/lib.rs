//! `POST /stream_start`: the host, connected to their room, goes live. The room must be in
//! progress with the host in it, and no other room of its stream may have gone on air first
//! (`409`: first on air wins). In `room` mode that is all (viewers find the room by itself); in
//! `live` mode it also starts the room's PlayerStreamer and MediaProcessor, once per room.

use lambda_http::{Body, Request, Response};
use onair_common::config::AudienceMode;
use onair_common::ids::{RoomName, StreamName};
use onair_common::response::respond;
use onair_common::{ApiError, App, stream};
use serde::Serialize;

#[derive(Serialize)]
struct StreamStarted {
    stream: StreamInfo,
}

#[derive(Serialize)]
struct StreamInfo {
    /// The stream's name (absent for a room named before streams had names).
    name: Option<StreamName>,
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
    let target = app.gate().host(req).await?;

    let (twilio, settings) = (&app.twilio, &app.settings);
    let on_air = stream::host_live_room(twilio, settings, &target).await?;
    stream::ensure_first_on_air(twilio, &settings.host_identity, &on_air).await?;
    let live = match settings.audience_mode {
        AudienceMode::Room | AudienceMode::Ivs => None,
        AudienceMode::Live => Some(stream::start_live(twilio, settings, &on_air.name).await?),
    };
    Ok(StreamStarted {
        stream: StreamInfo {
            name: on_air.name.stream(),
            room: on_air.name,
            room_sid: on_air.room.sid,
            mode: settings.audience_mode,
            live,
        },
    })
}
