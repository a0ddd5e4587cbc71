//! `POST /meeting_token {invite, name}`: a guest with an invite joins a meeting. The invite is
//! checked with no lookup (a forged, expired or malformed one is a 401 that costs no Twilio
//! call), the name is parsed (400 if unusable), then the meeting's group room is opened, created
//! with cost bounds by the first join (`meeting::open_room`; 409 when full), and the guest gets
//! a token for a fresh identity that carries the name (`ids::MeetingIdentity`).

use lambda_http::{Body, Request, Response};
use onair_common::ids::{DisplayName, MeetingId, MeetingIdentity, MeetingRoom};
use onair_common::response::respond;
use onair_common::{ApiError, App, meeting, request};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct JoinRequest {
    invite: String,
    name: String,
}

#[derive(Serialize)]
struct MeetingToken {
    token: String,
    room: MeetingRoom,
    identity: MeetingIdentity,
    name: DisplayName,
    /// Always `meeting`: what the token is for, beside the stream endpoints' audience modes.
    mode: &'static str,
    media: serde_json::Value,
    expires_at: u64,
    meeting: MeetingId,
}

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond("meeting_token", meeting_token(app, &req).await)
}

async fn meeting_token(app: &App, req: &Request) -> Result<MeetingToken, ApiError> {
    let body: JoinRequest = request::json_body(req)?;
    let gate = app.gate();
    let meeting = gate.invite(&body.invite).await?;
    let name = DisplayName::parse(&body.name)?;

    let room = MeetingRoom::of(&meeting);
    let callback = gate.status_callback(req).await?;
    meeting::open_room(
        &app.twilio,
        &app.settings.meetings,
        &room,
        callback.as_deref(),
    )
    .await?;

    let identity = MeetingIdentity::new(&name);
    let token = app.mint_meeting_token(&identity, &room).await?;
    Ok(MeetingToken {
        token: token.jwt,
        media: app.settings.media_path.for_meeting(&room),
        room,
        identity,
        name,
        mode: "meeting",
        expires_at: token.expires_at,
        meeting,
    })
}
