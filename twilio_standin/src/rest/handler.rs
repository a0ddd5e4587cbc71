//! The handler's side of a REST call: what a handler takes ([`Req`], [`PathArgs`]) and what it
//! answers ([`Reply`]: an [`Answer`] or a Twilio error).

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{INTERNAL, TwilioError};
use crate::params::Params;
use crate::render::Ctx;
use crate::shared::Shared;

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

/// What every handler gets from a call that passed the REST checks (`rest::admit`, which hands
/// on the well-formed [`Params`]).
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
