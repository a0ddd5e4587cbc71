//! Who is calling: the host (signed in with a host session, with a host token for a room, or
//! with the host password as the original API took it), a viewer (an audience token), a guest
//! with a meeting invite, or Twilio (a signed room status callback). Every check is local: a
//! refused caller costs no Twilio call.
//!
//! The checks go through a [`Gate`], which holds what they use: the settings (the host's
//! identity, the callback URL), the secret store (the token key, the host password, the auth
//! token) and this container's lock-out table.

use std::sync::Arc;
use std::time::Duration;

use lambda_http::Request;
use serde::Deserialize;

use crate::attempts::{SourceAddress, WrongPasswords};
use crate::config::{Secrets, Settings};
use crate::error::{ApiError, whole_seconds};
use crate::ids::{Identity, MeetingId, RoomName};
use crate::invite::{self, InviteError};
use crate::ivs_token;
use crate::request::{self, RawBody};
use crate::secret_store::SecretStore;
use crate::stage::StageTarget;
use crate::stream::HostTarget;
use crate::token::{self, Grant, TokenError};
use crate::webhook;

/// The longest password or token accepted (bounds the constant-time comparison too).
const MAX_CREDENTIAL_LEN: usize = 4096;

/// How long a host session (`host_session`) lets the host open studio rooms without the
/// password again.
pub const HOST_SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

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
        stream: Option<String>,
    },
}

impl std::fmt::Debug for HostCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostCredentials::Token(_) => f.write_str("HostCredentials::Token(..)"),
            HostCredentials::Password { room, stream, .. } => f
                .debug_struct("HostCredentials::Password")
                .field("room", room)
                .field("stream", stream)
                .finish_non_exhaustive(),
        }
    }
}

#[derive(Deserialize)]
struct HostBody {
    token: Option<String>,
    password: Option<PasswordInput>,
    room: Option<String>,
    stream: Option<String>,
}

/// Reads host credentials: `Authorization: Bearer`, or a JSON body with `token` or `password`
/// (and optionally `room` or `stream`), or a `text/plain` body that is the token itself or that
/// JSON (what `navigator.sendBeacon` sends).
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
            stream,
            ..
        } => Ok(HostCredentials::Password {
            password,
            room,
            stream,
        }),
        _ => Err(missing_credentials()),
    }
}

fn missing_credentials() -> ApiError {
    ApiError::Unauthorized("send the host token as `Authorization: Bearer <token>`".into())
}

fn locked_out(wait: std::time::Duration) -> ApiError {
    let secs = whole_seconds(wait);
    ApiError::RateLimited {
        message: format!("too many wrong passwords from this address; try again in {secs} s"),
        retry_after_secs: Some(secs),
    }
}

/// A viewer, authenticated by the audience token this service gave them.
#[derive(Debug)]
pub struct Viewer {
    pub identity: Identity,
    pub room: RoomName,
}

/// The form parameters of a room status callback that Twilio signed.
#[derive(Debug)]
pub struct CallbackParams(Vec<(String, String)>);

impl CallbackParams {
    /// The value of parameter `name` (the first, if it is repeated).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// What checking a caller needs, lent for one request from what the function keeps for its
/// container.
pub struct Gate<'a> {
    pub settings: &'a Settings,
    pub secrets: &'a SecretStore,
    pub wrong_passwords: &'a WrongPasswords,
}

