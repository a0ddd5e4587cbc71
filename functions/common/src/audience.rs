//! What `audience_token` needs to answer a crowd cheaply: the answer to "what is live now" and,
//! in `live` mode, the one PlaybackGrant every viewer shares (docs/ARCHITECTURE.md, Audience
//! modes).
//!
//! - `room` mode: the live room (the newest in-progress OnAir room with its host connected) is
//!   trusted for `AUDIENCE_CACHE_SECONDS`.
//! - `live` mode: one lookup (the started MediaProcessors: each one's context names its room and
//!   the PlayerStreamer it feeds) and one PlaybackGrant serve every viewer for the grant's usable
//!   lifetime, its TTL less [`GRANT_MARGIN`]: two Twilio calls per grant lifetime, whatever the
//!   crowd.
//! - "Nothing is live" is trusted for `AUDIENCE_CACHE_SECONDS` in both modes, so waiting viewers
//!   see a stream start within seconds.
//! - A failed lookup or grant call is remembered for [`FAILURE_MEMORY`] (never longer than an
//!   answer is trusted): viewers arriving meanwhile hear at once that Twilio is failing, with
//!   when to ask again, and Twilio is asked again only after it. Each call is tried once: a crowd
//!   asks again by itself, so retries would only multiply its load on a failing Twilio. While
//!   Twilio fails, a crowd costs a container one call per [`FAILURE_MEMORY`].
//!
//! One lock covers the lookup: viewers arriving together wait for one lookup instead of each
//! making their own.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::config::{AudienceMode, Settings};
use crate::ids::{Identity, RoomName};
use crate::stream;
use crate::twilio::{Twilio, TwilioError};

/// A grant is not handed out in its last seconds, so a viewer has time to use it.
pub const GRANT_MARGIN: Duration = Duration::from_secs(10);

/// How long a failed lookup is remembered (at most `AUDIENCE_CACHE_SECONDS`).
pub const FAILURE_MEMORY: Duration = Duration::from_secs(2);

/// The live stream as viewers need it.
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

/// What is live could not be looked up: Twilio failed just now, or within the last
/// [`FAILURE_MEMORY`], and is asked again once `retry_after` has passed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{cause}")]
pub struct LookupFailed {
    pub cause: TwilioError,
    pub retry_after: Duration,
}

#[derive(Default)]
pub struct AudienceCache {
    clock: Clock,
    remembered: Mutex<Option<Remembered>>,
}

/// The last lookup's outcome and until when it holds.
struct Remembered {
    outcome: Result<Option<LiveStream>, TwilioError>,
    until: Instant,
}

impl Remembered {
    fn answer(stream: Option<LiveStream>, until: Instant) -> Remembered {
        Remembered {
            outcome: Ok(stream),
            until,
        }
    }

    /// The outcome as a viewer asking at `now` is told it; `None` once it no longer holds.
    fn told_at(&self, now: Instant) -> Option<Result<Option<LiveStream>, LookupFailed>> {
        (now < self.until).then(|| self.told(now))
    }

    fn told(&self, now: Instant) -> Result<Option<LiveStream>, LookupFailed> {
        self.outcome.clone().map_err(|cause| LookupFailed {
            cause,
            retry_after: self.until.saturating_duration_since(now),
        })
    }
}

impl AudienceCache {
    /// A cache that goes by `clock` (benchmarks and tests move a [`Clock::manual`] by hand).
    pub fn with_clock(clock: Clock) -> AudienceCache {
        AudienceCache {
            clock,
            remembered: Mutex::default(),
        }
    }

    /// The live stream (with the shared PlaybackGrant in `live` mode): the remembered outcome
    /// while it holds, else a fresh one from Twilio.
    pub async fn live_stream(
        &self,
        twilio: &Twilio,
        settings: &Settings,
    ) -> Result<Option<LiveStream>, LookupFailed> {
        let mut remembered = self.remembered.lock().await;
        // Read once the lock is held, before Twilio is asked: an answer's trust counts from here.
        let asked_at = self.clock.now();
        if let Some(told) = remembered.as_ref().and_then(|r| r.told_at(asked_at)) {
            return told;
        }
        let fresh = match look_up(&twilio.without_retries(), settings, asked_at).await {
            Ok(answer) => answer,
            Err(cause) => {
                // Counted from when the failure is known: a call that timed out took a while.
                let failed_at = self.clock.now();
                let memory = FAILURE_MEMORY.min(settings.audience_cache_ttl);
                tracing::warn!(error = %cause, remembered_ms = memory.as_millis() as u64, "the live stream could not be looked up");
                Remembered {
                    outcome: Err(cause),
                    until: failed_at + memory,
                }
            }
        };
        // A fresh outcome is told once even if it holds no longer (`AUDIENCE_CACHE_SECONDS` 0).
        let told = fresh.told(self.clock.now());
        *remembered = Some(fresh);
        told
    }
}

