//! One run: a seeded sequence of host, viewer and meeting guest actions against the stand-in while faults
//! fire and handlers are cut off, then everyone leaves, the clock passes every bound, the
//! reaper runs, and nothing may be left active.

use std::time::Duration;

use lambda_http::{Body, Response};
use onair_common::audience::AudienceCache;
use serde_json::{Value, json};

use onair_integration_tests::{
    Endpoint, HOST_PASSWORD, Stack, bearer, get, post_json, request, with_bearer,
};

use super::inspect::{self, Active};
use super::model::{self, Action, Mode};
use super::rng::Rng;
use super::trouble;

/// The host's identity in the campaign's settings (`HOST_IDENTITY`).
pub const HOST: &str = "presenter";
/// Most actions in one run.
const MAX_ACTIONS: u64 = 10;
/// Past every bound of a room: the unused (STUDIO_MAX_MINUTES, 15 min) and empty (1 min) room
/// timeouts, the reaper's grace period for rooms whose host left and unfed streamers, and its
/// `STUDIO_MAX_MINUTES` for rooms (held by a waiting viewer) whose host never came.
const PAST_BOUNDS: Duration = Duration::from_secs(15 * 60 + 61);

/// What the runs did, summed.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub runs: u64,
    pub actions: u64,
    pub requests: u64,
    pub faults_injected: u64,
    pub faults_fired: u64,
    pub cut_offs: u64,
    pub repeated_starts: u64,
    pub repeated_stops: u64,
    pub racing_joins: u64,
    pub rivals_refused: u64,
    pub states_checked: u64,
    pub reaped: u64,
    pub leaked: u64,
}

impl Tally {
    pub fn add(&mut self, other: &Tally) {
        self.runs += other.runs;
        self.actions += other.actions;
        self.requests += other.requests;
        self.faults_injected += other.faults_injected;
        self.faults_fired += other.faults_fired;
        self.cut_offs += other.cut_offs;
        self.repeated_starts += other.repeated_starts;
        self.repeated_stops += other.repeated_stops;
        self.racing_joins += other.racing_joins;
        self.rivals_refused += other.rivals_refused;
        self.states_checked += other.states_checked;
        self.reaped += other.reaped;
        self.leaked += other.leaked;
    }
}

/// A failed run: what went wrong, with the actions that led there.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub actions: Vec<String>,
    pub leaked: u64,
}

/// A handler's answer, or none because it was cut off.
enum Answer {
    Got(u16, Value),
    Cut,
}

impl Answer {
    fn ok(&self) -> Option<&Value> {
        match self {
            Answer::Got(200, body) => Some(body),
            _ => None,
        }
    }
}

/// The host's login.
#[derive(Debug, Clone)]
struct Login {
    token: String,
    room: String,
    stream: &'static str,
}

/// What the run knows, as the host page and viewers would.
#[derive(Default)]
struct World {
    /// The host session, once signed in.
    session: Option<String>,
    login: Option<Login>,
    /// The last successful `stream_start` answer; a repeat must give it again. Forgotten by
    /// any action that may end the stream.
    last_start: Option<Value>,
    /// Viewers connected to a room (room mode): (room, identity).
    viewers: Vec<(String, String)>,
    /// The invite to the host's meeting, once opened.
    invite: Option<String>,
    /// Meeting guests connected to the meeting's room: (room, identity).
    guests: Vec<(String, String)>,
}

struct Run<'a> {
    stack: &'a Stack,
    mode: Mode,
    rng: Rng,
    world: World,
    tally: Tally,
    log: Vec<String>,
}

/// Runs seed `seed` on `stack`, which is reset first.
pub async fn run(stack: &mut Stack, mode: Mode, seed: u64) -> Result<Tally, Failure> {
    stack.standin.reset();
    // A grant cached by the previous run must not answer this one.
    stack.app.audience = AudienceCache::default();
    let fired_before = stack.standin.faults_fired();
    let mut run = Run {
        stack,
        mode,
        rng: Rng::new(seed),
        world: World::default(),
        tally: Tally {
            runs: 1,
            ..Tally::default()
        },
        log: Vec::new(),
    };
    let outcome = run.play().await;
    run.tally.faults_fired = run.stack.standin.faults_fired() - fired_before;
    match outcome {
        Ok(()) => Ok(run.tally),
        Err(message) => Err(Failure {
            message,
            actions: run.log,
            leaked: run.tally.leaked,
        }),
    }
}

