//! The stand-in's Amazon IVS real-time (stages) API: the operations OnAir calls, served as the
//! model `specs/aws/ivs-realtime-2020-07-14.json` shapes them (rest-json: every operation a
//! `POST /ivs/<OperationName>` with a JSON body), SigV4-signed requests only, a call log tests
//! read, and the participant tokens stage publishers present to the relay's IVS WHIP endpoint
//! (`media`, `POST /media/ivs/whip/<stage id>`). A stage's media room in the relay is
//! `ivs-<stage id>`: the relay asks this module whether a stage and its participants are still
//! there and tells it when a participant's session ends.
//!
//! | module | what it is for |
//! |---|---|
//! | `api` | the `/ivs/*` routes: call log, fault layer, SigV4 check, one handler per operation |
//! | `model` | request bodies parsed into types and checked as the model says; answers as its JSON |
//! | `token` | participant tokens (ES384) checked against the imported public keys; key import checks |
//! | `sigv4` | AWS Signature Version 4 recomputed and compared |
//! | `state` | public keys, stages, participants and the stage's `activeSessionId` |
//! | `error` | the model's exceptions as HTTP answers |

pub(crate) mod api;
mod error;
mod model;
mod sigv4;
mod state;
mod token;

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::shared::{Shared, lock};

pub(crate) use state::JoinError;
pub(crate) use token::Verified;

/// The access key id signed requests must use unless configured otherwise.
pub const DEFAULT_ACCESS_KEY_ID: &str = "AKIDSTANDIN0000000000";
/// The secret access key signed requests must use unless configured otherwise.
pub const DEFAULT_SECRET_ACCESS_KEY: &str = "standin-aws-secret-key";
/// The ARN of the public key imported at start (`--ivs-public-key-file`).
pub const STARTUP_KEY_ARN: &str = "arn:aws:ivs:us-east-1:123456789012:public-key/standin0000";

/// How the IVS API is set up: the AWS key pair requests must be signed with, the base of the
/// stages' WHIP endpoints, and a public key to import at start.
#[derive(Clone, PartialEq, Eq)]
pub struct IvsSettings {
    pub access_key_id: String,
    pub secret_access_key: String,
    /// The stages' `endpoints.whip` is `<whip_base>/ivs/whip/<stage id>`; `None`: the stand-in's
    /// own `http://<listen address>/media`.
    pub whip_base: Option<String>,
    /// A PEM P-384 public key imported at start as [`STARTUP_KEY_ARN`].
    pub public_key_pem: Option<String>,
}

impl Default for IvsSettings {
    fn default() -> Self {
        IvsSettings {
            access_key_id: DEFAULT_ACCESS_KEY_ID.to_owned(),
            secret_access_key: DEFAULT_SECRET_ACCESS_KEY.to_owned(),
            whip_base: None,
            public_key_pem: None,
        }
    }
}

impl std::fmt::Debug for IvsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IvsSettings")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("whip_base", &self.whip_base)
            .field(
                "public_key_pem",
                &self.public_key_pem.as_ref().map(|_| "<set>"),
            )
            .finish()
    }
}

impl IvsSettings {
    /// `STANDIN_AWS_ACCESS_KEY_ID`, `STANDIN_AWS_SECRET_ACCESS_KEY`, `STANDIN_IVS_WHIP_BASE` and
    /// `STANDIN_IVS_PUBLIC_KEY_FILE` (read now), each optional.
    pub fn from_env() -> Result<IvsSettings, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let mut settings = IvsSettings::default();
        if let Some(v) = var("STANDIN_AWS_ACCESS_KEY_ID") {
            settings.access_key_id = v;
        }
        if let Some(v) = var("STANDIN_AWS_SECRET_ACCESS_KEY") {
            settings.secret_access_key = v;
        }
        settings.whip_base = var("STANDIN_IVS_WHIP_BASE");
        if let Some(path) = var("STANDIN_IVS_PUBLIC_KEY_FILE") {
            settings.read_public_key(&path)?;
        }
        Ok(settings)
    }

    /// Reads the PEM public key at `path` to import at start.
    pub fn read_public_key(&mut self, path: &str) -> Result<(), String> {
        let pem = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the IVS public key file {path}: {e}"))?;
        token::check_public_key(&pem).map_err(|e| format!("{path}: {e}"))?;
        self.public_key_pem = Some(pem);
        Ok(())
    }
}

/// One call of the IVS API, as `GET /__standin/ivs/calls` lists them: the operation (the last
/// path segment), the request body as JSON (`null` if empty, a string if not JSON), the status,
/// the response body as JSON, and the `x-amzn-ErrorType` of an error answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IvsCall {
    pub operation: String,
    pub request: Value,
    pub status: u16,
    pub response: Value,
    pub error_type: Option<String>,
}

/// A stage as tests inspect it (`StandIn::ivs_stages`, `GET /__standin/ivs/state`), with every
/// participant it had, of every session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IvsStageInfo {
    pub arn: String,
    pub name: String,
    pub active_session_id: Option<String>,
    pub tags: std::collections::BTreeMap<String, String>,
    pub participants: Vec<IvsParticipantInfo>,
}

/// One participant of one stage session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IvsParticipantInfo {
    pub participant_id: String,
    pub user_id: String,
    pub session_id: String,
    pub connected: bool,
    pub published: bool,
}

/// The IVS half of a running stand-in.
pub(crate) struct Ivs {
    pub(crate) shared: Arc<Shared>,
    credentials: sigv4::Credentials,
    whip_base: String,
    /// The key imported at start, kept across resets.
    startup_key: Option<state::PublicKey>,
    state: Mutex<state::IvsState>,
    calls: Mutex<Vec<IvsCall>>,
}

