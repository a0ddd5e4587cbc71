//! `POST /audience_token`: a viewer of a stream (`{stream}`, `main` if none) asks whether they
//! can join. If not, `{live: false, state}`. If so (in `room` mode the stream is ready or live:
//! viewers wait in the room for the host; in `live` mode it is live), a token for a fresh viewer
//! identity: in `room` mode to join the stream's room subscribe-only, in `live` mode with the
//! stream's shared PlaybackGrant. The lookup is remembered per container (docs/ARCHITECTURE.md,
//! The path of a request), so a crowd costs Twilio little; while Twilio fails, a failed lookup
//! is remembered briefly and answered `502` with `Retry-After`. In `ivs` mode, once the stream's
//! stage is live, a subscribe-only IVS participant token for it, minted here: the stage and its
//! endpoints come from the remembered lookup, so a viewer costs IVS no call.

use lambda_http::{Body, Request, Response};
use onair_common::audience::LiveStream;
use onair_common::config::AudienceMode;
use onair_common::ids::{Identity, StreamName};
use onair_common::response::respond;
use onair_common::stream::State;
use onair_common::token::Grant;
use onair_common::{ApiError, App, request};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, Default)]
struct AudienceTokenRequest {
    stream: Option<String>,
}

#[derive(Serialize)]
struct AudienceToken {
    /// Whether the viewer can join now (ready or live in `room` mode, live in `live` mode).
    live: bool,
    state: State,
    stream: StreamName,
    mode: AudienceMode,
    token: Option<String>,
    /// The room (`ivs` mode: `ivs-<stage id>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    room: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    identity: Option<Identity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    presenter: Option<Identity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    media: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<u64>,
}

impl AudienceToken {
    /// The answer while the stream cannot be joined.
    fn not_joinable(state: State, stream: StreamName, mode: AudienceMode) -> AudienceToken {
        AudienceToken {
            live: false,
            state,
            stream,
            mode,
            token: None,
            room: None,
            identity: None,
            presenter: None,
            media: None,
            expires_at: None,
        }
    }

    /// The answer to a viewer who can join: their token for `room`, and how to carry it.
    fn joinable(app: &App, state: State, stream: StreamName, viewer: Viewer) -> AudienceToken {
        AudienceToken {
            live: true,
            state,
            stream,
            mode: app.settings.audience_mode,
            token: Some(viewer.jwt),
            media: Some(viewer.media),
            room: Some(viewer.room),
            identity: Some(viewer.identity),
            presenter: Some(app.settings.host_identity.clone()),
            expires_at: Some(viewer.expires_at),
        }
    }
}

/// A viewer's token and where it takes them.
struct Viewer {
    identity: Identity,
    jwt: String,
    expires_at: u64,
    room: String,
    media: serde_json::Value,
}

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond("audience_token", audience_token(app, &req).await)
}

async fn audience_token(app: &App, req: &Request) -> Result<AudienceToken, ApiError> {
    let body: AudienceTokenRequest = request::optional_json_body(req)?;
    let stream = request::stream_name(body.stream.as_deref())?;
    let mode = app.settings.audience_mode;
    if mode == AudienceMode::Ivs {
        return stage_audience_token(app, stream).await;
    }

    let (status, joinable) = app
        .audience
        .joinable(&app.twilio, &app.settings, &stream)
        .await?;
    let Some(LiveStream { room, playback }) = joinable else {
        return Ok(AudienceToken::not_joinable(status.state, stream, mode));
    };
    let (grant, ttl) = match playback {
        Some(playback) => (
            Grant::Playback(playback.grant),
            app.settings.playback_grant_ttl,
        ),
        None => (Grant::VideoRoom(room.clone()), app.settings.stream_max),
    };
    let identity = Identity::new_viewer();
    let token = app.mint_token(&identity, &grant, ttl).await?;
    let viewer = Viewer {
        identity,
        jwt: token.jwt,
        expires_at: token.expires_at,
        media: app.settings.media_path.for_viewer(&room),
        room: room.as_str().to_owned(),
    };
    Ok(AudienceToken::joinable(app, status.state, stream, viewer))
}

/// `ivs` mode: a viewer's subscribe-only token for the stream's live stage.
async fn stage_audience_token(app: &App, stream: StreamName) -> Result<AudienceToken, ApiError> {
    let mode = app.settings.audience_mode;
    let (status, endpoints) = app.audience.stage_joinable(app.ivs()?, &stream).await?;
    let Some(endpoints) = endpoints else {
        return Ok(AudienceToken::not_joinable(status.state, stream, mode));
    };
    let identity = Identity::new_viewer();
    let token = app.mint_stage_token(&endpoints, &identity, &stream).await?;
    let room = endpoints.arn.room();
    let viewer = Viewer {
        identity,
        jwt: token.jwt,
        expires_at: token.expires_at,
        media: app.settings.media_path.for_stage_viewer(&room),
        room,
    };
    Ok(AudienceToken::joinable(app, status.state, stream, viewer))
}
