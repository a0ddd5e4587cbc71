//! What `audience_token` and `stream_status` need to answer a crowd cheaply: each stream's
//! status, remembered, and in `live` mode the one PlaybackGrant every viewer of a stream shares
//! (docs/ARCHITECTURE.md, Audience modes and The path of a request).
//!
//! - The account's in-progress rooms (in `live` mode first its started MediaProcessors) are
//!   listed once per `AUDIENCE_CACHE_SECONDS` for all streams together. A stream with no room
//!   is offline without a call of its own, so asking about any number of names (a stranger
//!   trying names) costs Twilio no more than asking about one.
//! - `room` mode: for a stream with rooms, whether its host is connected (one call: the room's
//!   connected participants, which count its viewers too) is remembered for
//!   `AUDIENCE_CACHE_SECONDS` as well.
//! - `live` mode: a live stream's PlaybackGrant serves every viewer of it for the grant's
//!   usable lifetime, its TTL less [`GRANT_MARGIN`]; whether it is still live is looked up as
//!   above, so a stopped stream is told offline within `AUDIENCE_CACHE_SECONDS`.
//! - A failed call is remembered for [`FAILURE_MEMORY`] (never longer than an answer is
//!   trusted): viewers asking meanwhile hear at once that Twilio is failing, with when to ask
//!   again, and Twilio is asked again only after it. Each call is tried once: a crowd asks
//!   again by itself, so retries would only multiply its load on a failing Twilio.
//!
//! - `ivs` mode: one listing of the account's stages (ListStages, every page) serves every
//!   stream for `IVS_LOOKUP_SECONDS` (5 by default: at most 12 calls a minute per container);
//!   a stage is live while its session is active. A live stage's endpoints (GetStage), which
//!   viewer tokens name, are remembered per stage for [`ENDPOINTS_TTL`]: they do not change
//!   for the stage's life. So a viewer costs IVS no call of their own.
//!
//! Each remembered value has its own lock: viewers arriving together wait for one call instead
//! of each making their own, and a slow stream does not hold up another. Streams are
//! remembered only while they have rooms, and at most [`MAX_STREAMS_REMEMBERED`] at once.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::config::{AudienceMode, Settings};
use crate::ids::{RoomName, StreamName};
use crate::ivs::{Ivs, IvsError, StageSummary};
use crate::ivs_token::StageEndpoints;
use crate::stage::{self, StageStatus};
use crate::stream::{self, State, Status};
use crate::twilio::{MediaProcessor, Room, Twilio, TwilioError};

/// A grant is not handed out in its last seconds, so a viewer has time to use it.
pub const GRANT_MARGIN: Duration = Duration::from_secs(10);

/// How long a failed call is remembered (at most `AUDIENCE_CACHE_SECONDS`).
pub const FAILURE_MEMORY: Duration = Duration::from_secs(2);

/// How long a stage's endpoints are remembered (IVS: they hold for the stage's life).
pub const ENDPOINTS_TTL: Duration = Duration::from_secs(3600);

/// The most streams whose own answers (host check, grant) a container remembers at once.
pub const MAX_STREAMS_REMEMBERED: usize = 1000;

/// What viewers of a stream join now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveStream {
    pub room: RoomName,
    /// In `live` mode, what viewers watch with the Live Player.
    pub playback: Option<Playback>,
}

/// A PlayerStreamer and the PlaybackGrant every viewer of it shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Playback {
    pub player_streamer_sid: String,
    /// Twilio's grant object, put verbatim into each viewer's access token.
    pub grant: serde_json::Value,
}

/// What is on could not be looked up: Twilio failed just now, or within the last
/// [`FAILURE_MEMORY`], and is asked again once `retry_after` has passed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{cause}")]
pub struct LookupFailed<E = TwilioError> {
    pub cause: E,
    pub retry_after: Duration,
}

#[derive(Default)]
pub struct AudienceCache {
    clock: Clock,
    /// The account's in-progress rooms.
    rooms: Memo<Arc<Vec<Room>>>,
    /// `live` mode: the account's started MediaProcessors, newest first.
    processors: Memo<Arc<Vec<MediaProcessor>>>,
    /// `ivs` mode: the account's stages.
    stages: Memo<Arc<Vec<StageSummary>>, IvsError>,
    streams: std::sync::Mutex<HashMap<StreamName, Arc<PerStream>>>,
}

