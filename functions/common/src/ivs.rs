//! The Amazon IVS real-time (stages) client for `AUDIENCE_MODE=ivs`, beside [`crate::twilio`]:
//! `aws-sdk-ivsrealtime` with the endpoint overridable (`IVS_ENDPOINT_URL`: the stand-in in dev
//! and tests), a timeout per call, credentials and region from the default chain (region
//! `us-east-1` when none is set). Typed answers for the calls OnAir makes (CreateStage,
//! GetStage, ListStages paged, DeleteStage, ListParticipants paged, DisconnectParticipant) and
//! one error, [`IvsError`], with "not found" told apart. It knows nothing of the requests made to
//! us. Calls are not retried: the callers (a crowd, a host's page, the reaper's next run) ask
//! again, and the edge tells them when (`Retry-After`).

use std::collections::HashMap;

use aws_sdk_ivsrealtime::config::http::HttpResponse;
use aws_sdk_ivsrealtime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ivsrealtime::types::ParticipantState;

use crate::config::IvsSettings;
use crate::ids::StageArn;
use crate::ivs_token::StageEndpoints;

/// The tag naming the stream a stage belongs to.
pub const STREAM_TAG: &str = "onair-stream";
/// The tag holding when OnAir created a stage (unix seconds).
pub const CREATED_TAG: &str = "onair-created";

/// Pages of a listing read at most (100 each): a bound on one lookup's cost.
const MAX_PAGES: usize = 50;

/// An IVS call that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IvsError {
    /// `ResourceNotFoundException`: the stage (or participant) does not exist.
    #[error("IVS: not found")]
    NotFound,
    /// Any other error IVS answered: its HTTP status and error type.
    #[error("IVS refused the request ({status} {code})")]
    Api { status: u16, code: String },
    /// IVS could not be reached, or did not answer in time.
    #[error("IVS could not be reached: {0}")]
    Transport(String),
    /// IVS answered something that could not be read.
    #[error("IVS's answer could not be read: {0}")]
    Decode(String),
}

impl IvsError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, IvsError::NotFound)
    }

    fn from_sdk<E>(err: SdkError<E, HttpResponse>) -> IvsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        match &err {
            SdkError::ServiceError(service) => {
                let code = service.err().code().unwrap_or("Unknown").to_owned();
                if code == "ResourceNotFoundException" {
                    return IvsError::NotFound;
                }
                let status = service.raw().status().as_u16();
                IvsError::Api { status, code }
            }
            SdkError::TimeoutError(_) => IvsError::Transport("timed out".into()),
            SdkError::DispatchFailure(failure) => IvsError::Transport(
                if failure.is_timeout() {
                    "timed out"
                } else {
                    "the connection failed"
                }
                .into(),
            ),
            SdkError::ResponseError(_) => IvsError::Decode("unreadable response".into()),
            _ => IvsError::Transport(
                aws_sdk_ivsrealtime::error::DisplayErrorContext(&err).to_string(),
            ),
        }
    }
}

/// A stage as ListStages tells it (no endpoints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageSummary {
    pub arn: StageArn,
    pub name: String,
    pub active_session_id: Option<String>,
    pub tags: HashMap<String, String>,
}

impl StageSummary {
    /// The stream this stage was made for (its `onair-stream` tag), if it is OnAir's.
    pub fn stream(&self) -> Option<crate::ids::StreamName> {
        let stream = crate::ids::StreamName::parse(self.tags.get(STREAM_TAG)?)?;
        (self.name == crate::ids::stage_name(&stream)).then_some(stream)
    }

    /// When OnAir created it (unix seconds), from its `onair-created` tag.
    pub fn created(&self) -> Option<u64> {
        self.tags.get(CREATED_TAG)?.parse().ok()
    }

    /// Seconds since it was created, at `now`; `None` without a readable tag.
    pub fn age_secs(&self, now: u64) -> Option<u64> {
        self.created().map(|created| now.saturating_sub(created))
    }
}

/// A stage with its endpoints (CreateStage, GetStage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub summary: StageSummary,
    pub endpoints: StageEndpoints,
}

/// One participant of a stage session, as ListParticipants tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    pub participant_id: String,
    pub user_id: Option<String>,
    pub connected: bool,
    pub published: bool,
    /// Unix seconds.
    pub first_join_time: Option<i64>,
}

/// The IVS client a function builds once per container.
#[derive(Clone, Debug)]
pub struct Ivs {
    client: aws_sdk_ivsrealtime::Client,
    settings: IvsSettings,
}

impl Ivs {
    /// The client over an SDK configuration (credentials, region), with our endpoint, timeout
    /// and no retries.
    pub fn new(shared: &aws_config::SdkConfig, settings: &IvsSettings) -> Ivs {
        Ivs::finish(aws_sdk_ivsrealtime::config::Builder::from(shared), settings)
    }

    /// The client with a fixed key pair and region instead of the default chain (tests and
    /// benchmarks against the stand-in, which must not change the process environment).
    pub fn with_static_credentials(
        settings: &IvsSettings,
        region: &str,
        access_key_id: &str,
        secret_access_key: &str,
    ) -> Ivs {
        use aws_sdk_ivsrealtime::config::{BehaviorVersion, Credentials, Region};
        let builder = aws_sdk_ivsrealtime::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .credentials_provider(Credentials::new(
                access_key_id,
                secret_access_key,
                None,
                None,
                "static",
            ));
        Ivs::finish(builder, settings)
    }

