//! The IVS resources the stand-in keeps: imported public keys, stages, and the participants of
//! each stage session, with the rules that move a stage's `activeSessionId` as participants
//! connect and leave. Plain data: no HTTP, no locking (the owner, [`super::Ivs`], locks it).

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::sid::random_hex;

/// The account id every ARN of the stand-in names.
pub(crate) const ACCOUNT: &str = "123456789012";

/// An imported public key.
#[derive(Debug, Clone)]
pub(crate) struct PublicKey {
    pub(crate) arn: String,
    pub(crate) name: String,
    pub(crate) material: String,
    pub(crate) fingerprint: String,
    /// The material as token verification reads it, built once at import.
    pub(crate) decoding: jsonwebtoken::DecodingKey,
    pub(crate) tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Stage {
    /// The last part of the ARN: 12 characters of `[a-z0-9]`.
    pub(crate) id: String,
    pub(crate) arn: String,
    pub(crate) name: String,
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) active_session: Option<String>,
}

/// One participant of one stage session (a WHIP publisher of the stand-in).
#[derive(Debug, Clone)]
pub(crate) struct Participant {
    pub(crate) stage_id: String,
    pub(crate) session_id: String,
    /// The token's `jti`.
    pub(crate) id: String,
    /// The token's `user_id`.
    pub(crate) user_id: String,
    pub(crate) published: bool,
    pub(crate) first_join: OffsetDateTime,
    /// The relay session carrying it while connected.
    pub(crate) media_session: Option<String>,
}

impl Participant {
    /// Connected while a relay session carries it.
    pub(crate) fn connected(&self) -> bool {
        self.media_session.is_some()
    }
}

/// Why a participant could not join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JoinError {
    NoStage,
}

#[derive(Debug, Default)]
pub(crate) struct IvsState {
    pub(crate) keys: Vec<PublicKey>,
    /// Live stages, oldest first (deleted ones are removed; their participants stay listed).
    pub(crate) stages: Vec<Stage>,
    pub(crate) participants: Vec<Participant>,
}

/// `arn:aws:ivs:<region>:123456789012:<kind>/<id>`.
pub(crate) fn arn(region: &str, kind: &str, id: &str) -> String {
    format!("arn:aws:ivs:{region}:{ACCOUNT}:{kind}/{id}")
}

/// The region, account and id of an ARN `arn:aws:ivs:<region>:<account>:<kind>/<id>`, if it
/// is one (the parts unchecked).
pub(crate) fn arn_parts<'a>(arn: &'a str, kind: &str) -> Option<(&'a str, &'a str, &'a str)> {
    let rest = arn.strip_prefix("arn:aws:ivs:")?;
    let mut parts = rest.splitn(3, ':');
    let region = parts.next()?;
    let account = parts.next()?;
    let id = parts.next()?.strip_prefix(kind)?.strip_prefix('/')?;
    Some((region, account, id))
}

/// The id part of an ARN of `kind` (any region and account), if it is one.
pub(crate) fn id_of<'a>(arn: &'a str, kind: &str) -> Option<&'a str> {
    arn_parts(arn, kind).map(|(_, _, id)| id)
}

impl IvsState {
    pub(crate) fn key(&self, arn: &str) -> Option<&PublicKey> {
        self.keys.iter().find(|k| k.arn == arn)
    }

