//! What `audience_token` needs to answer a crowd cheaply: the answer to "what is live now",
//! cached for a few seconds, and in `live` mode one PlaybackGrant reused by every viewer while
//! it is valid.

use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::app::App;
use crate::config::AudienceMode;
use crate::ids::RoomName;
use crate::stream;
use crate::twilio::TwilioError;

/// A grant is not handed out in its last seconds, so a viewer has time to use it.
const GRANT_MARGIN: Duration = Duration::from_secs(10);

/// The live stream as viewers need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveStream {
    pub room: RoomName,
    /// In `live` mode, the PlayerStreamer viewers watch.
    pub player_streamer_sid: Option<String>,
}

#[derive(Default)]
pub struct AudienceCache {
    live: Mutex<Option<(Instant, Option<LiveStream>)>>,
    grant: Mutex<Option<CachedGrant>>,
}

struct CachedGrant {
    player_streamer_sid: String,
    grant: serde_json::Value,
    usable_until: Instant,
}

impl AudienceCache {
    /// The live stream, from the cache if it is fresh, else from Twilio.
    pub async fn live_stream(&self, app: &App) -> Result<Option<LiveStream>, TwilioError> {
        let mut cached = self.live.lock().await;
        if let Some((at, answer)) = &*cached
            && at.elapsed() < app.settings.audience_cache_ttl
        {
            return Ok(answer.clone());
        }
        let answer = look_up(app).await?;
        *cached = Some((Instant::now(), answer.clone()));
        Ok(answer)
    }

    /// A PlaybackGrant for `player_streamer_sid`: the cached one while it is usable, else a new one.
    pub async fn playback_grant(
        &self,
        app: &App,
        player_streamer_sid: &str,
    ) -> Result<serde_json::Value, TwilioError> {
        let mut cached = self.grant.lock().await;
        if let Some(grant) = &*cached
            && grant.player_streamer_sid == player_streamer_sid
            && Instant::now() < grant.usable_until
        {
            return Ok(grant.grant.clone());
        }
        let ttl = app.settings.playback_grant_ttl;
        let created = Instant::now();
        let grant = app
            .twilio
            .create_playback_grant(player_streamer_sid, ttl.as_secs())
            .await?;
        *cached = Some(CachedGrant {
            player_streamer_sid: player_streamer_sid.to_owned(),
            grant: grant.grant.clone(),
            usable_until: created + ttl.saturating_sub(GRANT_MARGIN),
        });
        Ok(grant.grant)
    }
}

async fn look_up(app: &App) -> Result<Option<LiveStream>, TwilioError> {
    let Some((_, room)) = stream::find_live_room(&app.twilio, &app.settings.host_identity).await?
    else {
        return Ok(None);
    };
    match app.settings.audience_mode {
        AudienceMode::Room => Ok(Some(LiveStream {
            room,
            player_streamer_sid: None,
        })),
        AudienceMode::Live => {
            // Live only once the host started the stream: a started processor feeding a streamer.
            let processors = stream::media_processors_of(&app.twilio, &room).await?;
            let streamer = processors
                .into_iter()
                .find_map(|mp| mp.outputs().into_iter().next());
            Ok(streamer.map(|sid| LiveStream {
                room,
                player_streamer_sid: Some(sid),
            }))
        }
    }
}
