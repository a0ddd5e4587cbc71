//! `POST /host_token`: the host opens the studio for a stream. Signed in with a host session
//! (`Authorization: Bearer`, from `host_session`) or, as the original API did, with the
//! password in the body; `{stream}` names the stream (`main` if none). A stream already live is
//! a `409`; otherwise a fresh group room with cost bounds is made for it, ready for the host,
//! replacing the stream's other studio rooms, and the host's access token for it is minted.
//! In `ivs` mode the same with an IVS stage: a fresh stage replacing the stream's others, and
//! the host's participant token (publish) for it, with the stage's WHIP endpoint as `media`.

use lambda_http::{Body, Request, Response};
use onair_common::auth::PasswordInput;
use onair_common::config::AudienceMode;
use onair_common::ids::{Identity, StreamName};
use onair_common::response::respond;
use onair_common::token::{self, Grant};
use onair_common::{ApiError, App, request, stage, stream};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, Default)]
struct HostTokenRequest {
    password: Option<PasswordInput>,
    stream: Option<String>,
}

#[derive(Serialize)]
struct HostToken {
    token: String,
    /// The room (`ivs` mode: `ivs-<stage id>`, the stage's room on the local relay).
    room: String,
    stream: StreamName,
    identity: Identity,
    mode: AudienceMode,
    media: serde_json::Value,
    expires_at: u64,
    /// Where viewers watch this stream, on the pages' own origin.
    audience_url: String,
}

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond("host_token", host_token(app, &req).await)
}

async fn host_token(app: &App, req: &Request) -> Result<HostToken, ApiError> {
    let body: HostTokenRequest = request::optional_json_body(req)?;
    let gate = app.gate();
    gate.signed_in_host(req, body.password.as_ref()).await?;
    let stream = request::stream_name(body.stream.as_deref())?;
    if app.settings.audience_mode == AudienceMode::Ivs {
        return stage_host_token(app, stream).await;
    }

    // Twilio then tells `room_events` when the room ends, so its Live resources end at once.
    let callback = gate.status_callback(req).await?;
    let (created, room) =
        stream::open_room(&app.twilio, &app.settings, &stream, callback.as_deref()).await?;
    tracing::info!(stream = %stream, room = %room, room_sid = %created.sid, "studio room opened");

    let identity = &app.settings.host_identity;
    let token = app
        .mint_token(
            identity,
            &Grant::VideoRoom(room.clone()),
            app.settings.stream_max,
        )
        .await?;
    Ok(HostToken {
        token: token.jwt,
        media: app.settings.media_path.for_host(&room),
        audience_url: audience_url(&stream),
        room: room.as_str().to_owned(),
        stream,
        identity: identity.clone(),
        mode: app.settings.audience_mode,
        expires_at: token.expires_at,
    })
}

/// `ivs` mode: a fresh stage for `stream` and the host's publish token for it.
async fn stage_host_token(app: &App, stream: StreamName) -> Result<HostToken, ApiError> {
    let opened = stage::open_stage(app.ivs()?, &app.settings, &stream, token::unix_now()).await?;
    let identity = &app.settings.host_identity;
    let token = app
        .mint_stage_token(&opened.endpoints, identity, &stream)
        .await?;
    Ok(HostToken {
        token: token.jwt,
        room: opened.summary.arn.room(),
        media: app
            .settings
            .media_path
            .for_stage_host(&opened.endpoints.whip),
        audience_url: audience_url(&stream),
        stream,
        identity: identity.clone(),
        mode: app.settings.audience_mode,
        expires_at: token.expires_at,
    })
}

/// The audience link of `stream`, relative to the pages' origin: `/` for the default stream,
/// `/?stream=<name>` for any other (a name needs no escaping).
fn audience_url(stream: &StreamName) -> String {
    if *stream == StreamName::main() {
        "/".to_owned()
    } else {
        format!("/?stream={stream}")
    }
}
