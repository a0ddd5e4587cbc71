//! Streams in IVS terms (`AUDIENCE_MODE=ivs`, docs/ARCHITECTURE.md, Audience modes), shared by
//! the endpoints and the reaper: a stream's stages and its state, opening the stream's stage
//! for the host, whether the host is on air in it, and ending a stage (idempotent).
//!
//! IVS keeps the only state, as Twilio does in the other modes: a stream's stages are the
//! stages named `onair-<stream>` and tagged `onair-stream=<stream>` (with `onair-created=<unix
//! s>`); a stage is on air while its session is active (IVS starts one when the first
//! participant connects, and the host's WHIP publish is the first: viewers get a token only
//! once it is live). The host is a participant whose `user_id` is `HOST_IDENTITY`; only host
//! tokens may publish.
//!
//! Stages are not reused: `host_token` makes a fresh stage and deletes the stream's others that
//! are not on air, as room mode replaces studio rooms. A stage's `onair-created` tag is what the
//! reaper ages it by, and tags cannot be renewed without a further permission
//! (TagResource); a fresh stage also retires the host tokens of the replaced one.

use std::collections::{BTreeMap, HashMap};

use crate::config::Settings;
use crate::ids::{Identity, StageArn, StreamName, stage_name};
use crate::ivs::{CREATED_TAG, Ivs, IvsError, Participant, STREAM_TAG, Stage, StageSummary};
use crate::ivs_token::{self, Capabilities, Mint, ParticipantToken, StageEndpoints};
use crate::secret::SigningKey;
use crate::stream::State;

/// The reason given to IVS when OnAir disconnects a participant.
const STOP_REASON: &str = "the stream ended";

/// Why a host's stage could not be found or started. The edge (`response`) answers all but
/// the last as 409 `conflict`, IVS's failures as 502.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StageError {
    #[error("the stream's stage is gone; get a new host token")]
    StageGone,
    #[error("the host is not publishing to the stage yet; publish, then start the stream")]
    HostNotPublishing,
    #[error("no stage of this stream has the host publishing; publish first")]
    NoLiveStage,
    #[error("stream `{0}` is live from another studio; choose another name or wait until it ends")]
    AlreadyLive(StreamName),
    #[error(transparent)]
    Ivs(#[from] IvsError),
}

/// What a host request acts on in `ivs` mode: the stage of their host token (and the
/// participant the token made them), or, with the password, a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageTarget {
    Stage {
        arn: StageArn,
        participant_id: String,
    },
    Stream(StreamName),
}

/// A stream's state and the stage viewers join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageStatus {
    pub state: State,
    pub stage: Option<StageArn>,
}

impl StageStatus {
    pub fn offline() -> StageStatus {
        StageStatus {
            state: State::Offline,
            stage: None,
        }
    }
}

/// Of `stages`, OnAir's that belong to `stream`, newest first (by the `onair-created` tag, then
/// ARN, so every caller agrees).
pub fn stages_of<'a>(stages: &'a [StageSummary], stream: &StreamName) -> Vec<&'a StageSummary> {
    let mut of_stream: Vec<&StageSummary> = stages
        .iter()
        .filter(|stage| stage.stream().as_ref() == Some(stream))
        .collect();
    of_stream.sort_by(|a, b| (b.created(), &b.arn).cmp(&(a.created(), &a.arn)));
    of_stream
}

/// The status of `stream` from a listing of stages, with no call of its own: live in the newest
/// of its stages with an active session, else ready in the newest, else offline.
pub fn status_in(stages: &[StageSummary], stream: &StreamName) -> StageStatus {
    let of_stream = stages_of(stages, stream);
    if let Some(live) = of_stream.iter().find(|s| s.active_session_id.is_some()) {
        return StageStatus {
            state: State::Live,
            stage: Some(live.arn.clone()),
        };
    }
    match of_stream.first() {
        Some(newest) => StageStatus {
            state: State::Ready,
            stage: Some(newest.arn.clone()),
        },
        None => StageStatus::offline(),
    }
}

