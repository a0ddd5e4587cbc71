//! `POST /stream_start`: the host, connected to their room, goes live. The room must be in
//! progress with the host in it, and no other room of its stream may have gone on air first
//! (`409`: first on air wins). In `room` mode that is all (viewers find the room by itself); in
//! `live` mode it also starts the room's PlayerStreamer and MediaProcessor, once per room. In
//! `ivs` mode the host's token names a stage: it must exist with the host publishing to it, the
//! first host to publish there (`409` otherwise); viewers find it live by themselves.

use lambda_http::{Body, Request, Response};
use onair_common::config::AudienceMode;
use onair_common::ids::{StageArn, StreamName};
use onair_common::response::respond;
use onair_common::{ApiError, App, stage, stream};
use serde::Serialize;

#[derive(Serialize)]
struct StreamStarted {
    stream: StreamInfo,
}

#[derive(Serialize)]
struct StreamInfo {
    /// The stream's name (absent for a room named before streams had names).
    name: Option<StreamName>,
    /// The room (`ivs` mode: `ivs-<stage id>`).
    room: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    room_sid: Option<String>,
    /// `ivs` mode: the stage.
    #[serde(skip_serializing_if = "Option::is_none")]
    stage_arn: Option<StageArn>,
    mode: AudienceMode,
    #[serde(flatten)]
    live: Option<stream::LiveResources>,
}

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond("stream_start", stream_start(app, &req).await)
}

async fn stream_start(app: &App, req: &Request) -> Result<StreamStarted, ApiError> {
    if app.settings.audience_mode == AudienceMode::Ivs {
        return stage_start(app, req).await;
    }
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
            room: on_air.name.as_str().to_owned(),
            room_sid: Some(on_air.room.sid),
            stage_arn: None,
            mode: settings.audience_mode,
            live,
        },
    })
}

/// `ivs` mode: the host's stage, with the host publishing to it first.
async fn stage_start(app: &App, req: &Request) -> Result<StreamStarted, ApiError> {
    let target = app.gate().stage_host(req).await?;

    let on_air = stage::host_on_air(app.ivs()?, &app.settings, &target).await?;
    tracing::info!(stage = %on_air.stage.arn, stream = ?on_air.stream, participant = %on_air.host.participant_id, "stream started");
    Ok(StreamStarted {
        stream: StreamInfo {
            name: on_air.stream,
            room: on_air.stage.arn.room(),
            room_sid: None,
            stage_arn: Some(on_air.stage.arn),
            mode: app.settings.audience_mode,
            live: None,
        },
    })
}
