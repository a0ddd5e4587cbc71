//! `POST /audience_token`: a viewer asks whether anything is live. If not, `{live: false}`. If
//! so, a token for a fresh viewer identity: in `room` mode to join the host's room
//! subscribe-only, in `live` mode with the shared PlaybackGrant. The lookup is cached for a few
//! seconds and the grant reused, so a crowd costs Twilio little; while Twilio fails, a failed
//! lookup is remembered for two seconds and answered `502` with `Retry-After`.

use lambda_http::{Body, Request, Response};
use onair_common::audience::LiveStream;
use onair_common::config::AudienceMode;
use onair_common::ids::{Identity, RoomName};
use onair_common::response::respond;
use onair_common::token::Grant;
use onair_common::{ApiError, App, request};
use serde::Serialize;

#[derive(Serialize)]
struct AudienceToken {
    live: bool,
    mode: AudienceMode,
    token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    room: Option<RoomName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    identity: Option<Identity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    presenter: Option<Identity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    media: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<u64>,
}

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond("audience_token", audience_token(app, &req).await)
}

async fn audience_token(app: &App, req: &Request) -> Result<AudienceToken, ApiError> {
    // No credentials and no input: only the method and size are checked.
    request::body(req)?;
    let mode = app.settings.audience_mode;

    let live = app.audience.live_stream(&app.twilio, &app.settings).await?;
    let Some(LiveStream { room, playback }) = live else {
        return Ok(AudienceToken {
            live: false,
            mode,
            token: None,
            room: None,
            identity: None,
            presenter: None,
            media: None,
            expires_at: None,
        });
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
    Ok(AudienceToken {
        live: true,
        mode,
        token: Some(token.jwt),
        media: Some(app.settings.media_path.for_viewer(&room)),
        room: Some(room),
        identity: Some(identity),
        presenter: Some(app.settings.host_identity.clone()),
        expires_at: Some(token.expires_at),
    })
}
