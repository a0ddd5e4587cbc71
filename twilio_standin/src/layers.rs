//! What the HTTP surfaces of the stand-in (the Twilio REST API under `/v1`, the media relay
//! under `/media`, the IVS API under `/ivs`) are wrapped in, and how a Twilio error becomes an answer:
//!
//! - [`apply_faults`], the fault layer: injected faults (`StandIn::inject`,
//!   `POST /__standin/faults`) apply to any route it wraps, matched by method and path substring;
//! - [`hold_and_log`], the outermost layer of a surface: holds back an answer a fault made late,
//!   then logs one line per request.
//!
//! The control API (`/__standin`) has neither: faults never apply to it and it is not logged.

use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

use crate::error::TwilioError;
use crate::error::{AUTHENTICATE, INTERNAL, INVALID_PARAMETER, NOT_FOUND, TOO_MANY_REQUESTS};
use crate::faults::FaultAction;
use crate::shared::Shared;

/// Twilio's error body with its status. A 401 names HTTP Basic in `WWW-Authenticate`, the REST
/// API's scheme (the media routes name their bearer scheme instead).
impl IntoResponse for TwilioError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(self.body())).into_response();
        if self.status == 401 {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Twilio API\""),
            );
        }
        response
    }
}

/// The error an injected `Status(status)` fault answers with (429 → 20429, 5xx → 20500).
fn injected(status: u16) -> TwilioError {
    let code = match status {
        401 => AUTHENTICATE,
        404 => NOT_FOUND,
        429 => TOO_MANY_REQUESTS,
        500..=599 => INTERNAL,
        _ => INVALID_PARAMETER,
    };
    let reason = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    TwilioError::new(status, code, format!("{reason} (injected by the stand-in)"))
}

/// Marks an answer to be held back this long before it is sent.
#[derive(Debug, Clone, Copy)]
struct HoldBack(Duration);

/// The fault layer: counts the call against every fault in force and applies the first whose
/// window covers it. `Status` answers with Twilio's error body instead of calling the route
/// (before anything else: auth, parameters, the route); `Delay` lets the route handle the call
/// and marks its answer for [`hold_and_log`] to hold back.
pub(crate) async fn apply_faults(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    apply_faults_as(&shared, request, next, |status| {
        injected(status).into_response()
    })
    .await
}

/// [`apply_faults`] for a surface with its own error bodies (the IVS API): `answer` renders an
/// injected status.
pub(crate) async fn apply_faults_as(
    shared: &Shared,
    request: Request,
    next: Next,
    answer: impl FnOnce(u16) -> Response,
) -> Response {
    match shared.fault_for(request.method().as_str(), request.uri().path()) {
        Some(FaultAction::Status(status)) => answer(status),
        Some(FaultAction::Delay(delay)) => {
            let mut response = next.run(request).await;
            response.extensions_mut().insert(HoldBack(delay));
            response
        }
        None => next.run(request).await,
    }
}

/// The outermost layer of a surface: holds back an answer the fault layer made late (so
/// everything inside, the call log and the count of answered calls included, sees the call
/// answered first, as with a slow network), then logs one line: method, path, status and time
/// (never a header or a parameter, so no credential or token reaches the log).
pub(crate) async fn hold_and_log(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    if let Some(HoldBack(delay)) = response.extensions().get::<HoldBack>().copied() {
        tokio::time::sleep(delay).await;
    }
    tracing::info!(
        "{method} {path} -> {} ({} ms)",
        response.status().as_u16(),
        started.elapsed().as_millis()
    );
    response
}
