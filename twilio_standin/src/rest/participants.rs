//! Video v1 Room Participants (list, fetch, disconnect; `{Sid}` may be a PA sid or an identity)
//! and their Subscribe Rules (fetch, replace; validated as Twilio does, errors 53215).

use serde_json::{Map, Value, json};

use crate::clock::parse_iso;
use crate::error::TwilioError;
use crate::paging::{self, Item};
use crate::params::{Kind, PAGING, Spec, opt};
use crate::render;
use crate::state::{ParticipantStatus, State};

use super::handler::{Answer, PathArgs, Reply, Req};
use super::rooms::resolve;

pub(crate) const PARTICIPANT_STATUSES: &[&str] = &["connected", "disconnected", "reconnecting"];

/// Twilio's limit on rules in one set.
pub(crate) const MAX_RULES: usize = 20;

const LIST: &[Spec] = &[
    opt("Status", Kind::Enum(PARTICIPANT_STATUSES)),
    opt("Identity", Kind::Text),
    opt("DateCreatedAfter", Kind::DateTime),
    opt("DateCreatedBefore", Kind::DateTime),
];

const UPDATE: &[Spec] = &[opt("Status", Kind::Enum(PARTICIPANT_STATUSES))];

const UPDATE_RULES: &[Spec] = &[opt("Rules", Kind::Text)];

/// Room and participant indexes for `{RoomSid}` and `{Sid}`, or Twilio's 404.
fn resolve_participant(
    state: &State,
    room: &str,
    participant: &str,
) -> Result<(usize, usize), TwilioError> {
    let r = resolve(state, room)?;
    let p = state
        .find_participant(&state.rooms[r].sid, participant)
        .ok_or_else(|| {
            TwilioError::not_found(&format!("/Rooms/{room}/Participants/{participant}"))
        })?;
    Ok((r, p))
}

pub(crate) async fn list(req: Req, PathArgs(room): PathArgs<String>) -> Reply {
    let p = &req.params;
    p.check(&[LIST, &PAGING])?;
    let status = p.get("Status");
    let identity = p.get("Identity");
    let after = p.get("DateCreatedAfter").and_then(parse_iso);
    let before = p.get("DateCreatedBefore").and_then(parse_iso);
    req.shared.with_state(|state, _| {
        let r = resolve(state, &room)?;
        let room_sid = state.rooms[r].sid.clone();
        let items: Vec<Item> = state
            .participants
            .iter()
            .rev()
            .filter(|x| x.room_sid == room_sid)
            .filter(|x| status.is_none_or(|s| s == x.status.as_str()))
            .filter(|x| identity.is_none_or(|i| i == x.identity))
            .filter(|x| after.is_none_or(|t| x.created >= t))
            .filter(|x| before.is_none_or(|t| x.created < t))
            .map(|x| Item {
                seq: x.seq,
                sid: x.sid.clone(),
                json: render::participant(&req.ctx, x),
            })
            .collect();
        let seq_of = |sid: &str| {
            state
                .participants
                .iter()
                .find(|x| x.sid == sid)
                .map(|x| x.seq)
        };
        let body = paging::page(
            &req.ctx.base,
            &req.path,
            "participants",
            p,
            items,
            true,
            seq_of,
        )?;
        Ok(Answer::ok(body))
    })
}

pub(crate) async fn fetch(
    req: Req,
    PathArgs((room, participant)): PathArgs<(String, String)>,
) -> Reply {
    req.params.check(&[])?;
    req.shared.with_state(|state, _| {
        let (_, i) = resolve_participant(state, &room, &participant)?;
        Ok(Answer::ok(render::participant(
            &req.ctx,
            &state.participants[i],
        )))
    })
}

pub(crate) async fn update(
    req: Req,
    PathArgs((room, participant)): PathArgs<(String, String)>,
) -> Reply {
    req.params.check(&[UPDATE])?;
    let status = req.params.get("Status");
    if status.is_some_and(|s| s != "disconnected") {
        return Err(TwilioError::invalid(
            "Invalid Status: a participant can only be updated to disconnected",
        ));
    }
    req.shared.with_state(|state, now| {
        let (_, i) = resolve_participant(state, &room, &participant)?;
        if status.is_some() && state.participants[i].status == ParticipantStatus::Connected {
            state.disconnect(i, now);
        }
        Ok(Answer::accepted(render::participant(
            &req.ctx,
            &state.participants[i],
        )))
    })
}