/// One lookup at `now`, with how long its answer is trusted.
async fn look_up(
    twilio: &Twilio,
    settings: &Settings,
    now: Instant,
) -> Result<Remembered, TwilioError> {
    let not_live_until = now + settings.audience_cache_ttl;
    match settings.audience_mode {
        AudienceMode::Room => Ok(Remembered::answer(
            live_room(twilio, &settings.host_identity).await?,
            not_live_until,
        )),
        AudienceMode::Live => match live_streamer(twilio).await? {
            None => Ok(Remembered::answer(None, not_live_until)),
            Some((room, player_streamer_sid)) => {
                let ttl = settings.playback_grant_ttl;
                let grant = twilio
                    .create_playback_grant(&player_streamer_sid, ttl.as_secs())
                    .await?;
                let stream = LiveStream {
                    room,
                    playback: Some(Playback {
                        player_streamer_sid,
                        grant: grant.grant,
                    }),
                };
                Ok(Remembered::answer(
                    Some(stream),
                    now + ttl.saturating_sub(GRANT_MARGIN),
                ))
            }
        },
    }
}

/// `room` mode: the newest in-progress OnAir room whose host is connected.
async fn live_room(twilio: &Twilio, host: &Identity) -> Result<Option<LiveStream>, TwilioError> {
    let found = stream::find_live_room(twilio, host).await?;
    Ok(found.map(|(_, room)| LiveStream {
        room,
        playback: None,
    }))
}

/// `live` mode, in one call: the newest started MediaProcessor composing an OnAir room, as that
/// room and the PlayerStreamer it feeds. A processor runs only between `stream_start` (host
/// connected) and `stream_stop`, `room_events` or the reaper ending it with its room.
async fn live_streamer(twilio: &Twilio) -> Result<Option<(RoomName, String)>, TwilioError> {
    // Listed newest first.
    let processors = twilio.list_started_media_processors().await?;
    Ok(processors.into_iter().find_map(|processor| {
        let room = processor.room_name()?;
        let streamer = processor.outputs().into_iter().next()?;
        Some((room, streamer))
    }))
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
            let settings = settings(&[("AUDIENCE_MODE", mode)]);
            let clock = Clock::manual();
            let cache = AudienceCache::with_clock(clock.clone());

            let first = cache.live_stream(&twilio, &settings).await.unwrap_err();
            assert!(matches!(first.cause, TwilioError::Api { status: 500, .. }));
            assert_eq!(first.retry_after, FAILURE_MEMORY);
            assert_eq!(calls(&received), 1, "{mode}: one attempt, no retries");

            // A crowd within the memory is told at once, with the time left, and costs nothing.
            clock.advance(Duration::from_millis(1500));
            for _ in 0..200 {
                let again = cache.live_stream(&twilio, &settings).await.unwrap_err();
                assert_eq!(again.retry_after, Duration::from_millis(500));
            }
            assert_eq!(calls(&received), 1, "{mode}");

            // Once it has passed, the next viewer asks Twilio again, once.
            clock.advance(Duration::from_millis(500));
            let later = cache.live_stream(&twilio, &settings).await.unwrap_err();
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
        let failed = cache.live_stream(&twilio, &one_second).await.unwrap_err();
        assert_eq!(failed.retry_after, Duration::from_secs(1));
        clock.advance(Duration::from_secs(1));

        let uncached = settings(&[("AUDIENCE_CACHE_SECONDS", "0")]);
        for expected in 2..5 {
            let failed = cache.live_stream(&twilio, &uncached).await.unwrap_err();
            assert_eq!(failed.retry_after, Duration::ZERO);
            assert_eq!(calls(&received), expected);
        }
    }

    #[test]
    fn an_answer_holds_until_its_time() {
        let clock = Clock::manual();
        let stream = LiveStream {
            room: RoomName::parse("livestream-abc").unwrap(),
            playback: None,
        };
        let answer = Remembered::answer(Some(stream.clone()), clock.now() + Duration::from_secs(5));
        assert_eq!(answer.told_at(clock.now()).unwrap().unwrap(), Some(stream));
        clock.advance(Duration::from_millis(4999));
        assert!(answer.told_at(clock.now()).is_some());
        clock.advance(Duration::from_millis(1));
        assert!(answer.told_at(clock.now()).is_none());
    }
}
