//! The operations' request bodies parsed into types and checked as the model's input shapes
//! say (required members, lengths, patterns, enums, ranges; an unknown member is refused), and
//! the resources rendered as the model's output shapes (camelCase members, ISO 8601 times).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::error::AwsError;
use super::state::{Participant, PublicKey, Stage, arn_parts};
use crate::clock::iso;

/// A request body: empty is `{}`; anything not an object of the shape's members is a 400.
pub(crate) fn parse<T: DeserializeOwned>(operation: &str, body: &[u8]) -> Result<T, AwsError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| {
        AwsError::validation(format!(
            "The {operation} request body does not fit its input shape: {e}"
        ))
    })
}

fn check_len(member: &str, value: &str, min: usize, max: usize) -> Result<(), AwsError> {
    let n = value.chars().count();
    if n < min || n > max {
        return Err(AwsError::validation(format!(
            "{member} must be {min} to {max} characters long"
        )));
    }
    Ok(())
}

/// `[a-zA-Z0-9-_]*`, the model's pattern for names and participant ids.
fn check_name(member: &str, value: &str, max: usize) -> Result<(), AwsError> {
    check_len(member, value, 0, max)?;
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(AwsError::validation(format!(
            "{member} must match [a-zA-Z0-9-_]*"
        )));
    }
    Ok(())
}

/// `arn:aws:ivs:[a-z0-9-]+:[0-9]+:<kind>/[a-zA-Z0-9-]+`, at most 128 characters.
fn check_arn(member: &str, value: &str, kind: &str) -> Result<(), AwsError> {
    let bad = || {
        AwsError::validation(format!(
            "{member} must be an ARN arn:aws:ivs:<region>:<account>:{kind}/<id>"
        ))
    };
    check_len(member, value, 1, 128)?;
    let (region, account, id) = arn_parts(value, kind).ok_or_else(bad)?;
    let ok = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !account.is_empty()
        && account.bytes().all(|b| b.is_ascii_digit())
        && !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok { Ok(()) } else { Err(bad()) }
}

fn check_tags(tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
    if tags.len() > 50 {
        return Err(AwsError::validation("tags: at most 50"));
    }
    for (k, v) in tags {
        check_len("tag key", k, 1, 128)?;
        check_len("tag value", v, 0, 256)?;
    }
    Ok(())
}

fn check_page(next_token: Option<&str>, max_results: Option<i64>) -> Result<(), AwsError> {
    if let Some(t) = next_token {
        check_len("nextToken", t, 0, 1024)?;
        if !t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=_-".contains(&b))
        {
            return Err(AwsError::validation(
                "nextToken must match [a-zA-Z0-9+/=_-]*",
            ));
        }
    }
    if let Some(n) = max_results
        && !(1..=100).contains(&n)
    {
        return Err(AwsError::validation("maxResults must be 1 to 100"));
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ImportPublicKey {
    pub(crate) public_key_material: String,
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(default)]
    pub(crate) tags: Option<BTreeMap<String, String>>,
}

impl ImportPublicKey {
    pub(crate) fn check(&self) -> Result<(), AwsError> {
        if !self
            .public_key_material
            .contains("-----BEGIN PUBLIC KEY-----")
            || !self
                .public_key_material
                .contains("-----END PUBLIC KEY-----")
        {
            return Err(AwsError::validation(
                "publicKeyMaterial must be a PEM public key (-----BEGIN PUBLIC KEY-----)",
            ));
        }
        if let Some(name) = &self.name {
            check_name("name", name, 128)?;
        }
        self.tags.as_ref().map_or(Ok(()), check_tags)
    }
}

/// The body of GetPublicKey, DeletePublicKey, GetStage and DeleteStage.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ByArn {
    pub(crate) arn: String,
}