    pub(crate) fn stage(&self, id: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.id == id)
    }

    pub(crate) fn stage_by_arn(&self, arn: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.arn == arn)
    }

    /// A new stage with a fresh id.
    pub(crate) fn create_stage(
        &mut self,
        region: &str,
        name: String,
        tags: BTreeMap<String, String>,
    ) -> &Stage {
        let id = random_hex(6);
        self.stages.push(Stage {
            arn: arn(region, "stage", &id),
            id,
            name,
            tags,
            active_session: None,
        });
        let last = self.stages.len() - 1;
        &self.stages[last]
    }

    /// Removes the stage; its connected participants are disconnected (the relay ends their
    /// sessions when it sees the stage gone). False if there was no such stage.
    pub(crate) fn delete_stage(&mut self, arn: &str) -> bool {
        let Some(i) = self.stages.iter().position(|s| s.arn == arn) else {
            return false;
        };
        let stage = self.stages.remove(i);
        for p in self
            .participants
            .iter_mut()
            .filter(|p| p.stage_id == stage.id)
        {
            p.media_session = None;
        }
        true
    }

    /// Participant `id` (`user_id`) connects to the stage over relay session `media_session`
    /// and publishes: the stage's session starts if none is active. The same participant
    /// connecting again takes over (its earlier relay session is no longer its own).
    pub(crate) fn connect(
        &mut self,
        stage_id: &str,
        id: &str,
        user_id: &str,
        media_session: &str,
        now: OffsetDateTime,
    ) -> Result<String, JoinError> {
        let stage = self
            .stages
            .iter_mut()
            .find(|s| s.id == stage_id)
            .ok_or(JoinError::NoStage)?;
        let session = stage
            .active_session
            .get_or_insert_with(|| format!("st-{}", &random_hex(7)[..13]))
            .clone();
        match self
            .participants
            .iter_mut()
            .find(|p| p.stage_id == stage_id && p.session_id == session && p.id == id)
        {
            Some(p) => {
                p.published = true;
                p.user_id = user_id.to_owned();
                p.media_session = Some(media_session.to_owned());
            }
            None => self.participants.push(Participant {
                stage_id: stage_id.to_owned(),
                session_id: session.clone(),
                id: id.to_owned(),
                user_id: user_id.to_owned(),
                published: true,
                first_join: now,
                media_session: Some(media_session.to_owned()),
            }),
        }
        Ok(session)
    }

    /// Relay session `media_session` of participant `id` ended: the participant leaves unless a
    /// newer session took over; the stage's session ends with its last participant.
    pub(crate) fn left(&mut self, stage_id: &str, id: &str, media_session: &str) {
        if let Some(p) = self.participants.iter_mut().find(|p| {
            p.stage_id == stage_id
                && p.id == id
                && p.media_session.as_deref() == Some(media_session)
        }) {
            p.media_session = None;
        }
        self.end_session_if_empty(stage_id);
    }

    /// DisconnectParticipant: `Ok(true)` if it was connected, `Ok(false)` if it had already
    /// left, `Err` if the stage never had it.
    pub(crate) fn disconnect(&mut self, stage_id: &str, id: &str) -> Result<bool, ()> {
        let mut known = false;
        let mut was_connected = false;
        for p in self
            .participants
            .iter_mut()
            .filter(|p| p.stage_id == stage_id && p.id == id)
        {
            known = true;
            if p.connected() {
                was_connected = true;
                p.media_session = None;
            }
        }
        self.end_session_if_empty(stage_id);
        if known { Ok(was_connected) } else { Err(()) }
    }

    fn end_session_if_empty(&mut self, stage_id: &str) {
        let anyone = self
            .participants
            .iter()
            .any(|p| p.stage_id == stage_id && p.connected());
        if !anyone && let Some(stage) = self.stages.iter_mut().find(|s| s.id == stage_id) {
            stage.active_session = None;
        }
    }

    /// Whether relay session `media_session` may go on: the stage exists and, for a publisher
    /// (`participant` given), that participant is connected through this session.
    pub(crate) fn alive(&self, stage_id: &str, participant: Option<(&str, &str)>) -> bool {
        if self.stage(stage_id).is_none() {
            return false;
        }
        match participant {
            None => true,
            Some((id, media_session)) => self.participants.iter().any(|p| {
                p.stage_id == stage_id
                    && p.id == id
                    && p.media_session.as_deref() == Some(media_session)
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_lives_while_someone_is_connected() {
        let mut state = IvsState::default();
        let id = state
            .create_stage("us-east-1", "s".into(), BTreeMap::new())
            .id
            .clone();
        let now = OffsetDateTime::now_utc();
        let session = state.connect(&id, "p1", "host", "MS1", now).unwrap();
        assert!(session.starts_with("st-") && session.len() == 16);
        assert!(state.alive(&id, Some(("p1", "MS1"))));
        // The same participant again takes over; the old relay session is not its own any more.
        assert_eq!(
            state.connect(&id, "p1", "host", "MS2", now).unwrap(),
            session
        );
        assert!(!state.alive(&id, Some(("p1", "MS1"))));
        state.left(&id, "p1", "MS1");
        assert_eq!(
            state.stage(&id).unwrap().active_session.as_deref(),
            Some(session.as_str())
        );
        state.left(&id, "p1", "MS2");
        assert_eq!(state.stage(&id).unwrap().active_session, None);
        assert_eq!(state.disconnect(&id, "p1"), Ok(false));
        assert_eq!(state.disconnect(&id, "nobody"), Err(()));
        assert_eq!(id_of(&state.stages[0].arn, "stage"), Some(id.as_str()));
    }
}
