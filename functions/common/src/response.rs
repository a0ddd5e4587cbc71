//! Turning a handler's result into the HTTP response: JSON, `no-store` (or, for a resource edges
//! may cache, `public, max-age`), and errors as docs/ARCHITECTURE.md (Errors) lists them. Client
//! errors are logged at `info`, upstream and config failures at `warn`.
//!
//! Here too, at the edge, the lower layers' errors become what the caller is told: Twilio's
//! ([`TwilioError`]) and IVS's ([`IvsError`]), the secrets' ([`SecretsError`]), the domain's
//! ([`StreamError`], [`StageError`], [`LookupFailed`], [`MeetingError`]) and a refused display
//! name ([`NameError`]).

use lambda_http::{Body, Response};
use serde::Serialize;

use crate::audience::LookupFailed;
use crate::config::ConfigError;
use crate::error::{ApiError, whole_seconds};
use crate::ids::NameError;
use crate::ivs::IvsError;
use crate::meeting::MeetingError;
use crate::secret_store::SecretsError;
use crate::stage::StageError;
use crate::stream::StreamError;
use crate::twilio::TwilioError;

/// What the caller hears when this deployment lacks something it needs: a 503 `unavailable`.
pub(crate) fn not_configured() -> ApiError {
    ApiError::Unavailable("the service is not configured; try again later".into())
}

/// Secrets that cannot be read: a 503 `unavailable` for the caller, the reason in the log.
impl From<SecretsError> for ApiError {
    fn from(err: SecretsError) -> ApiError {
        tracing::error!(error = %err, "secrets unavailable");
        not_configured()
    }
}

/// A setting this request needs is missing (a misconfigured deployment): a 503 for the caller,
/// the key in the log (a `ConfigError` names the key, never its value).
impl From<ConfigError> for ApiError {
    fn from(err: ConfigError) -> ApiError {
        tracing::error!(error = %err, "not configured");
        not_configured()
    }
}

/// Twilio failing: a 502 `upstream_error` that says how, with Twilio's code but none of its
/// text; unreadable credentials are a 503 as above.
impl From<TwilioError> for ApiError {
    fn from(err: TwilioError) -> ApiError {
        let busy = matches!(err, TwilioError::Api { status: 429, .. });
        match upstream_failure(err) {
            Ok(what) if busy => ApiError::upstream(format!("{what}; try again in a moment")),
            Ok(what) => ApiError::upstream(what),
            Err(unavailable) => unavailable,
        }
    }
}

/// What went wrong with Twilio, in words for a person; `Err` when it was not Twilio but our
/// own secrets.
fn upstream_failure(err: TwilioError) -> Result<String, ApiError> {
    Ok(match err {
        TwilioError::Secrets(err) => return Err(err.into()),
        TwilioError::Api { status: 429, .. } => "Twilio is busy right now".into(),
        TwilioError::Api {
            code: Some(code), ..
        } => format!("Twilio refused the request (Twilio error {code})"),
        TwilioError::Api { code: None, .. } => "Twilio refused the request".into(),
        TwilioError::Transport(_) => "Twilio could not be reached".into(),
        TwilioError::Decode(_) => "Twilio's answer could not be read".into(),
    })
}

/// The host's room not being live is a 409 `conflict` that says what to do.
impl From<StreamError> for ApiError {
    fn from(err: StreamError) -> ApiError {
        match err {
            StreamError::Twilio(err) => err.into(),
            StreamError::LiveDidNotStart => ApiError::upstream(err.to_string()),
            StreamError::RoomNotInProgress(_)
            | StreamError::HostNotInRoom
            | StreamError::NoLiveRoom
            | StreamError::AlreadyLive(_) => ApiError::Conflict(err.to_string()),
        }
    }
}

/// A full meeting is a 409 `conflict` the page shows as it is.
impl From<MeetingError> for ApiError {
    fn from(err: MeetingError) -> ApiError {
        match err {
            MeetingError::Twilio(err) => err.into(),
            MeetingError::Full => ApiError::Conflict(err.to_string()),
        }
    }
}

/// A display name that cannot be used is a 400 saying what to change.
impl From<NameError> for ApiError {
    fn from(err: NameError) -> ApiError {
        ApiError::BadRequest(err.to_string())
    }
}

/// What is live could not be looked up: Twilio's failure as above and, when Twilio is not asked
/// again before then, when to try again (`Retry-After`, whole seconds rounded up).
impl From<LookupFailed> for ApiError {
    fn from(err: LookupFailed) -> ApiError {
        let secs = whole_seconds(err.retry_after);
        if secs == 0 {
            return err.cause.into();
        }
        match upstream_failure(err.cause) {
            Ok(what) => ApiError::Upstream {
                message: format!("{what}; try again in {secs} s"),
                retry_after_secs: Some(secs),
            },
            Err(unavailable) => unavailable,
        }
    }
}

