//! What a function builds once per container and lends to every request: settings, secrets,
//! the Twilio client (and in `ivs` mode the IVS client), the audience cache and the
//! wrong-password lock-outs. The top layer: it
//! puts the lower ones together and offers the few conveniences every handler wants
//! (docs/ARCHITECTURE.md, Layers).

use std::sync::Arc;
use std::time::Duration;

use crate::attempts::WrongPasswords;
use crate::audience::AudienceCache;
use crate::auth::Gate;
use crate::aws_env::AwsEnvironment;
use crate::config::{ConfigError, Environment, Settings, Source};
use crate::error::ApiError;
use crate::ids::{Identity, MeetingId, MeetingIdentity, MeetingRoom, StreamName};
use crate::invite::{self, Invite};
use crate::ivs::Ivs;
use crate::ivs_token::{ParticipantToken, StageEndpoints};
use crate::secret_store::{SecretStore, SecretsError};
use crate::stage;
use crate::token::{self, Grant, MintedToken};
use crate::twilio::Twilio;

pub struct App {
    pub settings: Settings,
    pub secrets: Arc<SecretStore>,
    pub twilio: Twilio,
    /// `AUDIENCE_MODE=ivs` only: the IVS real-time client.
    pub ivs: Option<Ivs>,
    pub audience: AudienceCache,
    /// Wrong host passwords per source address, for this container's lock-outs.
    pub wrong_passwords: WrongPasswords,
}

/// Why a function could not start; names the key, never a value.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Secrets(#[from] SecretsError),
}

impl App {
    /// Settings and secrets from the environment (and `.env` locally) or Secrets Manager.
    pub async fn from_env() -> Result<App, StartupError> {
        let source = Environment::load();
        App::from_source(&source).await
    }

    pub async fn from_source(source: &dyn Source) -> Result<App, StartupError> {
        let settings = Settings::from_source(source)?;
        let aws = AwsEnvironment::default();
        let secrets = SecretStore::load(&settings, source, &aws).await?;
        let ivs = match &settings.ivs {
            Some(ivs) => {
                // The mode cannot work without its key: fail the cold start, naming it.
                secrets.current().await?.require_ivs_key()?;
                Some(Ivs::new(aws.config().await, ivs))
            }
            None => None,
        };
        Ok(App::with_ivs(settings, secrets, ivs))
    }

    /// An app without an IVS client (`room` and `live` modes).
    pub fn new(settings: Settings, secrets: SecretStore) -> App {
        App::with_ivs(settings, secrets, None)
    }

    /// An app with `ivs`, the IVS client of `ivs` mode.
    pub fn with_ivs(settings: Settings, secrets: SecretStore, ivs: Option<Ivs>) -> App {
        let secrets = Arc::new(secrets);
        let twilio = Twilio::new(
            &settings.video_base_url,
            &settings.media_base_url,
            settings.twilio_timeout,
            secrets.clone(),
        );
        App {
            wrong_passwords: WrongPasswords::new(settings.host_password_attempts),
            settings,
            secrets,
            twilio,
            ivs,
            audience: AudienceCache::default(),
        }
    }

    /// The checks of who is calling, over this container's settings, secrets and lock-outs.
    pub fn gate(&self) -> Gate<'_> {
        Gate {
            settings: &self.settings,
            secrets: &self.secrets,
            wrong_passwords: &self.wrong_passwords,
        }
    }

    /// Mints an access token for `identity` with the current secrets, valid for `ttl`;
    /// unreadable secrets are a 503 `unavailable` for the caller.
    pub async fn mint_token(
        &self,
        identity: &Identity,
        grant: &Grant,
        ttl: Duration,
    ) -> Result<MintedToken, ApiError> {
        let secrets = self.secrets.current().await?;
        Ok(token::mint(
            &secrets,
            identity,
            grant,
            token::unix_now(),
            ttl.as_secs(),
        ))
    }

    /// Mints a meeting participant's token for `room`, valid as long as a meeting may last.
    pub async fn mint_meeting_token(
        &self,
        identity: &MeetingIdentity,
        room: &MeetingRoom,
    ) -> Result<MintedToken, ApiError> {
        let secrets = self.secrets.current().await?;
        Ok(token::mint_meeting(
            &secrets,
            identity,
            room,
            token::unix_now(),
            self.settings.meetings.max_duration.as_secs(),
        ))
    }

    /// `ivs` mode: the IVS client; without one (a misconfigured container) a 503.
    pub fn ivs(&self) -> Result<&Ivs, ApiError> {
        self.ivs.as_ref().ok_or_else(|| {
            tracing::error!("ivs mode without an IVS client");
            crate::response::not_configured()
        })
    }

    /// `ivs` mode: mints `who`'s participant token for `stage` of `stream` (the host's can
    /// publish, a viewer's subscribe), valid as long as a stream may last.
    pub async fn mint_stage_token(
        &self,
        stage: &StageEndpoints,
        who: &Identity,
        stream: &StreamName,
    ) -> Result<ParticipantToken, ApiError> {
        let ivs = self.ivs()?;
        let secrets = self.secrets.current().await?;
        Ok(stage::mint(
            secrets.require_ivs_key()?,
            &ivs.settings().public_key_arn,
            stage,
            who,
            stream,
            token::unix_now(),
            self.settings.stream_max.as_secs(),
        ))
    }

    /// Mints an invite to `meeting`, valid for `MEETING_INVITE_HOURS` from now.
    pub async fn mint_invite(&self, meeting: &MeetingId) -> Result<Invite, ApiError> {
        let secrets = self.secrets.current().await?;
        let lifetime = self.settings.meetings.invite_lifetime.as_secs();
        Ok(invite::mint(
            &secrets,
            meeting,
            token::unix_now().saturating_add(lifetime),
        ))
    }
}