/// What is remembered of one stream with rooms.
#[derive(Default)]
struct PerStream {
    /// `room` mode: its status, after asking who is in its rooms.
    status: Memo<Status>,
    /// `live` mode: the grant of its PlayerStreamer.
    grant: Memo<Playback>,
    /// `ivs` mode: the endpoints of its live stage.
    endpoints: Memo<StageEndpoints, IvsError>,
}

impl AudienceCache {
    /// A cache that goes by `clock` (benchmarks and tests move a [`Clock::manual`] by hand).
    pub fn with_clock(clock: Clock) -> AudienceCache {
        AudienceCache {
            clock,
            ..AudienceCache::default()
        }
    }

    /// The status of `stream`: remembered answers while they hold, fresh ones from Twilio
    /// for those that no longer do.
    pub async fn status(
        &self,
        twilio: &Twilio,
        settings: &Settings,
        stream: &StreamName,
    ) -> Result<Status, LookupFailed> {
        let twilio = &twilio.without_retries();
        let ttl = settings.audience_cache_ttl;
        let trust = Trust {
            clock: &self.clock,
            failure_memory: FAILURE_MEMORY.min(ttl),
        };
        if settings.audience_mode == AudienceMode::Live {
            let processors = trust
                .get(
                    &self.processors,
                    "started MediaProcessors",
                    |_| true,
                    |now| async move {
                        Ok((
                            Arc::new(twilio.list_started_media_processors().await?),
                            now + ttl,
                        ))
                    },
                )
                .await?;
            if let Some(live) = stream::live_in(&processors, stream) {
                return Ok(live);
            }
        }
        let rooms =
            trust
                .get(
                    &self.rooms,
                    "rooms in progress",
                    |_| true,
                    |now| async move {
                        Ok((Arc::new(twilio.list_rooms_in_progress().await?), now + ttl))
                    },
                )
                .await?;
        let of_stream = stream::rooms_of(&rooms, stream);
        if of_stream.is_empty() || settings.audience_mode == AudienceMode::Live {
            return Ok(stream::ready_or_offline(&of_stream));
        }
        let host = &settings.host_identity;
        let per_stream = self.per_stream(stream);
        trust
            .get(
                &per_stream.status,
                "a stream's host",
                |_| true,
                |now| async move {
                    Ok((
                        stream::room_status(twilio, host, &of_stream).await?,
                        now + ttl,
                    ))
                },
            )
            .await
    }

    /// The status of `stream` and, when viewers can join it now, what they join: its room,
    /// and in `live` mode the PlaybackGrant they share.
    pub async fn joinable(
        &self,
        twilio: &Twilio,
        settings: &Settings,
        stream: &StreamName,
    ) -> Result<(Status, Option<LiveStream>), LookupFailed> {
        let status = self.status(twilio, settings, stream).await?;
        let room = match &status.room {
            Some(room) if status.joinable(settings.audience_mode) => room.clone(),
            _ => return Ok((status, None)),
        };
        let Some(streamer) = status.player_streamer.clone() else {
            return Ok((
                status,
                Some(LiveStream {
                    room,
                    playback: None,
                }),
            ));
        };
        let twilio = &twilio.without_retries();
        let ttl = settings.playback_grant_ttl;
        let trust = Trust {
            clock: &self.clock,
            failure_memory: FAILURE_MEMORY.min(settings.audience_cache_ttl),
        };
        let per_stream = self.per_stream(stream);
        let wanted = streamer.clone();
        let playback = trust
            .get(
                &per_stream.grant,
                "a PlaybackGrant",
                |held: &Playback| held.player_streamer_sid == wanted,
                |now| async move {
                    let grant = twilio
                        .create_playback_grant(&streamer, ttl.as_secs())
                        .await?;
                    let playback = Playback {
                        player_streamer_sid: streamer,
                        grant: grant.grant,
                    };
                    Ok((playback, now + ttl.saturating_sub(GRANT_MARGIN)))
                },
            )
            .await?;
        Ok((
            status,
            Some(LiveStream {
                room,
                playback: Some(playback),
            }),
        ))
    }

    /// `ivs` mode: how long a listing of stages is trusted (`IVS_LOOKUP_SECONDS`), and the
    /// trust of an IVS answer (a failure remembered at most that long).
    fn stage_trust(&self, ivs: &Ivs) -> (Duration, Trust<'_>) {
        let ttl = ivs.settings().lookup_ttl;
        let trust = Trust {
            clock: &self.clock,
            failure_memory: FAILURE_MEMORY.min(ttl),
        };
        (ttl, trust)
    }

