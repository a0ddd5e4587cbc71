//! `POST /host_token`: the host logs in. Checks the password (constant time), creates a fresh
//! group room with cost bounds, and mints the host's access token for it.

use lambda_http::{Body, Request, Response};
use onair_common::auth::PasswordInput;
use onair_common::config::AudienceMode;
use onair_common::ids::{Identity, RoomName};
use onair_common::response::respond;
use onair_common::token::Grant;
use onair_common::{ApiError, App, request, stream};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct HostTokenRequest {
    password: PasswordInput,
}

#[derive(Serialize)]
struct HostToken {
    token: String,
    room: RoomName,
    identity: Identity,
    mode: AudienceMode,
    media: serde_json::Value,
    expires_at: u64,
}

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond("host_token", host_token(app, &req).await)
}

async fn host_token(app: &App, req: &Request) -> Result<HostToken, ApiError> {
    let body: HostTokenRequest = request::json_body(req)?;
    let gate = app.gate();
    gate.host_password(request::source_address(req), &body.password)
        .await?;

    let room = RoomName::new_random();
    let bounds = stream::room_bounds(&app.settings);
    // Twilio then tells `room_events` when the room ends, so its Live resources end at once.
    let callback = gate.status_callback(req).await?;
    let created = app
        .twilio
        .create_room(&room, &bounds, callback.as_deref())
        .await?;
    tracing::info!(room = %room, room_sid = %created.sid, "room created for the host");

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
        room,
        identity: identity.clone(),
        mode: app.settings.audience_mode,
        expires_at: token.expires_at,
    })
}
