//! `POST /stream_stop`: the host ends the stream: exactly their room's Live resources, then the
//! room. Takes the token in a `text/plain` body too, so `navigator.sendBeacon` can call it as
//! the tab closes; with the password, `{room}` or else `{stream}` says which (the stream's room
//! on air). Stopping a stopped stream is a 200 with `stopped: false`. In `ivs` mode the token
//! names a stage (with the password, `{stream}` names all the stream's stages): the host's
//! participants are disconnected and the stage deleted.

use lambda_http::{Body, Request, Response};
use onair_common::config::AudienceMode;
use onair_common::ids::{StageArn, StreamName};
use onair_common::response::respond;
use onair_common::stage::StageTarget;
use onair_common::stream::HostTarget;
use onair_common::{ApiError, App, stage, stream};
use serde::Serialize;

#[derive(Serialize)]
struct StreamStopped {
    stopped: bool,
    /// The room (`ivs` mode: `ivs-<stage id>`).
    room: Option<String>,
    stream: Option<StreamName>,
}

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond("stream_stop", stream_stop(app, &req).await)
}

async fn stream_stop(app: &App, req: &Request) -> Result<StreamStopped, ApiError> {
    if app.settings.audience_mode == AudienceMode::Ivs {
        return stage_stop(app, req).await;
    }
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
        room: Some(room.as_str().to_owned()),
    })
}

/// `ivs` mode: ends the stage of the host's token, or every stage of the named stream.
async fn stage_stop(app: &App, req: &Request) -> Result<StreamStopped, ApiError> {
    let target = app.gate().stage_host(req).await?;

    let ivs = app.ivs()?;
    let (stages, mut stream) = match target {
        StageTarget::Stage { arn, .. } => (vec![arn], None),
        StageTarget::Stream(name) => (stage::stream_stages(ivs, &name).await?, Some(name)),
    };
    let mut stopped = false;
    for arn in &stages {
        let ended = stage::end_stage(ivs, &app.settings, arn).await?;
        stopped |= ended.deleted;
        stream = stream.or(ended.stream);
    }
    Ok(StreamStopped {
        stopped,
        room: stages.first().map(StageArn::room),
        stream,
    })
}
