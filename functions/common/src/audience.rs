//! What `audience_token` needs to answer a crowd cheaply: the answer to "what is live now" and,
//! in `live` mode, the one PlaybackGrant every viewer shares.
//!
//! - `room` mode: the live room (the newest in-progress OnAir room with its host connected) is
//!   trusted for `AUDIENCE_CACHE_SECONDS`.
//! - `live` mode: one lookup (the started MediaProcessors: each one's context names its room and
//!   the PlayerStreamer it feeds) and one PlaybackGrant serve every viewer for the grant's usable
//!   lifetime, its TTL less [`GRANT_MARGIN`]: two Twilio calls per grant lifetime, whatever the
//!   crowd. A grant call that fails (Twilio refuses grants for a streamer that ended) keeps
//!   nothing, so the next viewer looks again.
//! - "Nothing is live" is trusted for `AUDIENCE_CACHE_SECONDS` in both modes, so waiting viewers
//!   see a stream start within seconds.
//!
//! One lock covers the lookup: viewers arriving together wait for one lookup instead of each
//! making their own.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::app::App;
use crate::config::AudienceMode;
use crate::ids::RoomName;
use crate::stream;
use crate::twilio::TwilioError;

/// A grant is not handed out in its last seconds, so a viewer has time to use it.
pub const GRANT_MARGIN: Duration = Duration::from_secs(10);

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

#[derive(Default)]
pub struct AudienceCache {
    clock: Clock,
    cached: Mutex<Option<Cached>>,
}

/// An answer and how long it is trusted.
struct Cached {
    stream: Option<LiveStream>,
    until: Instant,
}

impl AudienceCache {
    /// A cache that goes by `clock` (benchmarks and tests move a [`Clock::manual`] by hand).
    pub fn with_clock(clock: Clock) -> AudienceCache {
        AudienceCache {
            clock,
            cached: Mutex::default(),
        }
    }

    /// The live stream (with the shared PlaybackGrant in `live` mode): the cached answer while
    /// it is trusted, else a fresh one from Twilio. A failed lookup or grant call keeps nothing.
    pub async fn live_stream(&self, app: &App) -> Result<Option<LiveStream>, TwilioError> {
        let mut cached = self.cached.lock().await;
        // Read once the lock is held, before Twilio is asked: trust is counted from here.
        let now = self.clock.now();
        if let Some(answer) = &*cached
            && now < answer.until
        {
            return Ok(answer.stream.clone());
        }
        *cached = None;
        let settings = &app.settings;
        let fresh = match settings.audience_mode {
            AudienceMode::Room => Cached {
                stream: live_room(app).await?,
                until: now + settings.audience_cache_ttl,
            },
            AudienceMode::Live => match live_streamer(app).await? {
                None => Cached {
                    stream: None,
                    until: now + settings.audience_cache_ttl,
                },
                Some((room, player_streamer_sid)) => {
                    let ttl = settings.playback_grant_ttl;
                    let grant = app
                        .twilio
                        .create_playback_grant(&player_streamer_sid, ttl.as_secs())
                        .await?;
                    Cached {
                        stream: Some(LiveStream {
                            room,
                            playback: Some(Playback {
                                player_streamer_sid,
                                grant: grant.grant,
                            }),
                        }),
                        until: now + ttl.saturating_sub(GRANT_MARGIN),
                    }
                }
            },
        };
        let stream = fresh.stream.clone();
        *cached = Some(fresh);
        Ok(stream)
    }
}

/// `room` mode: the newest in-progress OnAir room whose host is connected.
async fn live_room(app: &App) -> Result<Option<LiveStream>, TwilioError> {
    let found = stream::find_live_room(&app.twilio, &app.settings.host_identity).await?;
    Ok(found.map(|(_, room)| LiveStream {
        room,
        playback: None,
    }))
}

/// `live` mode, in one call: the newest started MediaProcessor composing an OnAir room, as that
/// room and the PlayerStreamer it feeds. A processor runs only between `stream_start` (host
/// connected) and `stream_stop`, `room_events` or the reaper ending it with its room.
async fn live_streamer(app: &App) -> Result<Option<(RoomName, String)>, TwilioError> {
    // Listed newest first.
    let processors = app.twilio.list_started_media_processors().await?;
    Ok(processors.into_iter().find_map(|processor| {
        let room = RoomName::parse(&processor.room_name()?)?;
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
