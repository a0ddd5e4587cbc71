//! The campaign's `ivs` lane: seeded runs of host and viewer actions in `AUDIENCE_MODE=ivs`
//! (open a studio stage and publish to it over WHIP, start, stop twice, close the tab with or
//! without the beacon, viewers asking for tokens and polling the status, time passing, the
//! reaper) while the stand-in's IVS API fails (429, 5xx, answers later than the client waits).
//! No endpoint may answer 500 or anything outside its list, a 502 carries `Retry-After`, a
//! repeated stop stops nothing; after each run everyone leaves (the host maybe stopping the
//! streams with the password), the reaper passes every bound, and then no stage and no relay
//! session of a stage may be left.

use std::time::{Duration, Instant};

use lambda_http::Body;
use onair_common::audience::AudienceCache;
use onair_integration_tests::{
    Endpoint, HOST_PASSWORD, IVS_OPERATIONS, Stack, bearer, get, post_json, request, with_bearer,
};
use onair_test_support::relay_peer::{Load, Peer};
use serde_json::{Value, json};
use twilio_standin::{Fault, FaultAction};

use super::model::{self, STREAMS};
use super::rng::Rng;
use super::sequence::{Failure, Tally};

/// What an `ivs` run's failure message starts with.
pub const FAILURE_PREFIX: &str = "ivs mode: ";

/// The IVS client's timeout in the lane, small so that late answers cost little time.
pub const CLIENT_TIMEOUT_MS: u64 = 200;
const LATE: Duration = Duration::from_millis(350);
const MAX_ACTIONS: u64 = 10;
/// How often the final stop and the final reaper run are tried before the run fails.
const FINAL_TRIES: u32 = 3;
const FAULT_PERCENT: u64 = 30;

/// The settings of an `ivs` lane's stack.
pub async fn stack() -> Stack {
    let timeout = CLIENT_TIMEOUT_MS.to_string();
    Stack::ivs(&[
        ("IVS_TIMEOUT_MS", timeout.as_str()),
        ("IVS_LOOKUP_SECONDS", "1"),
        ("STREAM_MAX_MINUTES", "10"),
        ("STUDIO_MAX_MINUTES", "2"),
    ])
    .await
}

#[derive(Debug, Clone, Copy)]
enum Action {
    GoLive,
    Start,
    StopTwice,
    CloseTab { beacon: bool },
    ViewerJoins,
    StatusPoll,
    TimePasses(u64),
    Reap,
}

fn draw(rng: &mut Rng) -> Action {
    match rng.weighted(&[
        (16, Action::GoLive),
        (14, Action::Start),
        (10, Action::StopTwice),
        (6, Action::CloseTab { beacon: false }),
        (16, Action::ViewerJoins),
        (6, Action::StatusPoll),
        (6, Action::TimePasses(0)),
        (5, Action::Reap),
    ]) {
        Action::CloseTab { .. } => Action::CloseTab {
            beacon: rng.chance(50),
        },
        Action::TimePasses(_) => Action::TimePasses(rng.between(5, 200)),
        other => other,
    }
}

fn random_fault(rng: &mut Rng) -> Fault {
    let operation = IVS_OPERATIONS[rng.below(IVS_OPERATIONS.len() as u64) as usize];
    let (action, times) = match rng.below(4) {
        0 => (FaultAction::Status(429), rng.between(1, 3) as u32),
        1 => (FaultAction::Status(500), rng.between(1, 3) as u32),
        2 => (FaultAction::Status(503), rng.between(1, 3) as u32),
        _ => (FaultAction::Delay(LATE), 1),
    };
    Fault {
        method: Some("POST".into()),
        path_contains: format!("/ivs/{operation}"),
        nth: rng.between(1, 3) as u32,
        times,
        action,
    }
}

struct Run<'a> {
    stack: &'a Stack,
    rng: Rng,
    tally: Tally,
    log: Vec<String>,
    session: Option<String>,
    /// The host token of the current studio.
    token: Option<String>,
    publishers: Vec<Peer>,
    /// Seconds added to the clock the reaper judges by.
    offset: u64,
}