/// IVS failing: a 502 `upstream_error` that says how (IVS's error type, none of its text),
/// with `Retry-After`: nothing was retried, and a moment later may well work.
impl From<IvsError> for ApiError {
    fn from(err: IvsError) -> ApiError {
        LookupFailed {
            cause: err,
            retry_after: crate::audience::FAILURE_MEMORY,
        }
        .into()
    }
}

/// What went wrong with IVS, in words for a person.
fn ivs_failure(err: &IvsError) -> String {
    match err {
        IvsError::NotFound => "IVS did not find the stage".into(),
        IvsError::Api { status: 429, .. } => "IVS is busy right now".into(),
        IvsError::Api { code, .. } => format!("IVS refused the request ({code})"),
        IvsError::Transport(_) => "IVS could not be reached".into(),
        IvsError::Decode(_) => "IVS's answer could not be read".into(),
    }
}

/// The IVS lookup failed now or within the last moment: when to ask again is when it will be
/// asked again (at least 1 s).
impl From<LookupFailed<IvsError>> for ApiError {
    fn from(err: LookupFailed<IvsError>) -> ApiError {
        let secs = whole_seconds(err.retry_after).max(1);
        ApiError::Upstream {
            message: format!("{}; try again in {secs} s", ivs_failure(&err.cause)),
            retry_after_secs: Some(secs),
        }
    }
}

/// A host's stage not being on air is a 409 `conflict` that says what to do.
impl From<StageError> for ApiError {
    fn from(err: StageError) -> ApiError {
        match err {
            StageError::Ivs(err) => err.into(),
            StageError::StageGone
            | StageError::HostNotPublishing
            | StageError::NoLiveStage
            | StageError::AlreadyLive(_) => ApiError::Conflict(err.to_string()),
        }
    }
}

/// How long an edge may keep a `400` of a cacheable resource: the same bad input stays bad.
pub const BAD_INPUT_MAX_AGE_SECS: u64 = 60;

/// As [`respond`], for a GET resource that edges may cache (docs/ARCHITECTURE.md, The path of a
/// request): `Cache-Control: public, max-age=N`, N being `fresh_secs` for a success,
/// [`BAD_INPUT_MAX_AGE_SECS`] for a `400`, and for a failure that says when to ask again (a
/// remembered Twilio failure), that time. Anything else stays `no-store`.
pub fn respond_cacheable<T: Serialize>(
    endpoint: &str,
    result: Result<T, ApiError>,
    fresh_secs: u64,
) -> Response<Body> {
    let max_age = match &result {
        Ok(_) => Some(fresh_secs),
        Err(ApiError::BadRequest(_)) => Some(BAD_INPUT_MAX_AGE_SECS),
        Err(err @ ApiError::Upstream { .. }) => err.retry_after_secs(),
        Err(_) => None,
    };
    let mut response = respond(endpoint, result);
    if let Some(secs) = max_age.filter(|secs| *secs > 0)
        && let Ok(value) = http::HeaderValue::from_str(&format!("public, max-age={secs}"))
    {
        response
            .headers_mut()
            .insert(http::header::CACHE_CONTROL, value);
    }
    response
}

/// A JSON response with `status`.
pub fn json_response(status: http::StatusCode, body: &serde_json::Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::CACHE_CONTROL, "no-store")
        .body(Body::Text(body.to_string()))
        .unwrap_or_default()
}