    /// `ivs` mode: the status of `stream`, from the remembered listing of stages.
    pub async fn stage_status(
        &self,
        ivs: &Ivs,
        stream: &StreamName,
    ) -> Result<StageStatus, LookupFailed<IvsError>> {
        let (ttl, trust) = self.stage_trust(ivs);
        let stages = trust
            .get(
                &self.stages,
                "IVS stages",
                |_| true,
                |now| async move { Ok((Arc::new(ivs.list_stages().await?), now + ttl)) },
            )
            .await?;
        Ok(stage::status_in(&stages, stream))
    }

    /// `ivs` mode: the status of `stream` and, when it is live, its stage's endpoints (what a
    /// viewer's token names), both remembered.
    pub async fn stage_joinable(
        &self,
        ivs: &Ivs,
        stream: &StreamName,
    ) -> Result<(StageStatus, Option<StageEndpoints>), LookupFailed<IvsError>> {
        let status = self.stage_status(ivs, stream).await?;
        let arn = match &status.stage {
            Some(arn) if status.state == State::Live => arn.clone(),
            _ => return Ok((status, None)),
        };
        let (_, trust) = self.stage_trust(ivs);
        let per_stream = self.per_stream(stream);
        let wanted = arn.clone();
        let endpoints = trust
            .get(
                &per_stream.endpoints,
                "a stage's endpoints",
                |held: &StageEndpoints| held.arn == wanted,
                |now| async move {
                    let stage = ivs.get_stage(&arn).await?;
                    Ok((stage.endpoints, now + ENDPOINTS_TTL))
                },
            )
            .await?;
        Ok((status, Some(endpoints)))
    }

    /// How many streams have answers of their own remembered.
    pub fn streams_remembered(&self) -> usize {
        self.streams_table().len()
    }

    fn streams_table(&self) -> std::sync::MutexGuard<'_, HashMap<StreamName, Arc<PerStream>>> {
        // Nothing panics while holding the lock; a poisoned table is still a valid cache.
        self.streams.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The entry of `stream`, made if it is new. A full table first forgets the streams nobody
    /// is asking about right now: they are only a cache.
    fn per_stream(&self, stream: &StreamName) -> Arc<PerStream> {
        let mut streams = self.streams_table();
        if let Some(entry) = streams.get(stream) {
            return entry.clone();
        }
        if streams.len() >= MAX_STREAMS_REMEMBERED {
            streams.retain(|_, entry| Arc::strong_count(entry) > 1);
        }
        streams.entry(stream.clone()).or_default().clone()
    }
}

/// One remembered outcome and its lock.
struct Memo<T, E = TwilioError> {
    slot: Mutex<Option<Remembered<T, E>>>,
}

impl<T, E> Default for Memo<T, E> {
    fn default() -> Memo<T, E> {
        Memo {
            slot: Mutex::new(None),
        }
    }
}

/// An outcome and until when it holds.
struct Remembered<T, E = TwilioError> {
    outcome: Result<T, E>,
    until: Instant,
}

impl<T: Clone, E: Clone> Remembered<T, E> {
    /// The outcome as a caller asking at `now` is told it; `None` once it no longer holds.
    fn told_at(&self, now: Instant) -> Option<Result<T, LookupFailed<E>>> {
        (now < self.until).then(|| self.told(now))
    }

    fn told(&self, now: Instant) -> Result<T, LookupFailed<E>> {
        self.outcome.clone().map_err(|cause| LookupFailed {
            cause,
            retry_after: self.until.saturating_duration_since(now),
        })
    }
}

/// How the cache trusts what it remembers: by its clock, and failures for `failure_memory`.
struct Trust<'a> {
    clock: &'a Clock,
    failure_memory: Duration,
}

