//! `POST /stream_stop`: the host ends the stream: exactly their room's Live resources, then the
//! room. Takes the token in a `text/plain` body too, so `navigator.sendBeacon` can call it as
//! the tab closes; with the password, `{room}` or else `{stream}` says which (the stream's room
//! on air). Stopping a stopped stream is a 200 with `stopped: false`.

use lambda_http::{Body, Request, Response};
use onair_common::ids::{RoomName, StreamName};
use onair_common::response::respond;
use onair_common::stream::HostTarget;
use onair_common::{ApiError, App, stream};
use serde::Serialize;

#[derive(Serialize)]
struct StreamStopped {
    stopped: bool,
    room: Option<RoomName>,
    stream: Option<StreamName>,
}

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond("stream_stop", stream_stop(app, &req).await)
}

async fn stream_stop(app: &App, req: &Request) -> Result<StreamStopped, ApiError> {
    let target = app.gate().host(req).await?;

    let room = match target {
        HostTarget::Room(room) => room,
        HostTarget::Stream(name) => {
            let host = &app.settings.host_identity;
            match stream::find_live_room(&app.twilio, host, &name).await? {
                Some(on_air) => on_air.name,
                None => {
                    return Ok(StreamStopped {
                        stopped: false,
                        room: None,
                        stream: Some(name),
                    });
                }
            }
        }
    };
    let stopped = stream::stop_room(&app.twilio, &app.settings, &room).await?;
    Ok(StreamStopped {
        stopped: stopped.anything(),
        stream: room.stream(),
        room: Some(room),
    })
}