/// Runs seed `seed` in `ivs` mode on `stack`, which is reset first.
pub async fn run(stack: &mut Stack, seed: u64) -> Result<Tally, Failure> {
    stack.standin.reset();
    stack.app.audience = AudienceCache::default();
    let fired_before = stack.standin.faults_fired();
    let mut run = Run {
        stack,
        rng: Rng::new(seed),
        tally: Tally {
            runs: 1,
            ..Tally::default()
        },
        log: Vec::new(),
        session: None,
        token: None,
        publishers: Vec::new(),
        offset: 0,
    };
    let played = run.play().await;
    for peer in run.publishers.drain(..) {
        peer.close().await;
    }
    let outcome = match played {
        Ok(()) => run.finish().await,
        Err(message) => Err(message),
    };
    run.tally.faults_fired = run.stack.standin.faults_fired() - fired_before;
    match outcome {
        Ok(()) => Ok(run.tally),
        Err(message) => Err(Failure {
            message: format!("{FAILURE_PREFIX}{message}"),
            actions: run.log,
            leaked: run.tally.leaked,
        }),
    }
}

impl Run<'_> {
    async fn play(&mut self) -> Result<(), String> {
        let actions = self.rng.between(3, MAX_ACTIONS);
        for _ in 0..actions {
            if self.rng.chance(FAULT_PERCENT) {
                let fault = random_fault(&mut self.rng);
                self.log.push(format!("fault {fault:?}"));
                self.stack.standin.inject(fault);
                self.tally.faults_injected += 1;
            }
            let action = draw(&mut self.rng);
            self.log.push(format!("{action:?}"));
            self.tally.actions += 1;
            self.act(action).await?;
        }
        Ok(())
    }

    async fn act(&mut self, action: Action) -> Result<(), String> {
        match action {
            Action::GoLive => self.go_live().await,
            Action::Start => {
                if let Some(token) = self.token.clone() {
                    self.call(Endpoint::StreamStart, bearer(&token)).await?;
                }
                Ok(())
            }
            Action::StopTwice => {
                let Some(token) = self.token.clone() else {
                    return Ok(());
                };
                let (first, _) = self.call(Endpoint::StreamStop, bearer(&token)).await?;
                let (second, body) = self.call(Endpoint::StreamStop, bearer(&token)).await?;
                if first == 200 && second == 200 {
                    self.tally.repeated_stops += 1;
                    if body["stopped"] != false {
                        return Err(format!("a repeated stop stopped something: {body}"));
                    }
                }
                Ok(())
            }
            Action::CloseTab { beacon } => {
                for peer in self.publishers.drain(..) {
                    peer.close().await;
                }
                if let Some(token) = self.token.take()
                    && beacon
                {
                    let req = request("POST", Some("text/plain"), Body::Text(token));
                    self.call(Endpoint::StreamStop, req).await?;
                }
                Ok(())
            }
            Action::ViewerJoins => {
                let stream = model::stream(&mut self.rng);
                let req = post_json(json!({ "stream": stream }));
                let (status, body) = self.call(Endpoint::AudienceToken, req).await?;
                if status == 200 && body["live"] == true {
                    self.tally.states_checked += 1;
                    let claims =
                        onair_integration_tests::claims(body["token"].as_str().unwrap_or_default());
                    if claims["capabilities"]["allow_publish"] != false {
                        return Err(format!("a viewer token may publish: {claims}"));
                    }
                }
                Ok(())
            }
            Action::StatusPoll => {
                let stream = model::stream(&mut self.rng);
                self.call(Endpoint::StreamStatus, get(&format!("/status/{stream}")))
                    .await?;
                Ok(())
            }
            Action::TimePasses(secs) => {
                self.offset += secs;
                Ok(())
            }
            Action::Reap => {
                let now = onair_common::token::unix_now() + self.offset;
                let report = reaper::reap(&self.stack.app, now).await;
                self.tally.reaped += report.stages_ended.len() as u64;
                Ok(())
            }
        }
    }

    /// Opens the studio of a stream and publishes to its stage, as the host page does.
    async fn go_live(&mut self) -> Result<(), String> {
        let session = match self.session.clone() {
            Some(session) => session,
            None => {
                let req = post_json(json!({ "password": HOST_PASSWORD }));
                let (status, body) = self.call(Endpoint::HostSession, req).await?;
                if status != 200 {
                    return Err(format!("host_session answered {status}"));
                }
                let session = body["session"].as_str().unwrap_or_default().to_owned();
                self.session = Some(session.clone());
                session
            }
        };
        let stream = model::stream(&mut self.rng);
        let req = with_bearer(post_json(json!({ "stream": stream })), &session);
        let (status, login) = self.call(Endpoint::HostToken, req).await?;
        if status != 200 {
            return Ok(());
        }
        let token = login["token"].as_str().unwrap_or_default().to_owned();
        let url = login["media"]["publish_url"].as_str().unwrap_or_default();
        // The stand-in's WHIP endpoint is in the fault layer too; a refused publish is the
        // page's to retry.
        let load = Load {
            webcam: false,
            ..Load::default()
        };
        if let Ok(peer) = Peer::publish(&reqwest::Client::new(), url, &token, load).await {
            self.publishers.push(peer);
        }
        self.token = Some(token);
        Ok(())
    }

    /// Calls a handler and checks its answer against what it may say.
    async fn call(
        &mut self,
        endpoint: Endpoint,
        req: lambda_http::Request,
    ) -> Result<(u16, Value), String> {
        self.tally.requests += 1;
        let (status, headers, body) = self.stack.call_with_headers(endpoint, req).await;
        self.log.push(format!("  {endpoint:?} -> {status}"));
        if !model::allowed(endpoint).contains(&status) {
            return Err(format!("{endpoint:?} answered {status}: {body}"));
        }
        if status == 502 && !headers.contains_key("retry-after") {
            return Err(format!("{endpoint:?}: a 502 without Retry-After: {body}"));
        }
        Ok((status, body))
    }

    /// Everyone leaves (in half the runs the host then stops one or both streams with the
    /// password), the reaper passes every bound: nothing may be left at IVS or on the relay.
    /// With the faults cleared a call can still outlast the lane's 200 ms client timeout on a
    /// busy machine: a 502 stop is clicked again and a failed reaper run runs again (as its
    /// schedule would), up to [`FINAL_TRIES`] times.
    async fn finish(&mut self) -> Result<(), String> {
        self.stack.standin.clear_faults();
        self.log.push("finish".into());
        for stream in STREAMS {
            if self.rng.chance(50) {
                break;
            }
            let req = || post_json(json!({ "password": HOST_PASSWORD, "stream": stream }));
            let mut tries = 1;
            loop {
                let (status, body) = self.call(Endpoint::StreamStop, req()).await?;
                match status {
                    200 => break,
                    502 if tries < FINAL_TRIES => tries += 1,
                    _ => {
                        return Err(format!(
                            "the final stop of {stream} answered {status}: {body}"
                        ));
                    }
                }
            }
        }
        let now = onair_common::token::unix_now() + self.offset + 24 * 3600;
        let mut tries = 1;
        loop {
            let report = reaper::reap(&self.stack.app, now).await;
            self.tally.reaped += report.stages_ended.len() as u64;
            if report.errors.is_empty() {
                break;
            }
            if tries == FINAL_TRIES {
                return Err(format!("the final reaper run failed: {:?}", report.errors));
            }
            tries += 1;
        }
        let ivs = self.stack.app.ivs.as_ref().expect("an IVS client");
        let stages = ivs
            .list_stages()
            .await
            .map_err(|e| format!("listing stages: {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        let sessions = loop {
            let sessions = self
                .stack
                .standin
                .media_sessions()
                .into_iter()
                .filter(|s| s.room_name.starts_with("ivs-"))
                .count();
            if sessions == 0 || Instant::now() > deadline {
                break sessions;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        self.tally.leaked += (stages.len() + sessions) as u64;
        if stages.is_empty() && sessions == 0 {
            Ok(())
        } else {
            Err(format!(
                "left behind: {} stages, {sessions} relay sessions",
                stages.len()
            ))
        }
    }
}