/// The host's participants in `stage`'s active session that are connected and published,
/// first joined first; none when the stage has no session.
pub async fn publishing_hosts(
    ivs: &Ivs,
    host: &Identity,
    stage: &StageSummary,
) -> Result<Vec<Participant>, IvsError> {
    let Some(session) = &stage.active_session_id else {
        return Ok(Vec::new());
    };
    let mut hosts: Vec<Participant> = ivs
        .participants_of_user(&stage.arn, session, host.as_str())
        .await?
        .into_iter()
        .filter(|p| p.connected && p.published)
        .collect();
    hosts.sort_by(|a, b| {
        (
            a.first_join_time.is_none(),
            a.first_join_time,
            &a.participant_id,
        )
            .cmp(&(
                b.first_join_time.is_none(),
                b.first_join_time,
                &b.participant_id,
            ))
    });
    Ok(hosts)
}

/// Opens `stream`'s studio: a fresh stage (tagged with the stream and `now`), after which the
/// stream's other stages, none on air, are deleted. A stream whose host publishes in one of its
/// stages is [`StageError::AlreadyLive`], and nothing is made.
pub async fn open_stage(
    ivs: &Ivs,
    settings: &Settings,
    stream: &StreamName,
    now: u64,
) -> Result<Stage, StageError> {
    let host = &settings.host_identity;
    let listed = ivs.list_stages().await?;
    let others = stages_of(&listed, stream);
    for stage in &others {
        if !publishing_hosts(ivs, host, stage).await?.is_empty() {
            return Err(StageError::AlreadyLive(stream.clone()));
        }
    }
    let tags = HashMap::from([
        (STREAM_TAG.to_owned(), stream.as_str().to_owned()),
        (CREATED_TAG.to_owned(), now.to_string()),
    ]);
    let created = ivs.create_stage(&stage_name(stream), &tags).await?;
    for old in others {
        match end_stage(ivs, settings, &old.arn).await {
            Ok(_) => {
                tracing::info!(stream = %stream, stage = %old.arn, by = %created.summary.arn, "studio stage replaced")
            }
            Err(err) => {
                tracing::warn!(stream = %stream, stage = %old.arn, error = %err, "could not end a replaced studio stage")
            }
        }
    }
    tracing::info!(stream = %stream, stage = %created.summary.arn, "studio stage opened");
    Ok(created)
}

/// A stage with the host publishing in it.
#[derive(Debug, Clone)]
pub struct OnAirStage {
    pub stage: StageSummary,
    pub stream: Option<StreamName>,
    pub host: Participant,
}

/// The stage a host request acts on, with the host publishing in it: the stage of the host's
/// token (first on air wins: a token whose participant is not the first publishing host of its
/// stage is [`StageError::AlreadyLive`]), or the newest stage of a stream with its host
/// publishing.
pub async fn host_on_air(
    ivs: &Ivs,
    settings: &Settings,
    target: &StageTarget,
) -> Result<OnAirStage, StageError> {
    let host = &settings.host_identity;
    match target {
        StageTarget::Stage {
            arn,
            participant_id,
        } => {
            let stage = match ivs.get_stage(arn).await {
                Ok(stage) => stage.summary,
                Err(err) if err.is_not_found() => return Err(StageError::StageGone),
                Err(err) => return Err(err.into()),
            };
            let hosts = publishing_hosts(ivs, host, &stage).await?;
            let Some(first) = hosts.first() else {
                return Err(StageError::HostNotPublishing);
            };
            let stream = stage.stream();
            if first.participant_id != *participant_id {
                return match hosts.iter().find(|p| p.participant_id == *participant_id) {
                    Some(_) => Err(StageError::AlreadyLive(
                        stream.unwrap_or_else(StreamName::main),
                    )),
                    None => Err(StageError::HostNotPublishing),
                };
            }
            Ok(OnAirStage {
                host: first.clone(),
                stream,
                stage,
            })
        }
        StageTarget::Stream(stream) => find_on_air(ivs, host, stream)
            .await?
            .ok_or(StageError::NoLiveStage),
    }
}

