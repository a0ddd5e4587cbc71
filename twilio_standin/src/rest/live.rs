//! Media v1 (Twilio Live): PlayerStreamers, their PlaybackGrant, and MediaProcessors.

use crate::error::TwilioError;
use crate::paging::{self, Item};
use crate::params::{Kind, MEDIA_CALLBACK_METHODS, PAGING, Spec, opt, req};
use crate::render;
use crate::state::{ENDED_VIA_API, NewProcessor, State};

use super::handler::{Answer, PathArgs, Reply, Req};

pub(crate) const STREAMER_STATUSES: &[&str] = &["created", "started", "ended", "failed"];
pub(crate) const PROCESSOR_STATUSES: &[&str] = &["failed", "started", "ended"];
const ORDERS: &[&str] = &["asc", "desc"];
const MAX_DURATION: Kind = Kind::Int {
    min: 1,
    max: 90_000,
};

const CREATE_STREAMER: &[Spec] = &[
    opt("Video", Kind::Bool),
    opt("StatusCallback", Kind::Url),
    opt("StatusCallbackMethod", Kind::Enum(MEDIA_CALLBACK_METHODS)),
    opt("MaxDuration", MAX_DURATION),
];
const LIST_STREAMERS: &[Spec] = &[
    opt("Order", Kind::Enum(ORDERS)),
    opt("Status", Kind::Enum(STREAMER_STATUSES)),
];
const END: &[Spec] = &[req("Status", Kind::Enum(&["ended"]))];
const CREATE_GRANT: &[Spec] = &[
    opt("Ttl", Kind::Int { min: 1, max: 60 }),
    opt("AccessControlAllowOrigin", Kind::Text),
];
const CREATE_PROCESSOR: &[Spec] = &[
    req("Extension", Kind::Text),
    req("ExtensionContext", Kind::Text),
    opt("ExtensionEnvironment", Kind::Json),
    opt("StatusCallback", Kind::Url),
    opt("StatusCallbackMethod", Kind::Enum(MEDIA_CALLBACK_METHODS)),
    opt("MaxDuration", MAX_DURATION),
];
const LIST_PROCESSORS: &[Spec] = &[
    opt("Order", Kind::Enum(ORDERS)),
    opt("Status", Kind::Enum(PROCESSOR_STATUSES)),
];

fn streamer(state: &State, sid: &str) -> Result<usize, TwilioError> {
    state
        .find_streamer(sid)
        .ok_or_else(|| TwilioError::not_found(&format!("/PlayerStreamers/{sid}")))
}

fn processor(state: &State, sid: &str) -> Result<usize, TwilioError> {
    state
        .find_processor(sid)
        .ok_or_else(|| TwilioError::not_found(&format!("/MediaProcessors/{sid}")))
}

/// `Order=asc` lists oldest first; anything else (the default) newest first.
fn descending(req: &Req) -> bool {
    req.params.get("Order") != Some("asc")
}

pub(crate) async fn create_streamer(req: Req) -> Reply {
    let p = &req.params;
    p.check(&[CREATE_STREAMER])?;
    req.shared.with_state(|state, now| {
        let i = state.create_streamer(
            now,
            p.bool("Video").unwrap_or(true),
            p.text("StatusCallback").map(str::to_owned),
            p.text("StatusCallbackMethod").map(str::to_owned),
            p.u32("MaxDuration"),
        );
        Ok(Answer::created(render::player_streamer(
            &req.ctx,
            &state.streamers[i],
        )))
    })
}

pub(crate) async fn list_streamers(req: Req) -> Reply {
    let p = &req.params;
    p.check(&[LIST_STREAMERS, &PAGING])?;
    let status = p.get("Status");
    let desc = descending(&req);
    req.shared.with_state(|state, _| {
        let mut items: Vec<Item> = state
            .streamers
            .iter()
            .filter(|s| status.is_none_or(|st| st == s.status.as_str()))
            .map(|s| Item {
                seq: s.seq,
                sid: s.sid.clone(),
                json: render::player_streamer(&req.ctx, s),
            })
            .collect();
        if desc {
            items.reverse();
        }
        let seq_of = |sid: &str| state.find_streamer(sid).map(|i| state.streamers[i].seq);
        let body = paging::page(
            &req.ctx.base,
            &req.path,
            "player_streamers",
            p,
            items,
            desc,
            seq_of,
        )?;
        Ok(Answer::ok(body))
    })
}

