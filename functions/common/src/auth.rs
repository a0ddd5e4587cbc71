//! Who is calling: the host (host token, or the host password as the original API took it) or
//! a viewer (an audience token). Every check is local: a refused caller costs no Twilio call.

use lambda_http::Request;
use serde::Deserialize;

use crate::app::App;
use crate::attempts::SourceAddress;
use crate::error::ApiError;
use crate::ids::{Identity, RoomName};
use crate::request::{self, RawBody};
use crate::token::{self, Grant, TokenError};

/// The longest password or token accepted (bounds the constant-time comparison too).
const MAX_CREDENTIAL_LEN: usize = 4096;

/// A password as it arrived, kept out of `Debug`.
#[derive(Deserialize)]
#[serde(transparent)]
pub struct PasswordInput(String);

impl std::fmt::Debug for PasswordInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordInput(..)")
    }
}

/// The host's credentials as `stream_start` and `stream_stop` take them.
pub enum HostCredentials {
    Token(String),
    Password {
        password: PasswordInput,
        room: Option<String>,
    },
}

impl std::fmt::Debug for HostCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostCredentials::Token(_) => f.write_str("HostCredentials::Token(..)"),
            HostCredentials::Password { room, .. } => f
                .debug_struct("HostCredentials::Password")
                .field("room", room)
                .finish_non_exhaustive(),
        }
    }
}

#[derive(Deserialize)]
struct HostBody {
    token: Option<String>,
    password: Option<PasswordInput>,
    room: Option<String>,
}

/// Reads host credentials: `Authorization: Bearer`, or a JSON body with `token` or `password`
/// (and optionally `room`), or a `text/plain` body that is the token itself or that JSON
/// (what `navigator.sendBeacon` sends).
pub fn host_credentials(req: &Request) -> Result<HostCredentials, ApiError> {
    let raw = request::body(req)?;
    if let Some(token) = request::bearer_token(req)? {
        return Ok(HostCredentials::Token(token.to_owned()));
    }
    let body: HostBody = match raw {
        RawBody::Empty => return Err(missing_credentials()),
        RawBody::Json(bytes) => request::json(bytes)?,
        RawBody::Text(text) if text.trim_start().starts_with('{') => {
            request::json(text.as_bytes())?
        }
        RawBody::Text(text) => return Ok(HostCredentials::Token(text.trim().to_owned())),
    };
    match body {
        HostBody {
            token: Some(token), ..
        } => Ok(HostCredentials::Token(token)),
        HostBody {
            password: Some(password),
            room,
            ..
        } => Ok(HostCredentials::Password { password, room }),
        _ => Err(missing_credentials()),
    }
}

fn missing_credentials() -> ApiError {
    ApiError::Unauthorized("send the host token as `Authorization: Bearer <token>`".into())
}

/// Checks the host password (constant time, or argon2) unless `source` is locked out for
/// sending too many wrong ones (`429` with how long to wait); counts a wrong one against
/// `source`.
pub async fn check_host_password(
    app: &App,
    source: SourceAddress,
    password: &PasswordInput,
) -> Result<(), ApiError> {
    let now = std::time::Instant::now();
    if let Err(wait) = app.wrong_passwords.check(source, now) {
        return Err(locked_out(wait));
    }
    let secrets = app.current_secrets().await?;
    let candidate = password.0.as_str();
    if candidate.len() <= MAX_CREDENTIAL_LEN && secrets.host_password.matches(candidate) {
        app.wrong_passwords.succeeded(source);
        return Ok(());
    }
    if let Some(lockout) = app.wrong_passwords.failed(source, now) {
        tracing::warn!(source = %source, lockout_secs = lockout.as_secs(), "too many wrong host passwords; address locked out");
    }
    Err(ApiError::Unauthorized("the password is not right".into()))
}

fn locked_out(wait: std::time::Duration) -> ApiError {
    // Whole seconds, rounded up: a client that waits that long is let in.
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    ApiError::RateLimited {
        message: format!("too many wrong passwords from this address; try again in {secs} s"),
        retry_after_secs: Some(secs),
    }
}

/// The host, authenticated: the room their token names, or the room they named with the
/// password (`None`: whichever room is live).
#[derive(Debug)]
pub struct HostSession {
    pub room: Option<RoomName>,
}

pub async fn authenticate_host(
    app: &App,
    source: SourceAddress,
    credentials: &HostCredentials,
) -> Result<HostSession, ApiError> {
    match credentials {
        HostCredentials::Token(jwt) => {
            let verified = verify(app, jwt).await?;
            match verified.grant {
                Grant::VideoRoom(room) if verified.identity == app.settings.host_identity => {
                    Ok(HostSession { room: Some(room) })
                }
                _ => Err(ApiError::Unauthorized("this is not a host token".into())),
            }
        }
        HostCredentials::Password { password, room } => {
            check_host_password(app, source, password).await?;
            let room = match room {
                None => None,
                Some(name) => Some(RoomName::parse(name).ok_or_else(|| {
                    ApiError::BadRequest("`room` is not the name of an OnAir room".into())
                })?),
            };
            Ok(HostSession { room })
        }
    }
}

/// A viewer, authenticated by the audience token this service gave them.
#[derive(Debug)]
pub struct Viewer {
    pub identity: Identity,
    pub room: RoomName,
}

pub async fn authenticate_viewer(app: &App, req: &Request) -> Result<Viewer, ApiError> {
    let jwt = request::bearer_token(req)?.ok_or_else(|| {
        ApiError::Unauthorized("send the audience token as `Authorization: Bearer <token>`".into())
    })?;
    let verified = verify(app, jwt).await?;
    match verified.grant {
        Grant::VideoRoom(room)
            if verified.identity.is_viewer() && verified.identity != app.settings.host_identity =>
        {
            Ok(Viewer {
                identity: verified.identity,
                room,
            })
        }
        _ => Err(ApiError::Unauthorized(
            "this is not an audience token".into(),
        )),
    }
}

async fn verify(app: &App, jwt: &str) -> Result<token::VerifiedToken, ApiError> {
    if jwt.len() > MAX_CREDENTIAL_LEN {
        return Err(ApiError::Unauthorized("the token is not valid".into()));
    }
    let secrets = app.current_secrets().await?;
    token::verify(&secrets, jwt, token::unix_now()).map_err(|err| match err {
        TokenError::Expired => ApiError::Unauthorized("the token has expired".into()),
        _ => ApiError::Unauthorized("the token is not valid".into()),
    })
}

pub(crate) fn unavailable(err: crate::secret_store::SecretsError) -> ApiError {
    tracing::error!(error = %err, "secrets unavailable");
    ApiError::Unavailable("the service is not configured; try again later".into())
}