/// The newest stage of `stream` with its host publishing.
pub async fn find_on_air(
    ivs: &Ivs,
    host: &Identity,
    stream: &StreamName,
) -> Result<Option<OnAirStage>, IvsError> {
    let listed = ivs.list_stages().await?;
    for stage in stages_of(&listed, stream) {
        if let Some(first) = publishing_hosts(ivs, host, stage).await?.into_iter().next() {
            return Ok(Some(OnAirStage {
                stage: stage.clone(),
                stream: Some(stream.clone()),
                host: first,
            }));
        }
    }
    Ok(None)
}

/// The ARNs of every stage of `stream`.
pub async fn stream_stages(ivs: &Ivs, stream: &StreamName) -> Result<Vec<StageArn>, IvsError> {
    let listed = ivs.list_stages().await?;
    Ok(stages_of(&listed, stream)
        .into_iter()
        .map(|stage| stage.arn.clone())
        .collect())
}

/// What ending a stage did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StageEnded {
    /// Whether this call deleted it (`false`: it was gone already).
    pub deleted: bool,
    /// The stream it belonged to, when it was found.
    pub stream: Option<StreamName>,
}

/// Ends a stage: disconnects the host's connected participants (the publishers: only host
/// tokens may publish), then deletes the stage, which ends every other participant's
/// connection. A stage already gone is ended already (`deleted: false`). Deleting is attempted
/// even if a disconnect failed; the first failure is returned after.
pub async fn end_stage(
    ivs: &Ivs,
    settings: &Settings,
    arn: &StageArn,
) -> Result<StageEnded, IvsError> {
    let stage = match ivs.get_stage(arn).await {
        Ok(stage) => stage.summary,
        Err(err) if err.is_not_found() => return Ok(StageEnded::default()),
        Err(err) => return Err(err),
    };
    let mut first_error = None;
    match publishing_hosts(ivs, &settings.host_identity, &stage).await {
        Ok(hosts) => {
            for host in hosts {
                match ivs
                    .disconnect_participant(arn, &host.participant_id, STOP_REASON)
                    .await
                {
                    Ok(()) => {
                        tracing::info!(stage = %arn, participant = %host.participant_id, "host disconnected")
                    }
                    Err(err) if err.is_not_found() => {}
                    Err(err) => {
                        first_error.get_or_insert(err);
                    }
                }
            }
        }
        Err(err) if err.is_not_found() => {}
        Err(err) => {
            first_error.get_or_insert(err);
        }
    }
    let deleted = match ivs.delete_stage(arn).await {
        Ok(()) => true,
        Err(err) if err.is_not_found() => false,
        Err(err) => return Err(first_error.unwrap_or(err)),
    };
    if deleted {
        tracing::info!(stage = %arn, stream = ?stage.stream(), "stage ended");
    }
    match first_error {
        Some(err) => Err(err),
        None => Ok(StageEnded {
            deleted,
            stream: stage.stream(),
        }),
    }
}

/// Why the reaper ends a stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReapReason {
    /// Older than `STREAM_MAX_MINUTES`, whoever is in it.
    PastLongestStream,
    /// No active session, older than `STUDIO_MAX_MINUTES`: the host never came, or left.
    StudioUnused,
    /// A session goes on (viewers) but the host no longer publishes, past the grace period.
    HostGone,
}

impl ReapReason {
    pub fn describe(self) -> &'static str {
        match self {
            ReapReason::PastLongestStream => "past the longest stream",
            ReapReason::StudioUnused => "no session within the studio's time",
            ReapReason::HostGone => "host no longer publishing",
        }
    }
}

/// Whether OnAir's `stage` has outlived its purpose at `now` (unix seconds), and why. A stage
/// without a readable `onair-created` tag counts as old: better ended than leaked.
pub async fn judge(
    ivs: &Ivs,
    settings: &Settings,
    stage: &StageSummary,
    now: u64,
    grace_secs: u64,
) -> Result<Option<ReapReason>, IvsError> {
    let age = stage.age_secs(now).unwrap_or(u64::MAX);
    if age >= settings.stream_max.as_secs() {
        return Ok(Some(ReapReason::PastLongestStream));
    }
    if stage.active_session_id.is_none() {
        return Ok((age >= settings.studio_max.as_secs()).then_some(ReapReason::StudioUnused));
    }
    if age < grace_secs {
        return Ok(None);
    }
    let hosts = publishing_hosts(ivs, &settings.host_identity, stage).await?;
    Ok(hosts.is_empty().then_some(ReapReason::HostGone))
}