pub(crate) async fn fetch_streamer(req: Req, PathArgs(sid): PathArgs<String>) -> Reply {
    req.params.check(&[])?;
    req.shared.with_state(|state, _| {
        let i = streamer(state, &sid)?;
        Ok(Answer::ok(render::player_streamer(
            &req.ctx,
            &state.streamers[i],
        )))
    })
}

/// `Status=ended`; ending an ended streamer changes nothing and succeeds.
pub(crate) async fn update_streamer(req: Req, PathArgs(sid): PathArgs<String>) -> Reply {
    req.params.check(&[END])?;
    req.shared.with_state(|state, now| {
        let i = streamer(state, &sid)?;
        state.end_streamer(i, now, ENDED_VIA_API);
        Ok(Answer::ok(render::player_streamer(
            &req.ctx,
            &state.streamers[i],
        )))
    })
}

pub(crate) async fn create_grant(req: Req, PathArgs(sid): PathArgs<String>) -> Reply {
    let p = &req.params;
    p.check(&[CREATE_GRANT])?;
    req.shared.with_state(|state, now| {
        let i = streamer(state, &sid)?;
        state.create_grant(
            i,
            now,
            p.u32("Ttl"),
            p.text("AccessControlAllowOrigin").map(str::to_owned),
        )?;
        render::playback_grant(&req.ctx, &state.streamers[i])
            .map(Answer::created)
            .ok_or_else(|| TwilioError::not_found(&req.path))
    })
}

pub(crate) async fn fetch_grant(req: Req, PathArgs(sid): PathArgs<String>) -> Reply {
    req.params.check(&[])?;
    req.shared.with_state(|state, _| {
        let i = streamer(state, &sid)?;
        render::playback_grant(&req.ctx, &state.streamers[i])
            .map(Answer::ok)
            .ok_or_else(|| TwilioError::not_found(&req.path))
    })
}

pub(crate) async fn create_processor(req: Req) -> Reply {
    let p = &req.params;
    p.check(&[CREATE_PROCESSOR])?;
    let new = NewProcessor {
        extension: p.get("Extension").unwrap_or_default().to_owned(),
        extension_context: p.get("ExtensionContext").unwrap_or_default().to_owned(),
        extension_environment: p.text("ExtensionEnvironment").map(str::to_owned),
        status_callback: p.text("StatusCallback").map(str::to_owned),
        status_callback_method: p.text("StatusCallbackMethod").map(str::to_owned),
        max_duration: p.u32("MaxDuration"),
    };
    req.shared.with_state(|state, now| {
        let i = state.create_processor(now, new)?;
        Ok(Answer::created(render::media_processor(
            &req.ctx,
            &state.processors[i],
        )))
    })
}

pub(crate) async fn list_processors(req: Req) -> Reply {
    let p = &req.params;
    p.check(&[LIST_PROCESSORS, &PAGING])?;
    let status = p.get("Status");
    let desc = descending(&req);
    req.shared.with_state(|state, _| {
        let mut items: Vec<Item> = state
            .processors
            .iter()
            .filter(|m| status.is_none_or(|st| st == m.status.as_str()))
            .map(|m| Item {
                seq: m.seq,
                sid: m.sid.clone(),
                json: render::media_processor(&req.ctx, m),
            })
            .collect();
        if desc {
            items.reverse();
        }
        let seq_of = |sid: &str| state.find_processor(sid).map(|i| state.processors[i].seq);
        let body = paging::page(
            &req.ctx.base,
            &req.path,
            "media_processors",
            p,
            items,
            desc,
            seq_of,
        )?;
        Ok(Answer::ok(body))
    })
}

pub(crate) async fn fetch_processor(req: Req, PathArgs(sid): PathArgs<String>) -> Reply {
    req.params.check(&[])?;
    req.shared.with_state(|state, _| {
        let i = processor(state, &sid)?;
        Ok(Answer::ok(render::media_processor(
            &req.ctx,
            &state.processors[i],
        )))
    })
}

/// `Status=ended`; ending an ended processor changes nothing and succeeds.
pub(crate) async fn update_processor(req: Req, PathArgs(sid): PathArgs<String>) -> Reply {
    req.params.check(&[END])?;
    req.shared.with_state(|state, now| {
        let i = processor(state, &sid)?;
        state.end_processor(i, now, ENDED_VIA_API);
        Ok(Answer::ok(render::media_processor(
            &req.ctx,
            &state.processors[i],
        )))
    })
}