impl Ivs {
    pub(crate) fn new(shared: Arc<Shared>, settings: &IvsSettings) -> Result<Ivs, String> {
        let startup_key = match &settings.public_key_pem {
            Some(pem) => {
                let (fingerprint, decoding) = token::check_public_key(pem)?;
                Some(state::PublicKey {
                    arn: STARTUP_KEY_ARN.to_owned(),
                    name: "standin".to_owned(),
                    material: pem.clone(),
                    fingerprint,
                    decoding,
                    tags: Default::default(),
                })
            }
            None => None,
        };
        let whip_base = settings
            .whip_base
            .clone()
            .unwrap_or_else(|| format!("{}/media", shared.local_base))
            .trim_end_matches('/')
            .to_owned();
        let ivs = Ivs {
            shared,
            credentials: sigv4::Credentials {
                access_key_id: settings.access_key_id.clone(),
                secret_access_key: settings.secret_access_key.clone(),
            },
            whip_base,
            startup_key,
            state: Mutex::new(state::IvsState::default()),
            calls: Mutex::new(Vec::new()),
        };
        ivs.reset();
        Ok(ivs)
    }

    /// Forgets every stage, participant, call and imported key but the one imported at start.
    pub(crate) fn reset(&self) {
        let mut state = lock(&self.state);
        *state = state::IvsState::default();
        state.keys.extend(self.startup_key.clone());
        drop(state);
        lock(&self.calls).clear();
        self.shared.touch();
    }

    fn with_state<R>(&self, f: impl FnOnce(&mut state::IvsState) -> R) -> R {
        f(&mut lock(&self.state))
    }

    pub(crate) fn calls(&self) -> Vec<IvsCall> {
        lock(&self.calls).clone()
    }

    pub(crate) fn clear_calls(&self) {
        lock(&self.calls).clear();
    }

    fn record(&self, call: IvsCall) {
        lock(&self.calls).push(call);
    }

    /// The stages that exist, oldest first.
    pub(crate) fn stages(&self) -> Vec<IvsStageInfo> {
        self.with_state(|s| {
            s.stages
                .iter()
                .map(|stage| IvsStageInfo {
                    arn: stage.arn.clone(),
                    name: stage.name.clone(),
                    active_session_id: stage.active_session.clone(),
                    tags: stage.tags.clone(),
                    participants: s
                        .participants
                        .iter()
                        .filter(|p| p.stage_id == stage.id)
                        .map(|p| IvsParticipantInfo {
                            participant_id: p.id.clone(),
                            user_id: p.user_id.clone(),
                            session_id: p.session_id.clone(),
                            connected: p.connected(),
                            published: p.published,
                        })
                        .collect(),
                })
                .collect()
        })
    }

    /// A simulated publisher `user_id` joins stage `stage_arn` without WebRTC (a fresh
    /// participant id, connected and published, starting the stage session if none is
    /// active); it stays until DisconnectParticipant or DeleteStage. Its participant id.
    pub(crate) fn connect_simulated(
        &self,
        stage_arn: &str,
        user_id: &str,
    ) -> Result<String, String> {
        let stage_id = self
            .with_state(|s| s.stage_by_arn(stage_arn).map(|st| st.id.clone()))
            .ok_or_else(|| format!("no stage {stage_arn}"))?;
        let who = Verified {
            participant_id: format!("sim-{}", crate::sid::random_hex(8)),
            user_id: user_id.to_owned(),
            publish: true,
            subscribe: true,
        };
        // No relay session carries it: a name no relay session has.
        let media_session = format!("simulated-{}", who.participant_id);
        self.connect(&stage_id, &who, &media_session)
            .map_err(|JoinError::NoStage| format!("no stage {stage_arn}"))?;
        Ok(who.participant_id)
    }

    /// The ARN of stage `stage_id`, if it exists.
    pub(crate) fn stage_arn(&self, stage_id: &str) -> Option<String> {
        self.with_state(|s| s.stage(stage_id).map(|st| st.arn.clone()))
    }

    /// Verifies a participant token for stage `stage_id` with the stand-in's clock: `Ok(None)`
    /// if there is no such stage, `Err` (why) for a token that does not verify.
    pub(crate) fn verify_token(
        &self,
        stage_id: &str,
        token: &str,
    ) -> Result<Option<Verified>, String> {
        let now = self.shared.now().unix_timestamp();
        self.with_state(|s| {
            let Some(stage) = s.stage(stage_id) else {
                return Ok(None);
            };
            token::verify(token, &s.keys, &stage.arn, now).map(Some)
        })
    }

    /// A publisher joined the stage through relay session `media_session`.
    pub(crate) fn connect(
        &self,
        stage_id: &str,
        who: &Verified,
        media_session: &str,
    ) -> Result<String, JoinError> {
        let now = self.shared.now();
        let joined = self.with_state(|s| {
            s.connect(
                stage_id,
                &who.participant_id,
                &who.user_id,
                media_session,
                now,
            )
        });
        self.shared.touch();
        joined
    }

    /// Relay session `media_session` of participant `participant_id` ended.
    pub(crate) fn left(&self, stage_id: &str, participant_id: &str, media_session: &str) {
        self.with_state(|s| s.left(stage_id, participant_id, media_session));
    }

    /// Whether a relay session of the stage (a publisher's: `participant` = its id and the
    /// relay session) may go on.
    pub(crate) fn alive(&self, stage_id: &str, participant: Option<(&str, &str)>) -> bool {
        self.with_state(|s| s.alive(stage_id, participant))
    }
}