impl ByArn {
    pub(crate) fn check(&self, kind: &str) -> Result<(), AwsError> {
        check_arn("arn", &self.arn, kind)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct CreateStage {
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(default)]
    pub(crate) participant_token_configurations: Option<Vec<Value>>,
    #[serde(default)]
    pub(crate) tags: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub(crate) auto_participant_recording_configuration: Option<Value>,
}

impl CreateStage {
    pub(crate) fn check(&self) -> Result<(), AwsError> {
        if let Some(name) = &self.name {
            check_name("name", name, 128)?;
        }
        if self
            .participant_token_configurations
            .as_ref()
            .is_some_and(|c| !c.is_empty())
        {
            return Err(AwsError::validation(
                "participantTokenConfigurations: the stand-in mints no tokens; self-sign them with an imported key",
            ));
        }
        if self.auto_participant_recording_configuration.is_some() {
            return Err(AwsError::validation(
                "autoParticipantRecordingConfiguration: the stand-in does not record",
            ));
        }
        self.tags.as_ref().map_or(Ok(()), check_tags)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ListStages {
    #[serde(default)]
    pub(crate) next_token: Option<String>,
    #[serde(default)]
    pub(crate) max_results: Option<i64>,
}

impl ListStages {
    pub(crate) fn check(&self) -> Result<(), AwsError> {
        check_page(self.next_token.as_deref(), self.max_results)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub(crate) enum ParticipantState {
    Connected,
    Disconnected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub(crate) enum RecordingFilter {
    Starting,
    Active,
    Stopping,
    Stopped,
    Failed,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ListParticipants {
    pub(crate) stage_arn: String,
    pub(crate) session_id: String,
    #[serde(default)]
    pub(crate) filter_by_user_id: Option<String>,
    #[serde(default)]
    pub(crate) filter_by_published: Option<bool>,
    #[serde(default)]
    pub(crate) filter_by_state: Option<ParticipantState>,
    #[serde(default)]
    pub(crate) next_token: Option<String>,
    #[serde(default)]
    pub(crate) max_results: Option<i64>,
    #[serde(default)]
    pub(crate) filter_by_recording_state: Option<RecordingFilter>,
}

impl ListParticipants {
    pub(crate) fn check(&self) -> Result<(), AwsError> {
        check_arn("stageArn", &self.stage_arn, "stage")?;
        let id_ok = self.session_id.len() == 16
            && self.session_id.starts_with("st-")
            && self.session_id[3..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric());
        if !id_ok {
            return Err(AwsError::validation(
                "sessionId must be st- and 13 characters of [a-zA-Z0-9]",
            ));
        }
        if let Some(u) = &self.filter_by_user_id {
            check_len("filterByUserId", u, 0, 128)?;
        }
        check_page(self.next_token.as_deref(), self.max_results)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct DisconnectParticipant {
    pub(crate) stage_arn: String,
    pub(crate) participant_id: String,
    #[serde(default)]
    pub(crate) reason: Option<String>,
}

impl DisconnectParticipant {
    pub(crate) fn check(&self) -> Result<(), AwsError> {
        check_arn("stageArn", &self.stage_arn, "stage")?;
        check_name("participantId", &self.participant_id, 64)?;
        if let Some(r) = &self.reason {
            check_len("reason", r, 0, 128)?;
        }
        Ok(())
    }
}

/// A `PublicKey`.
pub(crate) fn public_key(key: &PublicKey) -> Value {
    json!({
        "arn": key.arn,
        "name": key.name,
        "publicKeyMaterial": key.material,
        "fingerprint": key.fingerprint,
        "tags": key.tags,
    })
}

/// A `StageSummary`.
pub(crate) fn stage_summary(stage: &Stage) -> Value {
    let mut v = json!({
        "arn": stage.arn,
        "name": stage.name,
        "tags": stage.tags,
    });
    if let Some(session) = &stage.active_session {
        v["activeSessionId"] = json!(session);
    }
    v
}

/// A `Stage`, with its endpoints: WHIP on the relay, the others placeholders nothing serves.
pub(crate) fn stage(stage: &Stage, whip_base: &str) -> Value {
    let mut v = stage_summary(stage);
    v["endpoints"] = json!({
        "events": "wss://global.events.live-video.net",
        "whip": format!("{whip_base}/ivs/whip/{}", stage.id),
        "rtmp": format!("rtmp://{}.standin.invalid/app/", stage.id),
        "rtmps": format!("rtmps://{}.standin.invalid:443/app/", stage.id),
    });
    v
}

/// A `ParticipantSummary`.
pub(crate) fn participant(p: &Participant) -> Value {
    json!({
        "participantId": p.id,
        "userId": p.user_id,
        "state": if p.connected() { "CONNECTED" } else { "DISCONNECTED" },
        "firstJoinTime": iso(p.first_join),
        "published": p.published,
        "recordingState": "DISABLED",
    })
}