impl Trust<'_> {
    /// `memo`'s outcome while it holds (a value only if it `fits` what is asked), else a fresh
    /// one: `fetch`, given the time it was asked at, answers a value and until when it holds.
    async fn get<T, E, Fut>(
        &self,
        memo: &Memo<T, E>,
        what: &'static str,
        fits: impl Fn(&T) -> bool,
        fetch: impl FnOnce(Instant) -> Fut,
    ) -> Result<T, LookupFailed<E>>
    where
        T: Clone,
        E: Clone + std::fmt::Display,
        Fut: Future<Output = Result<(T, Instant), E>>,
    {
        let mut slot = memo.slot.lock().await;
        // Read once the lock is held, before Twilio is asked: an answer's trust counts from here.
        let asked_at = self.clock.now();
        if let Some(told) = slot.as_ref().and_then(|r| r.told_at(asked_at))
            && told.as_ref().map_or(true, &fits)
        {
            return told;
        }
        let fresh = match fetch(asked_at).await {
            Ok((value, until)) => Remembered {
                outcome: Ok(value),
                until,
            },
            Err(cause) => {
                // Counted from when the failure is known: a call that timed out took a while.
                tracing::warn!(error = %cause, what, remembered_ms = self.failure_memory.as_millis() as u64, "could not be looked up");
                Remembered {
                    outcome: Err(cause),
                    until: self.clock.now() + self.failure_memory,
                }
            }
        };
        // A fresh outcome is told once even if it holds no longer (`AUDIENCE_CACHE_SECONDS` 0).
        let told = fresh.told(self.clock.now());
        *slot = Some(fresh);
        told
    }
}

/// The time the cache goes by: the monotonic clock, or a manual one that stands still until
/// [`Clock::advance`] moves it (to replay a crowd's minute in a moment).
#[derive(Debug, Clone, Default)]
pub struct Clock {
    manual: Option<ManualTime>,
}

#[derive(Debug, Clone)]
struct ManualTime {
    start: Instant,
    advanced_nanos: Arc<AtomicU64>,
}

impl Clock {
    /// A clock that moves only when told; clones share it.
    pub fn manual() -> Clock {
        Clock {
            manual: Some(ManualTime {
                start: Instant::now(),
                advanced_nanos: Arc::new(AtomicU64::new(0)),
            }),
        }
    }

    /// Moves a manual clock forward by `by`; the monotonic clock cannot be moved.
    pub fn advance(&self, by: Duration) {
        if let Some(manual) = &self.manual {
            let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
            manual.advanced_nanos.fetch_add(nanos, Ordering::Relaxed);
        }
    }

