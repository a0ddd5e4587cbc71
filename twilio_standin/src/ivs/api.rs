//! The `/ivs/<OperationName>` routes. Every call passes, outermost first: the log line (and a
//! late answer held back), the call log (request and response bodies as JSON), the fault layer
//! (an injected status answers a model-shaped error), the SigV4 check (403
//! `AccessDeniedException`), then the operation: its body parsed and checked (400
//! `ValidationException`), the state changed, the answer rendered as the model's output shape.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Value, json};

use super::error::AwsError;
use super::model::{self, parse};
use super::sigv4::{self, Signed};
use super::state::{self, PublicKey};
use super::token;
use super::{Ivs, IvsCall};
use crate::layers;
use crate::sid::random_hex;

/// Largest request or response body the call log reads.
const MAX_BODY: usize = 1 << 20;
/// ListStages' and ListParticipants' page size when the request names none.
const DEFAULT_PAGE: usize = 50;
/// The operations served, in the order of the contract.
pub(crate) const OPERATIONS: [&str; 9] = [
    "ImportPublicKey",
    "GetPublicKey",
    "DeletePublicKey",
    "CreateStage",
    "GetStage",
    "ListStages",
    "DeleteStage",
    "ListParticipants",
    "DisconnectParticipant",
];

type IvsState = State<Arc<Ivs>>;

/// The `/ivs` routes with their layers, to be merged into the stand-in's router.
pub(crate) fn router<S: Clone + Send + Sync + 'static>(ivs: Arc<Ivs>) -> Router<S> {
    Router::new()
        .route("/ivs/{*operation}", any(operation))
        .layer(from_fn_with_state(ivs.clone(), faults))
        .layer(from_fn_with_state(ivs.clone(), record))
        .layer(from_fn(layers::hold_and_log))
        .with_state(ivs)
}

async fn faults(State(ivs): IvsState, request: Request, next: Next) -> Response {
    layers::apply_faults_as(&ivs.shared, request, next, |status| {
        AwsError::injected(status).into_response()
    })
    .await
}

fn as_json(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

/// Logs the call: operation, request body, status, response body, error type.
async fn record(State(ivs): IvsState, request: Request, next: Next) -> Response {
    let operation = request
        .uri()
        .path()
        .strip_prefix("/ivs/")
        .unwrap_or_default()
        .to_owned();
    let (parts, body) = request.into_parts();
    let Ok(body) = to_bytes(body, MAX_BODY).await else {
        return AwsError::validation("The request body is too large").into_response();
    };
    let request_json = as_json(&body);
    let response = next.run(Request::from_parts(parts, Body::from(body))).await;
    let (parts, body) = response.into_parts();
    let body = to_bytes(body, MAX_BODY).await.unwrap_or_default();
    ivs.record(IvsCall {
        operation,
        request: request_json,
        status: parts.status.as_u16(),
        response: as_json(&body),
        error_type: parts
            .headers
            .get("x-amzn-ErrorType")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    });
    Response::from_parts(parts, Body::from(body))
}

/// One call: method and path, SigV4, then the operation.
async fn operation(
    State(ivs): IvsState,
    Path(name): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let known = OPERATIONS.contains(&name.as_str());
    if !known || method != Method::POST {
        return AwsError::not_found(format!(
            "No operation {method} /ivs/{name}: the stand-in serves POST /ivs/<{}>",
            OPERATIONS.join("|")
        ))
        .into_response();
    }
    let header_pairs: Vec<(&str, &str)> = headers
        .iter()
        .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?)))
        .collect();
    let signed = Signed {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query(),
        headers: header_pairs,
        body: &body,
    };
    let region = match sigv4::verify(&signed, &ivs.credentials, time::OffsetDateTime::now_utc()) {
        Ok(region) => region,
        Err(why) => return AwsError::access_denied(why).into_response(),
    };
    match dispatch(&ivs, &name, &region, &body) {
        Ok(answer) => axum::Json(answer).into_response(),
        Err(e) => e.into_response(),
    }
}

