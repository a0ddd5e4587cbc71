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
//!    405 (20004).
//!
//! Handlers take a [`Req`] (the parameters, the path, what rendering needs, the shared state) and
//! the path's segments as [`PathArgs`], check the parameters against their operation's list
//! (`params`), and answer an [`Answer`] or a [`TwilioError`].

mod live;
mod participants;
mod rooms;

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::account::Account;
use crate::calls::Call;
use crate::error::{INTERNAL, TwilioError};
use crate::layers;
use crate::params::Params;
use crate::render::Ctx;
use crate::shared::Shared;

/// Largest request body accepted.
const MAX_BODY: usize = 1 << 20;

/// The REST routes with their layers; the router's fallback answers Twilio's 404 for any path
/// no other surface serves.
pub(crate) fn router(shared: Arc<Shared>) -> Router<Arc<Shared>> {
    const RULES: &str = "/v1/Rooms/{room}/Participants/{participant}/SubscribeRules";
    Router::new()
        .route("/v1/Rooms", get(rooms::list).post(rooms::create))
        .route("/v1/Rooms/{room}", get(rooms::fetch).post(rooms::update))
        .route("/v1/Rooms/{room}/Participants", get(participants::list))
        .route(
            "/v1/Rooms/{room}/Participants/{participant}",
            get(participants::fetch).post(participants::update),
        )
        .route(
            RULES,
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
        .route_layer(from_fn(no_head))
        .layer(from_fn_with_state(shared.clone(), admit))
        .layer(from_fn_with_state(shared.clone(), layers::apply_faults))
        .layer(from_fn_with_state(shared, record))
        .layer(from_fn(layers::hold_and_log))
}

/// A handler's success: its status and the resource as Twilio's JSON.
pub(crate) struct Answer(StatusCode, Value);

impl Answer {
    pub(crate) fn ok(body: Value) -> Self {
        Answer(StatusCode::OK, body)
    }

    pub(crate) fn created(body: Value) -> Self {
        Answer(StatusCode::CREATED, body)
    }

    pub(crate) fn accepted(body: Value) -> Self {
        Answer(StatusCode::ACCEPTED, body)
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        (self.0, axum::Json(self.1)).into_response()
    }
}

/// What a handler answers.
pub(crate) type Reply = Result<Answer, TwilioError>;

/// What every handler gets from a call that passed [`admit`].
pub(crate) struct Req {
    pub(crate) shared: Arc<Shared>,
    /// The request path as sent (still percent-encoded), for page URLs.
    pub(crate) path: String,
    pub(crate) params: Params,
    pub(crate) ctx: Ctx,
}

impl FromRequestParts<Arc<Shared>> for Req {
    type Rejection = TwilioError;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<Shared>,
    ) -> Result<Self, Self::Rejection> {
        let params = parts.extensions.get::<Params>().cloned().ok_or_else(|| {
            TwilioError::new(500, INTERNAL, "The call did not pass the stand-in's checks")
        })?;
        Ok(Req {
            shared: shared.clone(),
            path: parts.uri.path().to_owned(),
            params,
            ctx: Ctx {
                base: base_url(&parts.headers, &shared.local_base),
                account_sid: shared.account.account_sid.clone(),
            },
        })
    }
}

/// The path's segments (`{room}`, `{participant}`, `{sid}`), percent-decoded; a segment that
/// does not decode to UTF-8 names no resource (404, 20404).
pub(crate) struct PathArgs<T>(pub(crate) T);

impl<T, S> FromRequestParts<S> for PathArgs<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = TwilioError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(args)) => Ok(PathArgs(args)),
            Err(_) => Err(TwilioError::not_found(parts.uri.path())),
        }
    }
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

/// `http://<Host>` when the request names a plausible host, else the listener's own address,
/// so `url`, `links` and page URLs point where the caller reached us.
fn base_url(headers: &HeaderMap, fallback: &str) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
        });
    match host {
        Some(h) => format!("http://{h}"),
        None => fallback.to_owned(),
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

/// `HEAD` is not one of Twilio's methods here (axum would answer it with the `GET` route).
async fn no_head(request: Request, next: Next) -> Response {
    if request.method() == Method::HEAD {
        return TwilioError::method_not_allowed("HEAD").into_response();
    }
    next.run(request).await
}