    fn finish(builder: aws_sdk_ivsrealtime::config::Builder, settings: &IvsSettings) -> Ivs {
        let mut config = builder
            .retry_config(aws_sdk_ivsrealtime::config::retry::RetryConfig::disabled())
            .timeout_config(
                aws_sdk_ivsrealtime::config::timeout::TimeoutConfig::builder()
                    .operation_timeout(settings.timeout)
                    .connect_timeout(settings.timeout)
                    .build(),
            );
        if let Some(url) = &settings.endpoint_url {
            config = config.endpoint_url(url);
        }
        Ivs {
            client: aws_sdk_ivsrealtime::Client::from_conf(config.build()),
            settings: settings.clone(),
        }
    }

    /// The settings the client was made with (the token key's ARN, the lookup's lifetime).
    pub fn settings(&self) -> &IvsSettings {
        &self.settings
    }

    /// CreateStage named `name` with `tags`; answers the stage and its endpoints.
    pub async fn create_stage(
        &self,
        name: &str,
        tags: &HashMap<String, String>,
    ) -> Result<Stage, IvsError> {
        let output = self
            .client
            .create_stage()
            .name(name)
            .set_tags(Some(tags.clone()))
            .send()
            .await
            .map_err(IvsError::from_sdk)?;
        stage(output.stage())
    }

    /// GetStage.
    pub async fn get_stage(&self, arn: &StageArn) -> Result<Stage, IvsError> {
        let output = self
            .client
            .get_stage()
            .arn(arn.as_str())
            .send()
            .await
            .map_err(IvsError::from_sdk)?;
        stage(output.stage())
    }

    /// ListStages, every page (at most [`MAX_PAGES`]). Stages whose ARN does not parse are
    /// skipped: they are not ones OnAir could have made.
    pub async fn list_stages(&self) -> Result<Vec<StageSummary>, IvsError> {
        let mut stages = Vec::new();
        let mut next: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let output = self
                .client
                .list_stages()
                .max_results(100)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(IvsError::from_sdk)?;
            stages.extend(output.stages().iter().filter_map(|s| {
                Some(StageSummary {
                    arn: StageArn::parse(s.arn())?,
                    name: s.name().unwrap_or_default().to_owned(),
                    active_session_id: s
                        .active_session_id()
                        .filter(|id| !id.is_empty())
                        .map(str::to_owned),
                    tags: s.tags().cloned().unwrap_or_default(),
                })
            }));
            match output.next_token().filter(|t| !t.is_empty()) {
                Some(token) => next = Some(token.to_owned()),
                None => break,
            }
        }
        Ok(stages)
    }

    /// DeleteStage.
    pub async fn delete_stage(&self, arn: &StageArn) -> Result<(), IvsError> {
        self.client
            .delete_stage()
            .arn(arn.as_str())
            .send()
            .await
            .map_err(IvsError::from_sdk)?;
        Ok(())
    }

    /// ListParticipants of one session of a stage whose user id is `user_id`, every page.
    pub async fn participants_of_user(
        &self,
        arn: &StageArn,
        session_id: &str,
        user_id: &str,
    ) -> Result<Vec<Participant>, IvsError> {
        let mut participants = Vec::new();
        let mut next: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let output = self
                .client
                .list_participants()
                .stage_arn(arn.as_str())
                .session_id(session_id)
                .filter_by_user_id(user_id)
                .max_results(100)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(IvsError::from_sdk)?;
            participants.extend(output.participants().iter().filter_map(|p| {
                Some(Participant {
                    participant_id: p.participant_id()?.to_owned(),
                    user_id: p.user_id().map(str::to_owned),
                    connected: p.state() == Some(&ParticipantState::Connected),
                    published: p.published(),
                    first_join_time: p.first_join_time().map(|t| t.secs()),
                })
            }));
            match output.next_token().filter(|t| !t.is_empty()) {
                Some(token) => next = Some(token.to_owned()),
                None => break,
            }
        }
        Ok(participants)
    }

    /// DisconnectParticipant, with `reason` (at most 128 characters).
    pub async fn disconnect_participant(
        &self,
        arn: &StageArn,
        participant_id: &str,
        reason: &str,
    ) -> Result<(), IvsError> {
        self.client
            .disconnect_participant()
            .stage_arn(arn.as_str())
            .participant_id(participant_id)
            .reason(reason)
            .send()
            .await
            .map_err(IvsError::from_sdk)?;
        Ok(())
    }
}

/// A stage answer read into [`Stage`]: an unparsable ARN or missing endpoints is a decode error.
fn stage(stage: Option<&aws_sdk_ivsrealtime::types::Stage>) -> Result<Stage, IvsError> {
    let stage = stage.ok_or_else(|| IvsError::Decode("no stage in the answer".into()))?;
    let arn = StageArn::parse(stage.arn())
        .ok_or_else(|| IvsError::Decode("the stage ARN is not one of IVS's".into()))?;
    let endpoints = stage.endpoints();
    let endpoint = |value: Option<&str>| {
        value
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| IvsError::Decode("the stage has no endpoints".into()))
    };
    Ok(Stage {
        endpoints: StageEndpoints {
            arn: arn.clone(),
            events: endpoint(endpoints.and_then(|e| e.events()))?,
            whip: endpoint(endpoints.and_then(|e| e.whip()))?,
        },
        summary: StageSummary {
            arn,
            name: stage.name().unwrap_or_default().to_owned(),
            active_session_id: stage
                .active_session_id()
                .filter(|id| !id.is_empty())
                .map(str::to_owned),
            tags: stage.tags().cloned().unwrap_or_default(),
        },
    })
}