impl Run<'_> {
    async fn play(&mut self) -> Result<(), String> {
        let actions = self.rng.between(3, MAX_ACTIONS);
        for _ in 0..actions {
            if self.rng.chance(trouble::FAULT_PERCENT) {
                let fault = trouble::random_fault(&mut self.rng);
                self.log.push(format!("fault {fault:?}"));
                self.stack.standin.inject(fault);
                self.tally.faults_injected += 1;
            }
            let action = model::draw(&mut self.rng);
            self.log.push(format!("{action:?}"));
            self.tally.actions += 1;
            self.act(action).await?;
        }
        self.finish().await
    }

    async fn act(&mut self, action: Action) -> Result<(), String> {
        let needs_login = matches!(
            action,
            Action::Start | Action::StartTwice | Action::StartTogether | Action::StopTwice
        );
        if needs_login && self.world.login.is_none() {
            self.log.push("(no login yet: GoLive instead)".into());
            return self.go_live().await;
        }
        match action {
            Action::GoLive => self.go_live().await,
            Action::RivalStudio => self.rival_studio().await,
            Action::StatusPoll => self.status_poll().await,
            Action::Start => self.start().await.map(|_| ()),
            Action::StartTwice => self.start_twice().await,
            Action::StartTogether => self.start_together().await,
            Action::StopTwice => self.stop_twice().await,
            Action::CloseTab { beacon } => self.close_tab(beacon).await,
            Action::ViewerJoins { subscribe } => self.viewer_joins(subscribe).await,
            Action::ViewerLeaves => {
                if !self.world.viewers.is_empty() {
                    let i = self.rng.below(self.world.viewers.len() as u64) as usize;
                    let (room, identity) = self.world.viewers.swap_remove(i);
                    self.stack.standin.disconnect_participant(&room, &identity);
                }
                Ok(())
            }
            Action::GuestJoins => self.guest_joins().await,
            Action::GuestsJoinTogether => self.guests_join_together().await,
            Action::GuestLeaves => {
                if !self.world.guests.is_empty() {
                    let i = self.rng.below(self.world.guests.len() as u64) as usize;
                    let (room, identity) = self.world.guests.swap_remove(i);
                    self.stack.standin.disconnect_participant(&room, &identity);
                }
                Ok(())
            }
            Action::TimePasses(secs) => {
                self.stack.standin.advance_clock(Duration::from_secs(secs));
                self.world.last_start = None;
                Ok(())
            }
            Action::Reap => self.reap_midway().await,
        }
    }

    // ---- calling handlers ------------------------------------------------------------

    /// Calls a handler, maybe cutting it off after its Nth Twilio call took effect; checks the
    /// answer is JSON with an allowed status.
    async fn call(
        &mut self,
        endpoint: Endpoint,
        req: lambda_http::Request,
        cuttable: bool,
    ) -> Result<Answer, String> {
        self.tally.requests += 1;
        let cut = if cuttable {
            trouble::cut_after(&mut self.rng)
        } else {
            None
        };
        let response = match cut {
            None => Some(self.stack.respond(endpoint, req).await),
            Some(n) => {
                let mut answered = self.stack.standin.watch_calls_answered();
                let target = *answered.borrow_and_update() + n;
                tokio::select! {
                    biased;
                    _ = answered.wait_for(|count| *count >= target) => None,
                    response = self.stack.respond(endpoint, req) => Some(response),
                }
            }
        };
        let Some(response) = response else {
            self.tally.cut_offs += 1;
            self.log.push(format!(
                "  {endpoint:?} cut off after {} Twilio calls",
                cut.unwrap_or(0)
            ));
            return Ok(Answer::Cut);
        };
        let (status, body) = checked(endpoint, response)?;
        self.log.push(format!("  {endpoint:?} -> {status}"));
        Ok(Answer::Got(status, body))
    }

    fn host_request(&self, beacon: bool) -> lambda_http::Request {
        let token = self
            .world
            .login
            .as_ref()
            .map(|l| l.token.clone())
            .unwrap_or_default();
        if beacon {
            // What `navigator.sendBeacon(url, token)` sends as the tab closes.
            request("POST", Some("text/plain;charset=UTF-8"), Body::Text(token))
        } else {
            bearer(&token)
        }
    }

    // ---- the host ----------------------------------------------------------------------

    /// The host session, signing in first if there is none yet.
    async fn session(&mut self) -> Result<Option<String>, String> {
        if self.world.session.is_none() {
            let answer = self
                .call(
                    Endpoint::HostSession,
                    post_json(json!({ "password": HOST_PASSWORD })),
                    true,
                )
                .await?;
            if let Some(body) = answer.ok() {
                self.world.session = Some(str_field(body, "session")?);
            }
        }
        Ok(self.world.session.clone())
    }

    /// `host_token` for `stream`: with the host session, or (as the original API) the password.
    async fn open_studio(&mut self, stream: &str) -> Result<Answer, String> {
        let req = match self.rng.chance(70) {
            true => match self.session().await? {
                Some(session) => with_bearer(post_json(json!({ "stream": stream })), &session),
                None => return Ok(Answer::Cut),
            },
            false => post_json(json!({ "password": HOST_PASSWORD, "stream": stream })),
        };
        self.call(Endpoint::HostToken, req, true).await
    }

    async fn go_live(&mut self) -> Result<(), String> {
        // A reload: the page leaves its room before opening the studio again.
        if let Some(login) = self.world.login.take() {
            self.stack.standin.disconnect_participant(&login.room, HOST);
        }
        self.world.last_start = None;
        let stream = model::stream(&mut self.rng);
        let answer = self.open_studio(stream).await?;
        if let Some(body) = answer.ok() {
            let login = Login {
                token: str_field(body, "token")?,
                room: str_field(body, "room")?,
                stream,
            };
            if !login.room.starts_with(&format!("livestream-{stream}-")) {
                return Err(format!("the studio of {stream} opened room {}", login.room));
            }
            self.stack
                .standin
                .connect_participant(&login.room, HOST)
                .map_err(|e| format!("the host could not join the room just created: {e}"))?;
            self.world.login = Some(login);
        }
        Ok(())
    }

    /// One `stream_start`; a success is compared with the last one if it still stands.
    async fn start(&mut self) -> Result<Answer, String> {
        let answer = self
            .call(Endpoint::StreamStart, self.host_request(false), true)
            .await?;
        if let Some(body) = answer.ok() {
            let stream = body["stream"].clone();
            if self.mode == Mode::Live
                && (stream["media_processor_sid"].as_str().is_none()
                    || stream["player_streamer_sid"].as_str().is_none())
            {
                return Err(format!("a live start without its pair: {body}"));
            }
            let dead = inspect::not_running(&self.stack.standin, &stream);
            if !dead.is_empty() {
                return Err(format!(
                    "stream_start answered 200, but {dead:?} is not running"
                ));
            }
            if let Some(last) = &self.world.last_start {
                self.tally.repeated_starts += 1;
                if last != &stream {
                    return Err(format!(
                        "a repeated start answered {stream}, the one before {last}"
                    ));
                }
            }
            self.world.last_start = Some(stream);
        }
        Ok(answer)
    }

    async fn start_twice(&mut self) -> Result<(), String> {
        self.start().await?;
        self.start().await?;
        Ok(())
    }

    /// Two starts at once (two Lambdas): afterwards the room has at most one pair, unless a
    /// fault stopped a start from settling (then stop, the room's end or the reaper ends it).
    async fn start_together(&mut self) -> Result<(), String> {
        let Some(login) = self.world.login.clone() else {
            return Ok(());
        };
        let fired = self.stack.standin.faults_fired();
        self.tally.requests += 2;
        let (a, b) = tokio::join!(
            self.stack
                .respond(Endpoint::StreamStart, self.host_request(false)),
            self.stack
                .respond(Endpoint::StreamStart, self.host_request(false)),
        );
        let (a, _) = checked(Endpoint::StreamStart, a)?;
        let (b, _) = checked(Endpoint::StreamStart, b)?;
        self.log
            .push(format!("  StreamStart x2 together -> {a}, {b}"));
        self.world.last_start = None;
        if self.stack.standin.faults_fired() == fired {
            self.tally.repeated_starts += 1;
            let pairs = inspect::started_processors(&self.stack.standin, &login.room);
            if pairs > 1 {
                return Err(format!("racing starts left {pairs} pairs running"));
            }
        }
        Ok(())
    }

    async fn stop_twice(&mut self) -> Result<(), String> {
        let first = self.stop(false).await?;
        let second = self.stop(false).await?;
        if first.ok().is_some()
            && let Some(body) = second.ok()
        {
            self.tally.repeated_stops += 1;
            if body["stopped"] != json!(false) {
                return Err(format!("a repeated stop stopped something again: {body}"));
            }
        }
        Ok(())
    }

    /// One `stream_stop`; a success means the room has nothing left running.
    async fn stop(&mut self, beacon: bool) -> Result<Answer, String> {
        self.world.last_start = None;
        let room = self.world.login.as_ref().map(|l| l.room.clone());
        let before = room
            .as_deref()
            .map(|room| inspect::live_resources(&self.stack.standin, room))
            .unwrap_or_default();
        let answer = self
            .call(Endpoint::StreamStop, self.host_request(beacon), true)
            .await?;
        if answer.ok().is_some()
            && let Some(room) = &room
        {
            let running = inspect::still_running(&self.stack.standin, room, &before);
            if !running.is_empty() {
                return Err(format!("stream_stop answered 200 but left {running:?}"));
            }
        }
        Ok(answer)
    }

    /// Another studio asks for the host's stream. While the host is on air in it that is a
    /// `409` that leaves the stream as it was; otherwise the new studio replaces the host's room.
    async fn rival_studio(&mut self) -> Result<(), String> {
        let Some(login) = self.world.login.clone() else {
            return Ok(());
        };
        let on_air = self.healthy_room().is_some();
        let rooms_before = self.stack.standin.rooms().len();
        let answer = self.open_studio(login.stream).await?;
        if !on_air {
            self.world.last_start = None;
            return Ok(());
        }
        if answer.ok().is_some() {
            return Err(format!(
                "a second studio got {} while the host was on air in it",
                login.stream
            ));
        }
        if let Answer::Got(409, _) = answer {
            self.tally.rivals_refused += 1;
            if self.stack.standin.rooms().len() != rooms_before {
                return Err("a refused studio made a room".into());
            }
        }
        if self.healthy_room().is_none() {
            return Err(format!(
                "a refused studio ended the stream in {}",
                login.room
            ));
        }
        Ok(())
    }

    async fn close_tab(&mut self, beacon: bool) -> Result<(), String> {
        if let Some(room) = self.world.login.as_ref().map(|l| l.room.clone()) {
            self.stack.standin.disconnect_participant(&room, HOST);
            if beacon {
                self.stop(true).await?;
            }
        }
        self.world.last_start = None;
        Ok(())
    }

    // ---- viewers -----------------------------------------------------------------------

    async fn viewer_joins(&mut self, subscribe: bool) -> Result<(), String> {
        let stream = model::stream(&mut self.rng);
        let answer = self
            .call(
                Endpoint::AudienceToken,
                post_json(json!({ "stream": stream })),
                true,
            )
            .await?;
        let Some(body) = answer.ok() else {
            return Ok(());
        };
        self.check_state(stream, body, "audience_token")?;
        if body["live"] != json!(true) || self.mode == Mode::Live {
            return Ok(());
        }
        let room = str_field(body, "room")?;
        let identity = str_field(body, "identity")?;
        let token = str_field(body, "token")?;
        let standin = &self.stack.standin;
        if standin.connect_participant(&room, &identity).is_ok() {
            self.world.viewers.push((room, identity));
        }
        if subscribe {
            self.call(Endpoint::Subscribe, bearer(&token), true).await?;
        }
        Ok(())
    }

    // ---- meeting guests -----------------------------------------------------------------

    /// The invite to the host's meeting, opening it on first use (no Twilio call, so no fault
    /// or cut-off can touch it).
    async fn invite(&mut self) -> Result<String, String> {
        if let Some(invite) = &self.world.invite {
            return Ok(invite.clone());
        }
        let answer = self
            .call(
                Endpoint::MeetingCreate,
                post_json(json!({ "password": HOST_PASSWORD })),
                false,
            )
            .await?;
        let invite = str_field(answer.ok().ok_or("meeting_create failed")?, "invite")?;
        self.world.invite = Some(invite.clone());
        Ok(invite)
    }

    fn join_request(invite: &str) -> lambda_http::Request {
        post_json(json!({ "invite": invite, "name": " Guest " }))
    }

    async fn guest_joins(&mut self) -> Result<(), String> {
        let invite = self.invite().await?;
        let answer = self
            .call(Endpoint::MeetingToken, Self::join_request(&invite), true)
            .await?;
        if let Some(body) = answer.ok() {
            self.guest_connects(body)?;
        }
        Ok(())
    }

    /// Two joins at once (two Lambdas). Without a fault both succeed, into the same room: the
    /// one that lost the race to create it fetched the winner's.
    async fn guests_join_together(&mut self) -> Result<(), String> {
        let invite = self.invite().await?;
        let fired = self.stack.standin.faults_fired();
        self.tally.requests += 2;
        let (a, b) = tokio::join!(
            self.stack
                .respond(Endpoint::MeetingToken, Self::join_request(&invite)),
            self.stack
                .respond(Endpoint::MeetingToken, Self::join_request(&invite)),
        );
        let (a_status, a) = checked(Endpoint::MeetingToken, a)?;
        let (b_status, b) = checked(Endpoint::MeetingToken, b)?;
        self.log.push(format!(
            "  MeetingToken x2 together -> {a_status}, {b_status}"
        ));
        // Without a fault, the join that lost the race to create the room fetched the winner's
        // rather than failing on Twilio's "room exists" (53113). (A join may still time out on a
        // machine this busy: the campaign's client waits only 200 ms.)
        if self.stack.standin.faults_fired() == fired {
            self.tally.racing_joins += 1;
            let lost = |body: &Value| {
                body["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("53113"))
            };
            if lost(&a)
                || lost(&b)
                || (a_status == 200 && b_status == 200 && a["room"] != b["room"])
            {
                return Err(format!("racing joins without faults: {a} / {b}"));
            }
        }
        for body in [a, b] {
            if body["token"].is_string() {
                self.guest_connects(&body)?;
            }
        }
        Ok(())
    }

    /// A guest with a meeting token connects to its room, which must be in progress.
    fn guest_connects(&mut self, body: &Value) -> Result<(), String> {
        let room = str_field(body, "room")?;
        let identity = str_field(body, "identity")?;
        let standin = &self.stack.standin;
        if !inspect::room_in_progress(standin, &room) {
            return Err(format!(
                "meeting_token answered 200, but {room} is not in progress"
            ));
        }
        if standin.connect_participant(&room, &identity).is_ok() {
            self.world.guests.push((room, identity));
        }
        Ok(())
    }

    async fn status_poll(&mut self) -> Result<(), String> {
        let stream = model::stream(&mut self.rng);
        let answer = self
            .call(
                Endpoint::StreamStatus,
                get(&format!("/status/{stream}")),
                true,
            )
            .await?;
        if let Some(body) = answer.ok() {
            self.check_state(stream, body, "status")?;
        }
        Ok(())
    }

    /// What a viewer of `stream` was told (`answer` of `endpoint`) holds in the stand-in just
    /// after: a room named is of that stream; in progress, and with the host in it if `live`,
    /// in `room` mode (in `live` mode, `live` is a started MediaProcessor of the stream's, which
    /// may outlive its room until a stop, `room_events` or the reaper ends it); `offline` means
    /// no room of the stream is in progress.
    fn check_state(&mut self, stream: &str, answer: &Value, endpoint: &str) -> Result<(), String> {
        self.tally.states_checked += 1;
        let standin = &self.stack.standin;
        let state = answer["state"].as_str().unwrap_or_default();
        let room = answer["room"].as_str();
        let of_stream: Vec<String> = standin
            .rooms()
            .into_iter()
            .filter(|r| r.status == "in-progress")
            .map(|r| r.unique_name)
            .filter(|r| inspect::room_stream(r) == Some(stream))
            .collect();
        let wrong = match (state, room) {
            ("offline", None) => !of_stream.is_empty(),
            ("live", Some(room)) if self.mode == Mode::Live => {
                inspect::room_stream(room) != Some(stream)
            }
            ("ready" | "live", Some(room)) => {
                inspect::room_stream(room) != Some(stream)
                    || !inspect::room_in_progress(standin, room)
                    || (state == "live" && !inspect::connected(standin, room, HOST))
            }
            // The room is named only where a viewer may join: not for `ready` in `live` mode.
            ("ready", None) => self.mode == Mode::Room || of_stream.is_empty(),
            _ => true,
        };
        if wrong {
            return Err(format!(
                "{endpoint} told a viewer of {stream} {answer}, but its rooms in progress are {of_stream:?}"
            ));
        }
        Ok(())
    }

    // ---- the reaper and the end of a run ---------------------------------------------

    /// The host's room if it is in progress with the host connected: a healthy stream.
    fn healthy_room(&self) -> Option<(String, usize)> {
        let standin = &self.stack.standin;
        let room = &self.world.login.as_ref()?.room;
        (inspect::room_in_progress(standin, room) && inspect::connected(standin, room, HOST))
            .then(|| (room.clone(), inspect::started_processors(standin, room)))
    }

    /// Runs the reaper; a healthy stream must come through untouched.
    async fn reap(&mut self) -> Result<reaper::Report, String> {
        let healthy = self.healthy_room();
        // Runs are far shorter than the longest meeting: the reaper leaves meetings alone.
        let meetings: Vec<String> = self
            .world
            .guests
            .iter()
            .map(|(room, _)| room.clone())
            .filter(|room| inspect::room_in_progress(&self.stack.standin, room))
            .collect();
        let report = reaper::reap(&self.stack.app, self.stack.twilio_now()).await;
        if let Some(room) = meetings
            .iter()
            .find(|room| !inspect::room_in_progress(&self.stack.standin, room))
        {
            return Err(format!("the reaper ended the meeting in {room}"));
        }
        self.tally.reaped += (report.rooms_completed.len()
            + report.meeting_rooms_completed.len()
            + report.media_processors_ended.len()
            + report.player_streamers_ended.len()) as u64;
        self.log.push(format!("  reaper: {report:?}"));
        if let Some((room, processors)) = healthy {
            let standin = &self.stack.standin;
            if !inspect::room_in_progress(standin, &room)
                || inspect::started_processors(standin, &room) < processors.min(1)
            {
                return Err(format!("the reaper ended the healthy stream in {room}"));
            }
        }
        Ok(report)
    }

    async fn reap_midway(&mut self) -> Result<(), String> {
        self.world.last_start = None;
        self.reap().await.map(|_| ())
    }

    /// Faults off; maybe a while with the host still live (the reaper must leave it alone);
    /// then everyone leaves, the clock passes every bound, the reaper runs, and nothing may be
    /// left active.
    async fn finish(&mut self) -> Result<(), String> {
        self.stack.standin.clear_faults();
        self.log.push("finish".into());
        if self.healthy_room().is_some() && self.rng.chance(30) {
            self.stack.standin.advance_clock(PAST_BOUNDS);
            self.reap().await?;
        }
        if let Some(login) = &self.world.login {
            self.stack.standin.disconnect_participant(&login.room, HOST);
        }
        for (room, identity) in self.world.viewers.drain(..) {
            self.stack.standin.disconnect_participant(&room, &identity);
        }
        for (room, identity) in self.world.guests.drain(..) {
            self.stack.standin.disconnect_participant(&room, &identity);
        }
        self.stack.standin.advance_clock(PAST_BOUNDS);
        let report = self.reap().await?;
        if !report.errors.is_empty() {
            return Err(format!("the reaper failed without faults: {report:?}"));
        }
        let active = Active::of(&self.stack.standin);
        if active.count() > 0 {
            self.tally.leaked += active.count() as u64;
            return Err(format!("left active past its bound: {active:?}"));
        }
        Ok(())
    }
}

/// Status and JSON body of a handler's response, if the status is one `endpoint` may answer
/// and the body has the right shape.
fn checked(endpoint: Endpoint, response: Response<Body>) -> Result<(u16, Value), String> {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body: Value = match response.body() {
        Body::Text(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    if content_type != "application/json" || body.is_null() {
        return Err(format!(
            "{endpoint:?} answered {status} without a JSON body ({content_type})"
        ));
    }
    if !model::allowed(endpoint).contains(&status) {
        return Err(format!("{endpoint:?} answered {status}: {body}"));
    }
    if status >= 400 && !body["error"]["code"].is_string() {
        return Err(format!(
            "{endpoint:?} answered {status} without an error code: {body}"
        ));
    }
    Ok((status, body))
}

fn str_field(body: &Value, field: &str) -> Result<String, String> {
    body[field]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("the answer has no `{field}`: {body}"))
}
