//! `POST /subscribe`: a viewer who joined the room subscribe-only asks to receive the host's
//! tracks. Identity and room come from the caller's own verified audience token, so a caller
//! can only ever change their own rules. Not used in `ivs` mode (viewers subscribe through the
//! IVS stage with their token): a `404` there, with no IVS or Twilio call.

use lambda_http::{Body, Request, Response};
use onair_common::config::AudienceMode;
use onair_common::response::respond;
use onair_common::{ApiError, App, request};
use serde::Serialize;

#[derive(Serialize)]
struct Subscribed {
    rules: serde_json::Value,
}

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond("subscribe", subscribe(app, &req).await)
}

async fn subscribe(app: &App, req: &Request) -> Result<Subscribed, ApiError> {
    request::body(req)?;
    if app.settings.audience_mode == AudienceMode::Ivs {
        return Err(ApiError::NotFound(
            "subscribe is not used in ivs mode: the IVS stage sends viewers the host's tracks"
                .into(),
        ));
    }
    let viewer = app.gate().viewer(req).await?;

    let rules = serde_json::json!([
        { "type": "include", "publisher": app.settings.host_identity.as_str() }
    ]);
    let rules = app
        .twilio
        .set_subscribe_rules(&viewer.room, &viewer.identity, &rules)
        .await
        .map_err(|err| match err {
            err if err.is_not_found() => ApiError::NotFound(
                "you are not connected to the room; join it, then subscribe".into(),
            ),
            err => err.into(),
        })?;
    Ok(Subscribed { rules })
}
