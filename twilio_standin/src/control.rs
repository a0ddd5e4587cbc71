//! The control API under `/__standin/` (no auth, JSON) for out-of-process users: call log,
//! faults, clock, simulated clients joining and leaving, and a snapshot of all state.
//!
//! A fault applies to the calls whose method is `method` (any if absent) and whose path contains
//! `path_contains`: REST calls (`/v1/...`), the media routes (`/media/whip/...`,
//! `/media/whep/...`, `/media/ivs/whip/...`, `/media/sessions/...`, `/media/rooms/...`) and the
//! IVS API (`/ivs/CreateStage`...; an injected status answers the model's exception of that
//! status, `InternalServerException` for other 5xx, `ThrottlingException` for 429), never these
//! control routes.
//! Counting matching calls from when it is added, it applies to calls `nth` through
//! `nth + times - 1`: `status` (400 to 599) answers Twilio's error body with that status instead
//! of handling the call; `delay_ms` handles the call, then holds its answer back that long.
//!
//! | route | body | does |
//! |---|---|---|
//! | `GET /__standin/calls` | | the call log (REST calls only): `[{method, path, params: [[name, value]...], status}]` |
//! | `DELETE /__standin/calls` | | clears it (204) |
//! | `GET /__standin/ivs/calls` | | the IVS API's call log: `[{operation, request, status, response, error_type}]` (request and response bodies as JSON, `error_type` the `x-amzn-ErrorType` or null) |
//! | `DELETE /__standin/ivs/calls` | | clears it (204) |
//! | `POST /__standin/ivs/participants` | `{stage_arn, user_id}` | a simulated publisher joins the stage, no WebRTC (201 `{participant_id}`; 404 no such stage) |
//! | `GET /__standin/ivs/state` | | the IVS stages that exist: `{stages: [{arn, name, active_session_id, tags, participants: [{participant_id, user_id, session_id, connected, published}]}]}` |
//! | `GET /__standin/callbacks` | | room status callbacks sent: `[{url, method, event, params: [[name, value]...], signature, status, error}]` |
//! | `POST /__standin/faults` | `{method?, path_contains, nth? = 1, times? = 1, status? , delay_ms?}` (exactly one of `status`, `delay_ms`) | adds a fault for REST or `/media` calls (201), e.g. `{"method": "POST", "path_contains": "/media/whep/", "status": 503}` |
//! | `DELETE /__standin/faults` | | removes all faults (204) |
//! | `POST /__standin/clock` | `{advance_secs}` | moves the clock forward; answers `{now}` |
//! | `POST /__standin/rooms/{room}/participants` | `{identity}` | a client joins (201 `{sid}`; 404 no room; 409 room not in progress or full; 400 bad identity) |
//! | `DELETE /__standin/rooms/{room}/participants/{identity}` | | that client leaves (204; 404 if not connected) |
//! | `GET /__standin/state` | | `{now, rooms: [{..., participants: [{..., subscribe_rules}]}], player_streamers, media_processors}` |
//! | `GET /__standin/media` | | the relay: `{udp: ["127.0.0.1:PORT"...], sessions: [{id, room_sid, room_name, role, mode, identity, participant_sid, player_streamer_sid, publishes, publications: [{kind, muted}], watching, first_packet_at_ms, first_forwarded_at_ms}], stats: {sessions_opened, sessions_closed, packets_received, packets_forwarded, bytes_forwarded, keyframe_requests, packets_stalled}}` |
//! | `POST /__standin/media/stall` | `{room, seconds}` (room: unique name or RM sid, in progress; seconds: 0 to 600, 0 ends a stall) | stops forwarding the room's media to its viewers that long, then resumes with keyframe requests: `{room_sid, until_ms}` (404 no such room in progress) |

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde_json::json;

use crate::clock::iso;
use crate::error::TwilioError;
use crate::faults::{Fault, FaultAction};
use crate::inspect;
use crate::ivs::Ivs;
use crate::media::Hub;
use crate::shared::Shared;
use crate::state::JoinError;

type AppState = State<Arc<Shared>>;

/// The longest stall the control API takes.
const MAX_STALL_SECONDS: f64 = 600.0;

pub(crate) fn router(hub: Arc<Hub>, ivs: Arc<Ivs>) -> Router<Arc<Shared>> {
    let stall_hub = hub.clone();
    let ivs_calls = ivs.clone();
    let ivs_state = ivs.clone();
    let ivs_join = ivs.clone();
    Router::new()
        .route(
            "/media/stall",
            post(move |body: Result<Json<StallBody>, JsonRejection>| {
                let hub = stall_hub.clone();
                async move { stall(&hub, body) }
            }),
        )
        .route(
            "/media",
            get(move || {
                let hub = hub.clone();
                async move {
                    Json(json!({
                        "udp": hub.udp_addrs().iter().map(ToString::to_string).collect::<Vec<_>>(),
                        "sessions": hub.sessions(),
                        "stats": hub.stats(),
                    }))
                }
            }),
        )
        .route("/calls", get(calls).delete(clear_calls))
        .route(
            "/ivs/calls",
            get(move || {
                let ivs = ivs_calls.clone();
                async move { Json(ivs.calls()) }
            })
            .delete(move || {
                let ivs = ivs.clone();
                async move {
                    ivs.clear_calls();
                    StatusCode::NO_CONTENT
                }
            }),
        )
        .route(
            "/ivs/participants",
            post(move |body: Result<Json<IvsJoinBody>, JsonRejection>| {
                let ivs = ivs_join.clone();
                async move { ivs_join_publisher(&ivs, body) }
            }),
        )
        .route(
            "/ivs/state",
            get(move || {
                let ivs = ivs_state.clone();
                async move { Json(json!({ "stages": ivs.stages() })) }
            }),
        )
        .route("/callbacks", get(callbacks))
        .route("/faults", post(add_fault).delete(clear_faults))
        .route("/clock", post(advance_clock))
        .route("/rooms/{room}/participants", post(join))
        .route("/rooms/{room}/participants/{identity}", delete(leave))
        .route("/state", get(state))
        .fallback(not_found)
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "no such control route")
}