fn dispatch(ivs: &Ivs, name: &str, region: &str, body: &[u8]) -> Result<Value, AwsError> {
    match name {
        "ImportPublicKey" => import_public_key(ivs, region, parse(name, body)?),
        "GetPublicKey" => {
            let req: model::ByArn = parse(name, body)?;
            req.check("public-key")?;
            ivs.with_state(|s| {
                s.key(&req.arn)
                    .map(|k| json!({ "publicKey": model::public_key(k) }))
                    .ok_or_else(|| no_key(&req.arn))
            })
        }
        "DeletePublicKey" => {
            let req: model::ByArn = parse(name, body)?;
            req.check("public-key")?;
            ivs.with_state(|s| {
                let before = s.keys.len();
                s.keys.retain(|k| k.arn != req.arn);
                if s.keys.len() == before {
                    Err(no_key(&req.arn))
                } else {
                    Ok(json!({}))
                }
            })
        }
        "CreateStage" => {
            let req: model::CreateStage = parse(name, body)?;
            req.check()?;
            Ok(ivs.with_state(|s| {
                let stage = s.create_stage(
                    region,
                    req.name.unwrap_or_default(),
                    req.tags.unwrap_or_default(),
                );
                json!({ "stage": model::stage(stage, &ivs.whip_base), "participantTokens": [] })
            }))
        }
        "GetStage" => {
            let req: model::ByArn = parse(name, body)?;
            req.check("stage")?;
            ivs.with_state(|s| {
                s.stage_by_arn(&req.arn)
                    .map(|st| json!({ "stage": model::stage(st, &ivs.whip_base) }))
                    .ok_or_else(|| no_stage(&req.arn))
            })
        }
        "ListStages" => {
            let req: model::ListStages = parse(name, body)?;
            req.check()?;
            ivs.with_state(|s| {
                let (page, next) = page(&s.stages, req.next_token.as_deref(), req.max_results)?;
                let stages: Vec<Value> = page.iter().map(model::stage_summary).collect();
                Ok(with_next(json!({ "stages": stages }), next))
            })
        }
        "DeleteStage" => {
            let req: model::ByArn = parse(name, body)?;
            req.check("stage")?;
            let deleted = ivs.with_state(|s| s.delete_stage(&req.arn));
            if !deleted {
                return Err(no_stage(&req.arn));
            }
            // The relay ends the stage room's sessions when it sees the stage gone.
            ivs.shared.touch();
            Ok(json!({}))
        }
        "ListParticipants" => {
            let req: model::ListParticipants = parse(name, body)?;
            req.check()?;
            ivs.with_state(|s| {
                let stage_id = state::id_of(&req.stage_arn, "stage").unwrap_or_default();
                let matching: Vec<&state::Participant> = s
                    .participants
                    .iter()
                    .filter(|p| p.stage_id == stage_id && p.session_id == req.session_id)
                    .filter(|p| {
                        req.filter_by_user_id
                            .as_ref()
                            .is_none_or(|u| &p.user_id == u)
                    })
                    .filter(|p| req.filter_by_published.is_none_or(|b| p.published == b))
                    .filter(|p| {
                        req.filter_by_state.is_none_or(|st| {
                            (st == model::ParticipantState::Connected) == p.connected()
                        })
                    })
                    // Nothing is recorded, so no participant has a recording state to match.
                    .filter(|_| req.filter_by_recording_state.is_none())
                    .collect();
                let (page, next) = page(&matching, req.next_token.as_deref(), req.max_results)?;
                let participants: Vec<Value> = page.iter().map(|p| model::participant(p)).collect();
                Ok(with_next(json!({ "participants": participants }), next))
            })
        }
        "DisconnectParticipant" => {
            let req: model::DisconnectParticipant = parse(name, body)?;
            req.check()?;
            let result = ivs.with_state(|s| {
                let stage_id = s
                    .stage_by_arn(&req.stage_arn)
                    .map(|st| st.id.clone())
                    .ok_or_else(|| no_stage(&req.stage_arn))?;
                s.disconnect(&stage_id, &req.participant_id).map_err(|()| {
                    AwsError::not_found(format!(
                        "No participant {} on stage {}",
                        req.participant_id, req.stage_arn
                    ))
                })
            });
            result?;
            // The relay ends the participant's session when it sees it disconnected.
            ivs.shared.touch();
            Ok(json!({}))
        }
        _ => Err(AwsError::not_found(format!("No operation {name}"))),
    }
}

fn import_public_key(
    ivs: &Ivs,
    region: &str,
    req: model::ImportPublicKey,
) -> Result<Value, AwsError> {
    req.check()?;
    let (fingerprint, decoding) =
        token::check_public_key(&req.public_key_material).map_err(AwsError::validation)?;
    ivs.with_state(|s| {
        if s.keys.iter().any(|k| k.fingerprint == fingerprint) {
            return Err(AwsError::conflict("This public key is already imported"));
        }
        let key = PublicKey {
            arn: state::arn(region, "public-key", &random_hex(6)),
            name: req.name.unwrap_or_default(),
            material: req.public_key_material,
            fingerprint,
            decoding,
            tags: req.tags.unwrap_or_default(),
        };
        let answer = json!({ "publicKey": model::public_key(&key) });
        s.keys.push(key);
        Ok(answer)
    })
}

fn no_key(arn: &str) -> AwsError {
    AwsError::not_found(format!("Public key {arn} not found"))
}

fn no_stage(arn: &str) -> AwsError {
    AwsError::not_found(format!("Stage {arn} not found"))
}

/// One page of `items` from the offset `next_token` carries (decimal digits); the token of the
/// next page, if there is one.
fn page<'a, T>(
    items: &'a [T],
    next_token: Option<&str>,
    max_results: Option<i64>,
) -> Result<(&'a [T], Option<String>), AwsError> {
    let from = match next_token.filter(|t| !t.is_empty()) {
        Some(t) => t
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= items.len())
            .ok_or_else(|| AwsError::validation("nextToken is not a token this stand-in gave"))?,
        None => 0,
    };
    let size = max_results
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(DEFAULT_PAGE);
    let to = from.saturating_add(size).min(items.len());
    let next = (to < items.len()).then(|| to.to_string());
    Ok((&items[from..to], next))
}

fn with_next(mut answer: Value, next: Option<String>) -> Value {
    if let Some(token) = next {
        answer["nextToken"] = json!(token);
    }
    answer
}
