//! `POST /stream_stop`: the host ends the stream: exactly their room's Live resources, then the
//! room. Takes the token in a `text/plain` body too, so `navigator.sendBeacon` can call it as
//! the tab closes. Stopping a stopped stream is a 200 with `stopped: false`.

use lambda_http::{Body, Request, Response};
use onair_common::ids::RoomName;
use onair_common::response::respond;
use onair_common::{ApiError, App, stream};
use serde::Serialize;

#[derive(Serialize)]
struct StreamStopped {
    stopped: bool,
    room: Option<RoomName>,
}

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond("stream_stop", stream_stop(app, &req).await)
}

async fn stream_stop(app: &App, req: &Request) -> Result<StreamStopped, ApiError> {
    let host = app.gate().host(req).await?;

    let room = match host.room {
        Some(room) => room,
        None => match stream::find_live_room(&app.twilio, &app.settings.host_identity).await? {
            Some((_, room)) => room,
            None => {
                return Ok(StreamStopped {
                    stopped: false,
                    room: None,
                });
            }
        },
    };
    let stopped = stream::stop_room(&app.twilio, &app.settings, &room).await?;
    Ok(StreamStopped {
        stopped: stopped.anything(),
        room: Some(room),
    })
}
