//! The Twilio REST surface: the `/v1/...` routes of Video (`rooms`, `participants`) and Media
//! (`live`), and what every call goes through, outermost first:
//!
//! 1. [`layers::hold_and_log`]: one log line; a late answer held back;
//! 2. [`record`], the call log: reads the query and form parameters once, records the call with
//!    the status it got;
//! 3. [`layers::apply_faults`]: an injected status answers instead of everything below;
//! 4. [`admit`]: HTTP Basic with one of the account's credential pairs (401, 20003), then
//!    well-formed parameters (400, 20001);
//! 5. the route; an unknown path is Twilio's 404 (20404), a method the path does not take its
//!    405 (20004) with `Allow`; `HEAD` is answered as `GET` without a body (axum's rule).
//!
//! Handlers (`handler`: what they take and answer) check the parameters against their
//! operation's list (`params`) and answer Twilio's JSON or a [`TwilioError`].

mod handler;
mod live;
mod participants;
mod rooms;

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, Uri, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;

use crate::account::Account;
use crate::calls::Call;
use crate::error::{INTERNAL, TwilioError};
use crate::layers;
use crate::params::Params;
use crate::shared::Shared;

/// Largest request body accepted.
const MAX_BODY: usize = 1 << 20;

/// The REST routes with their layers; the router's fallback answers Twilio's 404 for any path
/// no other surface serves.
pub(crate) fn router(shared: Arc<Shared>) -> Router<Arc<Shared>> {
    Router::new()
        .route("/v1/Rooms", get(rooms::list).post(rooms::create))
        .route("/v1/Rooms/{room}", get(rooms::fetch).post(rooms::update))
        .route("/v1/Rooms/{room}/Participants", get(participants::list))
        .route(
            "/v1/Rooms/{room}/Participants/{participant}",
            get(participants::fetch).post(participants::update),
        )
        .route(
            "/v1/Rooms/{room}/Participants/{participant}/SubscribeRules",
            get(participants::fetch_rules).post(participants::update_rules),
        )
        .route(
            "/v1/PlayerStreamers",
            get(live::list_streamers).post(live::create_streamer),
        )
        .route(
            "/v1/PlayerStreamers/{sid}",
            get(live::fetch_streamer).post(live::update_streamer),
        )
        .route(
            "/v1/PlayerStreamers/{sid}/PlaybackGrant",
            get(live::fetch_grant).post(live::create_grant),
        )
        .route(
            "/v1/MediaProcessors",
            get(live::list_processors).post(live::create_processor),
        )
        .route(
            "/v1/MediaProcessors/{sid}",
            get(live::fetch_processor).post(live::update_processor),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn_with_state(shared.clone(), admit))
        .layer(from_fn_with_state(shared.clone(), layers::apply_faults))
        .layer(from_fn_with_state(shared, record))
        .layer(from_fn(layers::hold_and_log))
}

/// The query and form parameters as [`record`] read them, before [`admit`] lets well-formed
/// ones through as [`Params`].
#[derive(Clone)]
struct Parsed(Result<Params, TwilioError>);

/// The call log: reads the parameters once (for the handlers and the log), lets the layers
/// below answer, and records the call with its status; any call but a `GET` may have changed
/// who is connected or subscribed, so the media relay looks again.
async fn record(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let parsed = read_params(&parts, body).await;
    let logged_params = parsed
        .as_ref()
        .map(|p| p.pairs().to_vec())
        .unwrap_or_default();
    parts.extensions.insert(Parsed(parsed));
    let method = parts.method.clone();
    let path = parts.uri.path().to_owned();
    let response = next.run(Request::from_parts(parts, Body::empty())).await;
    if method != Method::GET {
        shared.touch();
    }
    shared.record(Call {
        method: method.as_str().to_owned(),
        path,
        params: logged_params,
        status: response.status().as_u16(),
    });
    response
}

/// Query parameters, then form parameters, in arrival order.
async fn read_params(parts: &Parts, body: Body) -> Result<Params, TwilioError> {
    let body = to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| TwilioError::invalid("Request body too large or unreadable"))?;
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    Params::parse(parts.uri.query().unwrap_or(""), content_type, &body)
}

/// Lets through the calls with the account's credentials and well-formed parameters.
async fn admit(State(shared): State<Arc<Shared>>, mut request: Request, next: Next) -> Response {
    if !authorized(request.headers(), &shared.account) {
        return TwilioError::authenticate().into_response();
    }
    match request.extensions_mut().remove::<Parsed>() {
        Some(Parsed(Ok(params))) => {
            request.extensions_mut().insert(params);
            next.run(request).await
        }
        Some(Parsed(Err(error))) => error.into_response(),
        None => TwilioError::new(500, INTERNAL, "The call log did not read the parameters")
            .into_response(),
    }
}

/// HTTP Basic with one of the account's two credential pairs.
fn authorized(headers: &HeaderMap, account: &Account) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some((scheme, encoded)) = value.trim().split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let Ok(text) = String::from_utf8(decoded) else {
        return false;
    };
    match text.split_once(':') {
        Some((user, password)) => account.accepts(user, password),
        None => false,
    }
}

/// Twilio's 404 for a path that names no resource.
async fn not_found(uri: Uri) -> TwilioError {
    TwilioError::not_found(uri.path())
}

/// Twilio's 405 for a method the path does not take.
async fn method_not_allowed(method: Method) -> TwilioError {
    TwilioError::method_not_allowed(method.as_str())
}