async fn calls(State(shared): AppState) -> Response {
    Json(shared.calls()).into_response()
}

async fn callbacks(State(shared): AppState) -> Response {
    Json(shared.callbacks()).into_response()
}

async fn clear_calls(State(shared): AppState) -> StatusCode {
    shared.clear_calls();
    StatusCode::NO_CONTENT
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IvsJoinBody {
    stage_arn: String,
    user_id: String,
}

fn ivs_join_publisher(ivs: &Ivs, body: Result<Json<IvsJoinBody>, JsonRejection>) -> Response {
    let body = match body {
        Ok(Json(b)) => b,
        Err(rejection) => return error(StatusCode::BAD_REQUEST, rejection.body_text()),
    };
    match ivs.connect_simulated(&body.stage_arn, &body.user_id) {
        Ok(id) => (StatusCode::CREATED, Json(json!({ "participant_id": id }))).into_response(),
        Err(e) => error(StatusCode::NOT_FOUND, e),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultBody {
    method: Option<String>,
    path_contains: String,
    nth: Option<u32>,
    times: Option<u32>,
    status: Option<u16>,
    delay_ms: Option<u64>,
}

async fn add_fault(
    State(shared): AppState,
    body: Result<Json<FaultBody>, JsonRejection>,
) -> Response {
    let body = match body {
        Ok(Json(b)) => b,
        Err(rejection) => return error(StatusCode::BAD_REQUEST, rejection.body_text()),
    };
    let action = match (body.status, body.delay_ms) {
        (Some(status), None) if (400..=599).contains(&status) => FaultAction::Status(status),
        (Some(_), None) => return error(StatusCode::BAD_REQUEST, "status must be 400 to 599"),
        (None, Some(ms)) => FaultAction::Delay(Duration::from_millis(ms)),
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "give exactly one of status and delay_ms",
            );
        }
    };
    let nth = body.nth.unwrap_or(1);
    let times = body.times.unwrap_or(1);
    if nth == 0 || times == 0 {
        return error(StatusCode::BAD_REQUEST, "nth and times start at 1");
    }
    shared.inject(Fault {
        method: body.method,
        path_contains: body.path_contains,
        nth,
        times,
        action,
    });
    (StatusCode::CREATED, Json(json!({}))).into_response()
}

async fn clear_faults(State(shared): AppState) -> StatusCode {
    shared.clear_faults();
    StatusCode::NO_CONTENT
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockBody {
    advance_secs: u64,
}

async fn advance_clock(
    State(shared): AppState,
    body: Result<Json<ClockBody>, JsonRejection>,
) -> Response {
    match body {
        Ok(Json(b)) => {
            shared.advance_clock(Duration::from_secs(b.advance_secs));
            Json(json!({ "now": iso(shared.now()) })).into_response()
        }
        Err(rejection) => error(StatusCode::BAD_REQUEST, rejection.body_text()),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JoinBody {
    identity: String,
}

async fn join(
    State(shared): AppState,
    Path(room): Path<String>,
    body: Result<Json<JoinBody>, JsonRejection>,
) -> Response {
    let body = match body {
        Ok(Json(b)) => b,
        Err(rejection) => return error(StatusCode::BAD_REQUEST, rejection.body_text()),
    };
    match shared.join(&room, &body.identity) {
        Ok(sid) => (StatusCode::CREATED, Json(json!({ "sid": sid }))).into_response(),
        Err(e) => {
            let status = match e {
                JoinError::NoRoom => StatusCode::NOT_FOUND,
                JoinError::BadIdentity => StatusCode::BAD_REQUEST,
                JoinError::NotInProgress | JoinError::Full(_) => StatusCode::CONFLICT,
            };
            error(status, format!("{room}: {e}"))
        }
    }
}

async fn leave(
    State(shared): AppState,
    Path((room, identity)): Path<(String, String)>,
) -> Response {
    if shared.disconnect_participant(&room, &identity) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        error(
            StatusCode::NOT_FOUND,
            format!("{identity} is not connected to {room}"),
        )
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StallBody {
    room: String,
    seconds: f64,
}

fn stall(hub: &Hub, body: Result<Json<StallBody>, JsonRejection>) -> Response {
    let body = match body {
        Ok(Json(b)) => b,
        Err(rejection) => return error(StatusCode::BAD_REQUEST, rejection.body_text()),
    };
    if !(0.0..=MAX_STALL_SECONDS).contains(&body.seconds) {
        return error(
            StatusCode::BAD_REQUEST,
            format!("seconds must be 0 to {MAX_STALL_SECONDS}"),
        );
    }
    match hub.stall(&body.room, Duration::from_secs_f64(body.seconds)) {
        Ok((room_sid, until_ms)) => {
            Json(json!({ "room_sid": room_sid, "until_ms": until_ms })).into_response()
        }
        Err(TwilioError {
            status, message, ..
        }) => error(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            message,
        ),
    }
}

async fn state(State(shared): AppState) -> Response {
    Json(inspect::snapshot(&shared)).into_response()
}
