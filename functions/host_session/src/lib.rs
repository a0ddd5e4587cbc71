//! `POST /host_session`: the host signs in to the studio. Checks the password (constant time,
//! with the lock-out of too many wrong ones) and answers a host session: a token only this
//! service reads, naming the host and no room, that opens studio rooms (`host_token`) for 12
//! hours. The page sends the password here and nowhere else.

use lambda_http::{Body, Request, Response};
use onair_common::auth::{HOST_SESSION_TTL, PasswordInput};
use onair_common::ids::Identity;
use onair_common::response::respond;
use onair_common::token::Grant;
use onair_common::{ApiError, App, request};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct HostSessionRequest {
    password: PasswordInput,
}

#[derive(Serialize)]
struct HostSession {
    session: String,
    identity: Identity,
    expires_at: u64,
}

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond("host_session", host_session(app, &req).await)
}

async fn host_session(app: &App, req: &Request) -> Result<HostSession, ApiError> {
    let body: HostSessionRequest = request::json_body(req)?;
    app.gate()
        .host_password(request::source_address(req), &body.password)
        .await?;

    let identity = &app.settings.host_identity;
    let session = app
        .mint_token(identity, &Grant::HostSession, HOST_SESSION_TTL)
        .await?;
    Ok(HostSession {
        session: session.jwt,
        identity: identity.clone(),
        expires_at: session.expires_at,
    })
}
