//! `POST /meeting_create`: the host opens a meeting and gets its invite link. Host auth as the
//! stream endpoints take it (the host session or a host token as a bearer, or `{password}` with
//! the same lock-out). Nothing is created at Twilio: the meeting's room is made by the first guest who
//! joins (`meeting_token`), so a meeting nobody joins costs nothing.
//!
//! The link is `<origin>/meet.html#invite=<invite>`: the invite rides in the fragment, which
//! browsers never send, so it stays out of CDN and server logs. The origin is the calling page's
//! (`Origin`); a caller without one (curl) gets the path alone, to put after the site's address.

use lambda_http::{Body, Request, Response};
use onair_common::ids::MeetingId;
use onair_common::response::respond;
use onair_common::{ApiError, App, request};
use serde::Serialize;

/// Where the meeting page is, on the pages' origin.
const MEETING_PAGE: &str = "/meet.html";

#[derive(Serialize)]
struct MeetingCreated {
    meeting: MeetingId,
    invite: String,
    invite_url: String,
    expires_at: u64,
}

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond("meeting_create", meeting_create(app, &req).await)
}

async fn meeting_create(app: &App, req: &Request) -> Result<MeetingCreated, ApiError> {
    app.gate().meeting_host(req).await?;

    let meeting = MeetingId::new_random();
    let invite = app.mint_invite(&meeting).await?;
    let origin = request::page_origin(req).unwrap_or_default();
    tracing::info!(meeting = %meeting, expires_at = invite.expires_at, "meeting created");
    Ok(MeetingCreated {
        invite_url: format!("{origin}{MEETING_PAGE}#invite={}", invite.text),
        meeting,
        invite: invite.text,
        expires_at: invite.expires_at,
    })
}