impl Gate<'_> {
    /// Checks the host password (constant time, or argon2) unless `source` is locked out for
    /// sending too many wrong ones (`429` with how long to wait); counts a wrong one against
    /// `source`.
    pub async fn host_password(
        &self,
        source: SourceAddress,
        password: &PasswordInput,
    ) -> Result<(), ApiError> {
        let now = std::time::Instant::now();
        if let Err(wait) = self.wrong_passwords.check(source, now) {
            return Err(locked_out(wait));
        }
        let secrets = self.current_secrets().await?;
        let candidate = password.0.as_str();
        if candidate.len() <= MAX_CREDENTIAL_LEN && secrets.host_password.matches(candidate) {
            self.wrong_passwords.succeeded(source);
            return Ok(());
        }
        if let Some(lockout) = self.wrong_passwords.failed(source, now) {
            tracing::warn!(source = %source, lockout_secs = lockout.as_secs(), "too many wrong host passwords; address locked out");
        }
        Err(ApiError::Unauthorized("the password is not right".into()))
    }

    /// The host, signed in: a host session as `Authorization: Bearer` (the studio), or else
    /// `password` (the original API's body). Opens the studio (`host_token`).
    pub async fn signed_in_host(
        &self,
        req: &Request,
        password: Option<&PasswordInput>,
    ) -> Result<(), ApiError> {
        if let Some(jwt) = request::bearer_token(req)? {
            let verified = self.verify(jwt).await?;
            return match verified.grant {
                Grant::HostSession if verified.identity == self.settings.host_identity => Ok(()),
                _ => Err(ApiError::Unauthorized(
                    "this is not a host session; sign in at /host_session".into(),
                )),
            };
        }
        match password {
            Some(password) => {
                self.host_password(request::source_address(req), password)
                    .await
            }
            None => Err(ApiError::Unauthorized(
                "sign in first: send the host session as `Authorization: Bearer <session>`".into(),
            )),
        }
    }

    /// The host and what their request acts on, by the credentials of `req` (see
    /// [`host_credentials`]): the room of their host token, or with the password the `room`
    /// they name, else the `stream` they name (the default stream if none).
    pub async fn host(&self, req: &Request) -> Result<HostTarget, ApiError> {
        match host_credentials(req)? {
            HostCredentials::Token(jwt) => {
                let verified = self.verify(&jwt).await?;
                match verified.grant {
                    Grant::VideoRoom(room) if verified.identity == self.settings.host_identity => {
                        Ok(HostTarget::Room(room))
                    }
                    _ => Err(ApiError::Unauthorized("this is not a host token".into())),
                }
            }
            HostCredentials::Password {
                password,
                room,
                stream,
            } => {
                self.host_password(request::source_address(req), &password)
                    .await?;
                match room {
                    Some(name) => RoomName::parse(&name).map(HostTarget::Room).ok_or_else(|| {
                        ApiError::BadRequest("`room` is not the name of an OnAir room".into())
                    }),
                    None => request::stream_name(stream.as_deref()).map(HostTarget::Stream),
                }
            }
        }
    }

    /// `ivs` mode: the host and what their request acts on, by the credentials of `req` (see
    /// [`host_credentials`]): the stage of their IVS host token (a participant token this
    /// service signed for the host, able to publish), or with the password the `stream` they
    /// name (the default stream if none). A `room` cannot be named with the password here.
    pub async fn stage_host(&self, req: &Request) -> Result<StageTarget, ApiError> {
        match host_credentials(req)? {
            HostCredentials::Token(jwt) => {
                let verified = self.verify_stage_host(&jwt).await?;
                Ok(StageTarget::Stage {
                    arn: verified.stage,
                    participant_id: verified.claims.jti,
                })
            }
            HostCredentials::Password {
                password,
                room,
                stream,
            } => {
                self.host_password(request::source_address(req), &password)
                    .await?;
                if room.is_some() {
                    return Err(ApiError::BadRequest(
                        "in ivs mode name the `stream`, not a `room`".into(),
                    ));
                }
                request::stream_name(stream.as_deref()).map(StageTarget::Stream)
            }
        }
    }

    /// An IVS host token: a participant token this service signed for the host identity, able
    /// to publish, not expired.
    async fn verify_stage_host(&self, jwt: &str) -> Result<ivs_token::Verified, ApiError> {
        if jwt.len() > MAX_CREDENTIAL_LEN {
            return Err(ApiError::Unauthorized("the token is not valid".into()));
        }
        let secrets = self.current_secrets().await?;
        let key = secrets.require_ivs_key()?;
        let verified = ivs_token::verify(key, jwt, token::unix_now()).map_err(|err| {
            ApiError::Unauthorized(match err {
                ivs_token::TokenError::Expired => "the token has expired".into(),
                ivs_token::TokenError::Invalid => "the token is not valid".into(),
            })
        })?;
        let claims = &verified.claims;
        if claims.user_id != self.settings.host_identity.as_str()
            || !claims.capabilities.allow_publish
        {
            return Err(ApiError::Unauthorized("this is not a host token".into()));
        }
        Ok(verified)
    }

    /// The host opening a meeting, which belongs to no stream or room: signed in with a host
    /// session (the studio's sign-in) or a host token (in `ivs` mode a stage token too) as
    /// `Authorization: Bearer` (or as [`host_credentials`] reads a token), or with the password.
    pub async fn meeting_host(&self, req: &Request) -> Result<(), ApiError> {
        match host_credentials(req)? {
            // `ivs` mode: the host's stage token (ES384) opens meetings as a room token does.
            HostCredentials::Token(jwt)
                if self.settings.ivs.is_some() && self.verify_stage_host(&jwt).await.is_ok() =>
            {
                Ok(())
            }
            HostCredentials::Token(jwt) => {
                let verified = self.verify(&jwt).await?;
                match verified.grant {
                    Grant::HostSession | Grant::VideoRoom(_)
                        if verified.identity == self.settings.host_identity =>
                    {
                        Ok(())
                    }
                    _ => Err(ApiError::Unauthorized(
                        "this is not a host session or a host token".into(),
                    )),
                }
            }
            HostCredentials::Password { password, .. } => {
                self.host_password(request::source_address(req), &password)
                    .await
            }
        }
    }

    /// A viewer, by the audience token of `req`.
    pub async fn viewer(&self, req: &Request) -> Result<Viewer, ApiError> {
        let jwt = request::bearer_token(req)?.ok_or_else(|| {
            ApiError::Unauthorized(
                "send the audience token as `Authorization: Bearer <token>`".into(),
            )
        })?;
        let verified = self.verify(jwt).await?;
        match verified.grant {
            Grant::VideoRoom(room)
                if verified.identity.is_viewer()
                    && verified.identity != self.settings.host_identity =>
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

    /// The meeting a guest's invite opens, if this service signed it and it has not expired.
    pub async fn invite(&self, text: &str) -> Result<MeetingId, ApiError> {
        let secrets = self.current_secrets().await?;
        invite::verify(&secrets, text, token::unix_now())
            .map(|invite| invite.meeting)
            .map_err(|err| {
                ApiError::Unauthorized(
                    match err {
                        InviteError::Expired => {
                            "This invite link has expired; ask the host for a new one"
                        }
                        InviteError::Forged | InviteError::Malformed => {
                            "This invite link is not valid; ask the host for a new one"
                        }
                    }
                    .into(),
                )
            })
    }

    /// Twilio, by the signature (`X-Twilio-Signature`) of a room status callback: over the
    /// callback URL and the form parameters, with the account's auth token. Without an auth
    /// token or a callback URL no callback can be checked: 503.
    pub async fn twilio_callback(&self, req: &Request) -> Result<CallbackParams, ApiError> {
        let params = request::form_body(req)?;
        let secrets = self.current_secrets().await?;
        let Some(auth_token) = secrets.auth_token.as_ref() else {
            return Err(ApiError::Unavailable(
                "room status callbacks are not configured (no TWILIO_AUTH_TOKEN)".into(),
            ));
        };
        let Some(url) = request::callback_url(self.settings, req) else {
            return Err(ApiError::Unavailable(
                "room status callbacks are not configured (no ROOM_EVENTS_URL)".into(),
            ));
        };
        let signature = req
            .headers()
            .get(webhook::SIGNATURE_HEADER)
            .and_then(|value| value.to_str().ok())
            .ok_or_else(|| ApiError::Unauthorized("the request is not signed by Twilio".into()))?;
        if !webhook::verify(auth_token, &url, &params, signature) {
            return Err(ApiError::Unauthorized(
                "the Twilio signature does not match".into(),
            ));
        }
        Ok(CallbackParams(params))
    }

    /// The `StatusCallback` a new room gets: the callback URL, but only when an auth token is
    /// configured to check what Twilio sends there (and the URL is known).
    pub async fn status_callback(&self, req: &Request) -> Result<Option<String>, ApiError> {
        let secrets = self.current_secrets().await?;
        Ok(secrets
            .auth_token
            .as_ref()
            .and_then(|_| request::callback_url(self.settings, req)))
    }

    async fn verify(&self, jwt: &str) -> Result<token::VerifiedToken, ApiError> {
        if jwt.len() > MAX_CREDENTIAL_LEN {
            return Err(ApiError::Unauthorized("the token is not valid".into()));
        }
        let secrets = self.current_secrets().await?;
        token::verify(&secrets, jwt, token::unix_now()).map_err(|err| match err {
            TokenError::Expired => ApiError::Unauthorized("the token has expired".into()),
            _ => ApiError::Unauthorized("the token is not valid".into()),
        })
    }

    async fn current_secrets(&self) -> Result<Arc<Secrets>, ApiError> {
        Ok(self.secrets.current().await?)
    }
}