/// Mints a participant token for `stage`: the host's (publish) or a viewer's (subscribe),
/// valid for `ttl_secs` from `now`, naming the stream in its attributes.
pub fn mint(
    key: &SigningKey,
    key_arn: &str,
    stage: &StageEndpoints,
    who: &Identity,
    stream: &StreamName,
    now: u64,
    ttl_secs: u64,
) -> ParticipantToken {
    let capabilities = if who.is_viewer() {
        Capabilities::SUBSCRIBE
    } else {
        Capabilities::PUBLISH
    };
    ivs_token::mint(Mint {
        key,
        key_arn,
        stage,
        user_id: who.as_str(),
        capabilities,
        attributes: BTreeMap::from([("stream".to_owned(), stream.as_str().to_owned())]),
        now,
        ttl_secs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(id: &str, stream: &str, created: u64, session: Option<&str>) -> StageSummary {
        StageSummary {
            arn: StageArn::parse(&format!("arn:aws:ivs:us-east-1:123456789012:stage/{id}"))
                .unwrap(),
            name: format!("onair-{stream}"),
            active_session_id: session.map(str::to_owned),
            tags: HashMap::from([
                (STREAM_TAG.to_owned(), stream.to_owned()),
                (CREATED_TAG.to_owned(), created.to_string()),
            ]),
        }
    }

    #[test]
    fn a_streams_state_comes_from_the_listing_alone() {
        let main = StreamName::main();
        let other = StreamName::parse("other").unwrap();
        assert_eq!(status_in(&[], &main), StageStatus::offline());
        let stages = vec![
            summary("aaaaaaaaaaaa", "main", 100, None),
            summary("bbbbbbbbbbbb", "main", 200, None),
            summary("cccccccccccc", "other", 50, Some("st-1")),
        ];
        let ready = status_in(&stages, &main);
        assert_eq!(ready.state, State::Ready);
        assert_eq!(ready.stage.unwrap().id(), "bbbbbbbbbbbb");
        let live = status_in(&stages, &other);
        assert_eq!(live.state, State::Live);
        assert_eq!(live.stage.unwrap().id(), "cccccccccccc");
        // Not ours: no tag, or a tag that does not match the name.
        let mut foreign = summary("dddddddddddd", "main", 300, Some("st-2"));
        foreign.name = "somebody-elses".into();
        let mut untagged = summary("eeeeeeeeeeee", "main", 300, Some("st-3"));
        untagged.tags.clear();
        assert_eq!(
            status_in(&[foreign, untagged], &main),
            StageStatus::offline()
        );
    }

    #[test]
    fn host_tokens_publish_and_viewer_tokens_subscribe() {
        let pem = onair_test_support::ivs_keys::p384().private_pem;
        let key = SigningKey::from_pem(&pem).unwrap();
        let stage = StageEndpoints {
            arn: StageArn::parse("arn:aws:ivs:us-east-1:123456789012:stage/aaaaaaaaaaaa").unwrap(),
            events: "wss://events.example".into(),
            whip: "https://whip.example".into(),
        };
        let arn = "arn:aws:ivs:us-east-1:123456789012:public-key/k";
        let main = StreamName::main();
        let host = Identity::parse("host").unwrap();
        let token = mint(&key, arn, &stage, &host, &main, 10, 60);
        let verified = ivs_token::verify(&key, &token.jwt, 11).unwrap();
        assert_eq!(verified.claims.capabilities, Capabilities::PUBLISH);
        assert_eq!(verified.claims.attributes["stream"], "main");
        let viewer = Identity::new_viewer();
        let token = mint(&key, arn, &stage, &viewer, &main, 10, 60);
        let verified = ivs_token::verify(&key, &token.jwt, 11).unwrap();
        assert_eq!(verified.claims.capabilities, Capabilities::SUBSCRIBE);
        assert_eq!(verified.claims.user_id, viewer.as_str());
    }
}
