//! Where the running function gets its [`Secrets`]: fixed (environment, tests) or from
//! Secrets Manager, fetched once per container, trusted for a TTL and fetched again after
//! Twilio answers 401 (the key was rotated).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::RwLock;

use crate::aws_env::AwsEnvironment;
use crate::config::{ConfigError, Secrets, Settings, Source};

/// Secrets could not be had; callers answer 503 `unavailable`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SecretsError {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("the secret could not be read from Secrets Manager")]
    Fetch,
}

pub enum SecretStore {
    Fixed(Arc<Secrets>),
    Manager(ManagedSecret),
}

pub struct ManagedSecret {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    ttl: Duration,
    cached: RwLock<Option<(Arc<Secrets>, Instant)>>,
}

impl SecretStore {
    /// Secrets from `SECRET_ID` when it is set (fetched now, so a bad secret fails the cold
    /// start), otherwise from the same source as the settings.
    pub async fn load(
        settings: &Settings,
        source: &dyn Source,
        aws: &AwsEnvironment,
    ) -> Result<SecretStore, SecretsError> {
        match &settings.secret_id {
            None => Ok(SecretStore::Fixed(Arc::new(Secrets::from_source(source)?))),
            Some(secret_id) => {
                let store = ManagedSecret {
                    client: aws_sdk_secretsmanager::Client::new(aws.config().await),
                    secret_id: secret_id.clone(),
                    ttl: settings.secrets_ttl,
                    cached: RwLock::new(None),
                };
                store.refresh().await?;
                Ok(SecretStore::Manager(store))
            }
        }
    }

    pub fn fixed(secrets: Secrets) -> SecretStore {
        SecretStore::Fixed(Arc::new(secrets))
    }

    /// The secrets to use now.
    pub async fn current(&self) -> Result<Arc<Secrets>, SecretsError> {
        match self {
            SecretStore::Fixed(secrets) => Ok(secrets.clone()),
            SecretStore::Manager(managed) => managed.current().await,
        }
    }

    /// Fetches the secret again (after a 401 from Twilio). A fixed store has nothing to refetch.
    pub async fn refresh(&self) -> Result<Arc<Secrets>, SecretsError> {
        match self {
            SecretStore::Fixed(secrets) => Ok(secrets.clone()),
            SecretStore::Manager(managed) => managed.refresh().await,
        }
    }

    /// Whether a refresh could change anything.
    pub fn can_refresh(&self) -> bool {
        matches!(self, SecretStore::Manager(_))
    }
}

impl ManagedSecret {
    async fn current(&self) -> Result<Arc<Secrets>, SecretsError> {
        if let Some((secrets, fetched)) = &*self.cached.read().await
            && fetched.elapsed() < self.ttl
        {
            return Ok(secrets.clone());
        }
        match self.refresh().await {
            Ok(secrets) => Ok(secrets),
            // A stale secret beats none: Secrets Manager being briefly unreachable should not
            // take the service down while the cached key still works.
            Err(err) => match &*self.cached.read().await {
                Some((secrets, _)) => {
                    tracing::warn!(error = %err, "secret refresh failed; using the cached value");
                    Ok(secrets.clone())
                }
                None => Err(err),
            },
        }
    }

    async fn refresh(&self) -> Result<Arc<Secrets>, SecretsError> {
        let output = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(|err| {
                // The SDK's error names the operation and the service's code, never the value.
                tracing::error!(error = %aws_sdk_secretsmanager::error::DisplayErrorContext(&err), "GetSecretValue failed");
                SecretsError::Fetch
            })?;
        let json = output.secret_string().ok_or(SecretsError::Fetch)?;
        let secrets = Arc::new(Secrets::from_json(json)?);
        *self.cached.write().await = Some((secrets.clone(), Instant::now()));
        tracing::info!("secret fetched from Secrets Manager");
        Ok(secrets)
    }
}