pub(crate) async fn fetch_rules(
    req: Req,
    PathArgs((room, participant)): PathArgs<(String, String)>,
) -> Reply {
    req.params.check(&[])?;
    req.shared.with_state(|state, _| {
        let (_, i) = resolve_participant(state, &room, &participant)?;
        Ok(Answer::ok(render::subscribe_rules(&state.participants[i])))
    })
}

pub(crate) async fn update_rules(
    req: Req,
    PathArgs((room, participant)): PathArgs<(String, String)>,
) -> Reply {
    req.params.check(&[UPDATE_RULES])?;
    let raw = req
        .params
        .get("Rules")
        .ok_or_else(|| TwilioError::invalid_rules("Rules is required"))?;
    let rules = parse_rules(raw)?;
    req.shared.with_state(|state, now| {
        let (_, i) = resolve_participant(state, &room, &participant)?;
        state.set_rules(i, now, rules);
        Ok(Answer::ok(render::subscribe_rules(&state.participants[i])))
    })
}

/// Parses and normalises a `Rules` value: a JSON array (or `{"rules": [...]}`) of 1 to 20 rule
/// objects, each with `type` include/exclude and at least one filter among `all`, `kind`
/// (audio/video/data), `publisher` and `track`, plus an optional `priority`
/// (low/standard/high). Unknown keys are invalid. Every filter key comes back, unused ones null.
pub(crate) fn parse_rules(raw: &str) -> Result<Vec<Value>, TwilioError> {
    let bad = TwilioError::invalid_rules;
    let value: Value =
        serde_json::from_str(raw).map_err(|_| bad("Rules must be a JSON array of rules"))?;
    let rules = match value {
        Value::Array(rules) => rules,
        Value::Object(mut wrapper) if wrapper.len() == 1 => match wrapper.remove("rules") {
            Some(Value::Array(rules)) => rules,
            _ => return Err(bad("Rules must be a JSON array of rules")),
        },
        _ => return Err(bad("Rules must be a JSON array of rules")),
    };
    if rules.is_empty() || rules.len() > MAX_RULES {
        return Err(bad(&format!(
            "between 1 and {MAX_RULES} rules are required"
        )));
    }
    rules.iter().map(normalise_rule).collect()
}

fn normalise_rule(rule: &Value) -> Result<Value, TwilioError> {
    let bad = TwilioError::invalid_rules;
    let obj: &Map<String, Value> = rule
        .as_object()
        .ok_or_else(|| bad("each rule must be an object"))?;
    const KEYS: [&str; 6] = ["type", "all", "kind", "publisher", "track", "priority"];
    if let Some(key) = obj.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(bad(&format!("unknown rule field {key}")));
    }
    let field = |name: &str| obj.get(name).filter(|v| !v.is_null());
    let string_in = |name: &str, allowed: Option<&[&str]>| -> Result<Value, TwilioError> {
        match field(name) {
            None => Ok(Value::Null),
            Some(Value::String(s))
                if !s.is_empty() && allowed.is_none_or(|a| a.contains(&s.as_str())) =>
            {
                Ok(Value::String(s.clone()))
            }
            Some(_) => Err(bad(&format!("invalid {name}"))),
        }
    };
    let rule_type = match field("type") {
        Some(Value::String(t)) if t == "include" || t == "exclude" => t.clone(),
        _ => return Err(bad("type must be include or exclude")),
    };
    let all = match field("all") {
        None => Value::Null,
        Some(Value::Bool(b)) => Value::Bool(*b),
        Some(_) => return Err(bad("all must be a boolean")),
    };
    let kind = string_in("kind", Some(&["audio", "video", "data"]))?;
    let publisher = string_in("publisher", None)?;
    let track = string_in("track", None)?;
    let priority = string_in("priority", Some(&["low", "standard", "high"]))?;
    if all.is_null() && kind.is_null() && publisher.is_null() && track.is_null() {
        return Err(bad(
            "a rule needs at least one of all, kind, publisher, track",
        ));
    }
    Ok(json!({
        "type": rule_type,
        "all": all,
        "publisher": publisher,
        "track": track,
        "kind": kind,
        "priority": priority,
    }))
}