/// 200 with the value, or the error's status and body.
pub fn respond<T: Serialize>(endpoint: &str, result: Result<T, ApiError>) -> Response<Body> {
    match result {
        Ok(value) => match serde_json::to_value(&value) {
            Ok(body) => json_response(http::StatusCode::OK, &body),
            Err(_) => respond::<()>(
                endpoint,
                Err(ApiError::Unavailable(
                    "the answer could not be written".into(),
                )),
            ),
        },
        Err(err) => {
            let status = err.status();
            if status.is_server_error() {
                tracing::warn!(endpoint, status = status.as_u16(), code = err.code(), reason = %err, "request failed");
            } else {
                tracing::info!(endpoint, status = status.as_u16(), code = err.code(), reason = %err, "request refused");
            }
            let mut response = json_response(status, &err.body());
            if let Some(secs) = err.retry_after_secs() {
                response
                    .headers_mut()
                    .insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
            }
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::ids::RoomName;

    fn twilio_500() -> TwilioError {
        TwilioError::Api {
            status: 500,
            code: Some(20500),
            message: "Internal Server Error".into(),
        }
    }

    #[test]
    fn a_remembered_failure_says_when_to_try_again() {
        let failed = LookupFailed {
            cause: twilio_500(),
            retry_after: Duration::from_millis(1200),
        };
        let err = ApiError::from(failed);
        assert_eq!((err.status().as_u16(), err.code()), (502, "upstream_error"));
        assert_eq!(err.retry_after_secs(), Some(2));
        assert_eq!(
            err.to_string(),
            "Twilio refused the request (Twilio error 20500); try again in 2 s"
        );

        let busy = ApiError::from(LookupFailed {
            cause: TwilioError::Api {
                status: 429,
                code: Some(20429),
                message: "Too Many Requests".into(),
            },
            retry_after: Duration::from_secs(2),
        });
        assert_eq!(
            busy.to_string(),
            "Twilio is busy right now; try again in 2 s"
        );

        // Not remembered (AUDIENCE_CACHE_SECONDS 0): as any Twilio failure, no Retry-After.
        let unremembered = ApiError::from(LookupFailed {
            cause: twilio_500(),
            retry_after: Duration::ZERO,
        });
        assert_eq!(unremembered, ApiError::from(twilio_500()));
        assert_eq!(unremembered.retry_after_secs(), None);

        let secrets = ApiError::from(LookupFailed {
            cause: TwilioError::Secrets(SecretsError::Fetch),
            retry_after: Duration::from_secs(2),
        });
        assert_eq!(secrets.code(), "unavailable");
    }

    #[test]
    fn a_room_that_is_not_live_is_a_conflict_and_twilio_failing_is_upstream() {
        let room = RoomName::parse("livestream-abc").unwrap();
        let not_live = ApiError::from(StreamError::RoomNotInProgress(room));
        assert_eq!(
            not_live,
            ApiError::Conflict(
                "room livestream-abc is not in progress; get a new host token".into()
            )
        );
        assert_eq!(
            ApiError::from(StreamError::Twilio(TwilioError::Transport(
                "timed out".into()
            ))),
            ApiError::upstream("Twilio could not be reached")
        );
        assert_eq!(
            ApiError::from(StreamError::LiveDidNotStart).code(),
            "upstream_error"
        );
    }

    #[test]
    fn a_cacheable_answer_says_how_long_an_edge_may_keep_it() {
        let cache_control = |response: Response<Body>| {
            response.headers()[http::header::CACHE_CONTROL]
                .to_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(
            cache_control(respond_cacheable("status", Ok(1), 1)),
            "public, max-age=1"
        );
        let bad = respond_cacheable::<()>("status", Err(ApiError::BadRequest("no".into())), 1);
        assert_eq!(bad.status(), 400);
        assert_eq!(cache_control(bad), "public, max-age=60");
        let remembered = ApiError::Upstream {
            message: "Twilio could not be reached; try again in 2 s".into(),
            retry_after_secs: Some(2),
        };
        assert_eq!(
            cache_control(respond_cacheable::<()>("status", Err(remembered), 1)),
            "public, max-age=2"
        );
        for uncacheable in [
            ApiError::upstream("Twilio could not be reached"),
            ApiError::Unavailable("not configured".into()),
            ApiError::MethodNotAllowed("GET"),
        ] {
            assert_eq!(
                cache_control(respond_cacheable::<()>("status", Err(uncacheable), 1)),
                "no-store"
            );
        }
    }

    #[test]
    fn upstream_errors_carry_retry_after_as_a_header() {
        let err = ApiError::Upstream {
            message: "Twilio could not be reached; try again in 2 s".into(),
            retry_after_secs: Some(2),
        };
        let response = respond::<()>("audience_token", Err(err));
        assert_eq!(response.status(), 502);
        assert_eq!(response.headers()[http::header::RETRY_AFTER], "2");
    }

    #[test]
    fn ivs_failures_are_upstream_errors_with_retry_after_and_stage_states_conflicts() {
        for err in [
            IvsError::Transport("timed out".into()),
            IvsError::Api {
                status: 500,
                code: "InternalServerException".into(),
            },
            IvsError::Decode("x".into()),
            IvsError::NotFound,
        ] {
            let api = ApiError::from(err.clone());
            assert_eq!((api.status().as_u16(), api.code()), (502, "upstream_error"));
            assert_eq!(api.retry_after_secs(), Some(2), "{err}");
            let remembered = ApiError::from(LookupFailed {
                cause: err,
                retry_after: Duration::from_millis(300),
            });
            assert_eq!(remembered.retry_after_secs(), Some(1));
        }
        assert_eq!(
            ApiError::from(IvsError::Api {
                status: 403,
                code: "AccessDeniedException".into()
            })
            .to_string(),
            "IVS refused the request (AccessDeniedException); try again in 2 s"
        );
        assert_eq!(
            ApiError::from(StageError::HostNotPublishing).code(),
            "conflict"
        );
        assert_eq!(
            ApiError::from(StageError::Ivs(IvsError::NotFound)).code(),
            "upstream_error"
        );
    }
}