    pub fn now(&self) -> Instant {
        match &self.manual {
            None => Instant::now(),
            Some(manual) => {
                manual.start + Duration::from_nanos(manual.advanced_nanos.load(Ordering::Relaxed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::atomic::AtomicUsize;

    use tokio::net::{TcpListener, TcpStream};

    use super::*;
    use crate::config::Secrets;
    use crate::secret_store::SecretStore;

    /// A Twilio that answers every call `500`, and how many calls it received.
    async fn failing_twilio() -> (Twilio, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                // One call per connection: the answer closes it.
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(answer_500(socket));
            }
        });
        let source: HashMap<String, String> = [
            ("TWILIO_ACCOUNT_SID", format!("AC{}", "0".repeat(32))),
            ("TWILIO_API_KEY_SID", format!("SK{}", "0".repeat(32))),
            ("TWILIO_API_KEY_SECRET", "secret".to_owned()),
            ("HOST_PASSWORD", "password".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let secrets = SecretStore::fixed(Secrets::from_source(&source).unwrap());
        let twilio = Twilio::new(&base, &base, Duration::from_secs(5), Arc::new(secrets));
        (twilio, calls)
    }

    /// Reads a request head, then answers `500` with a Twilio error body and closes.
    async fn answer_500(socket: TcpStream) {
        let mut head = Vec::new();
        let mut buf = [0u8; 2048];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            if socket.readable().await.is_err() {
                return;
            }
            match socket.try_read(&mut buf) {
                Ok(0) => return,
                Ok(n) => head.extend_from_slice(&buf[..n]),
                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
        let body = r#"{"code": 20500, "message": "Internal Server Error", "status": 500}"#;
        let answer = format!(
            "HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let mut rest = answer.as_bytes();
        while !rest.is_empty() {
            if socket.writable().await.is_err() {
                return;
            }
            match socket.try_write(rest) {
                Ok(n) => rest = &rest[n..],
                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
    }

    fn settings(extra: &[(&str, &str)]) -> Settings {
        let source: HashMap<String, String> = extra
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_source(&source).unwrap()
    }

    fn calls(counter: &AtomicUsize) -> usize {
        counter.load(Ordering::SeqCst)
    }

    #[tokio::test]
    async fn a_failure_is_remembered_and_told_with_the_time_left() {
        for mode in ["room", "live"] {
            let (twilio, received) = failing_twilio().await;
            let settings = settings(&[("AUDIENCE_MODE", mode), ("AUDIENCE_CACHE_SECONDS", "5")]);
            let clock = Clock::manual();
            let cache = AudienceCache::with_clock(clock.clone());

            let first = cache.status(&twilio, &settings, &main()).await.unwrap_err();
            assert!(matches!(first.cause, TwilioError::Api { status: 500, .. }));
            assert_eq!(first.retry_after, FAILURE_MEMORY);
            assert_eq!(calls(&received), 1, "{mode}: one attempt, no retries");

            // A crowd within the memory is told at once, with the time left, and costs nothing.
            clock.advance(Duration::from_millis(1500));
            for _ in 0..200 {
                let again = cache.status(&twilio, &settings, &main()).await.unwrap_err();
                assert_eq!(again.retry_after, Duration::from_millis(500));
            }
            assert_eq!(calls(&received), 1, "{mode}");

            // Once it has passed, the next viewer asks Twilio again, once.
            clock.advance(Duration::from_millis(500));
            let later = cache.status(&twilio, &settings, &main()).await.unwrap_err();
            assert_eq!(later.retry_after, FAILURE_MEMORY);
            assert_eq!(calls(&received), 2, "{mode}");
        }
    }

    #[tokio::test]
    async fn a_failure_is_remembered_no_longer_than_an_answer_is_trusted() {
        let (twilio, received) = failing_twilio().await;
        let clock = Clock::manual();
        let cache = AudienceCache::with_clock(clock.clone());

        let one_second = settings(&[("AUDIENCE_CACHE_SECONDS", "1")]);
        let failed = cache
            .status(&twilio, &one_second, &main())
            .await
            .unwrap_err();
        assert_eq!(failed.retry_after, Duration::from_secs(1));
        clock.advance(Duration::from_secs(1));

        let uncached = settings(&[("AUDIENCE_CACHE_SECONDS", "0")]);
        for expected in 2..5 {
            let failed = cache.status(&twilio, &uncached, &main()).await.unwrap_err();
            assert_eq!(failed.retry_after, Duration::ZERO);
            assert_eq!(calls(&received), expected);
        }
    }

    fn main() -> StreamName {
        StreamName::main()
    }

    #[test]
    fn an_answer_holds_until_its_time() {
        let clock = Clock::manual();
        let answer: Remembered<i32> = Remembered {
            outcome: Ok(7),
            until: clock.now() + Duration::from_secs(5),
        };
        assert_eq!(answer.told_at(clock.now()).unwrap().unwrap(), 7);
        clock.advance(Duration::from_millis(4999));
        assert!(answer.told_at(clock.now()).is_some());
        clock.advance(Duration::from_millis(1));
        assert!(answer.told_at(clock.now()).is_none());
    }

    #[tokio::test]
    async fn a_value_that_does_not_fit_is_fetched_again_and_replaces_it() {
        let clock = Clock::manual();
        let trust = Trust {
            clock: &clock,
            failure_memory: FAILURE_MEMORY,
        };
        let memo = Memo::<&str>::default();
        let fetches = AtomicUsize::new(0);
        let fetch = |value: &'static str| {
            let fetches = &fetches;
            let until = clock.now() + Duration::from_secs(50);
            move |_| async move {
                fetches.fetch_add(1, Ordering::SeqCst);
                Ok::<_, TwilioError>((value, until))
            }
        };
        let get = |wanted: &'static str| {
            trust.get(&memo, "test", move |v: &&str| *v == wanted, fetch(wanted))
        };
        assert_eq!(get("a").await.unwrap(), "a");
        assert_eq!(get("a").await.unwrap(), "a");
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        assert_eq!(get("b").await.unwrap(), "b");
        assert_eq!(get("b").await.unwrap(), "b");
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn streams_remembered_stay_bounded() {
        let cache = AudienceCache::default();
        for n in 0..(MAX_STREAMS_REMEMBERED + 10) {
            let stream = StreamName::parse(&format!("s{n}")).unwrap();
            drop(cache.per_stream(&stream));
        }
        assert!(cache.streams_remembered() <= MAX_STREAMS_REMEMBERED);
        // One in use is never forgotten.
        let held_name = StreamName::parse("held").unwrap();
        let held = cache.per_stream(&held_name);
        for n in 0..(MAX_STREAMS_REMEMBERED + 10) {
            drop(cache.per_stream(&StreamName::parse(&format!("t{n}")).unwrap()));
        }
        assert!(Arc::ptr_eq(&held, &cache.per_stream(&held_name)));
    }
}
