//! What a function builds once per container and lends to every request: settings, secrets,
//! the Twilio client and the audience caches.

use std::sync::Arc;

use crate::attempts::WrongPasswords;
use crate::audience::AudienceCache;
use crate::config::{ConfigError, Environment, Settings, Source};
use crate::secret_store::{SecretStore, SecretsError};
use crate::twilio::Twilio;

pub struct App {
    pub settings: Settings,
    pub secrets: Arc<SecretStore>,
    pub twilio: Twilio,
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
        let secrets = SecretStore::load(&settings, source).await?;
        Ok(App::new(settings, secrets))
    }

    pub fn new(settings: Settings, secrets: SecretStore) -> App {
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
            audience: AudienceCache::default(),
        }
    }
}

impl App {
    /// The secrets to use now; unreadable secrets are a 503 `unavailable` for the caller.
    pub async fn current_secrets(&self) -> Result<Arc<crate::config::Secrets>, crate::ApiError> {
        self.secrets
            .current()
            .await
            .map_err(crate::auth::unavailable)
    }

    /// Mints an access token for `identity` with the current secrets, valid for `ttl`.
    pub async fn mint_token(
        &self,
        identity: &crate::ids::Identity,
        grant: &crate::token::Grant,
        ttl: std::time::Duration,
    ) -> Result<crate::token::MintedToken, crate::ApiError> {
        let secrets = self.current_secrets().await?;
        Ok(crate::token::mint(
            &secrets,
            identity,
            grant,
            crate::token::unix_now(),
            ttl.as_secs(),
        ))
    }
}
