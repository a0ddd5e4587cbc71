//! Media v1 calls (Twilio Live): PlayerStreamers, their PlaybackGrants, and MediaProcessors.

use serde::Deserialize;

use super::{Api, Repeat, Twilio, TwilioError, twilio_status};
use crate::ids::RoomName;

twilio_status! {
    /// A PlayerStreamer's status: it bills while `created` or `started`.
    PlayerStreamerStatus {
        Created = "created",
        Started = "started",
        Ended = "ended",
        Failed = "failed",
    }
}

twilio_status! {
    /// A MediaProcessor's status: it bills while `started`.
    MediaProcessorStatus {
        Started = "started",
        Ended = "ended",
        Failed = "failed",
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct PlayerStreamer {
    pub sid: String,
    pub status: PlayerStreamerStatus,
    pub date_created: Option<String>,
}

impl PlayerStreamer {
    /// Seconds since it was created, `None` when Twilio gave no parsable date.
    pub fn age_secs(&self, now_unix: u64) -> Option<u64> {
        super::age_secs(self.date_created.as_deref(), now_unix)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct MediaProcessor {
    pub sid: String,
    pub status: MediaProcessorStatus,
    pub date_created: Option<String>,
    /// The JSON context the processor was created with (room and outputs).
    pub extension_context: Option<String>,
}

/// The context OnAir gives a MediaProcessor: which room it composes, into which streamers.
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
struct ExtensionContext {
    room: RoomRef,
    outputs: Vec<String>,
}

#[derive(Debug, Clone, serde::Serialize, Deserialize)]
struct RoomRef {
    name: String,
}

impl MediaProcessor {
    /// The OnAir room this processor composes, if its context names one.
    pub fn room_name(&self) -> Option<RoomName> {
        RoomName::parse(&self.context()?.room.name)
    }
    /// The PlayerStreamers this processor feeds.
    pub fn outputs(&self) -> Vec<String> {
        self.context().map(|c| c.outputs).unwrap_or_default()
    }
    fn context(&self) -> Option<ExtensionContext> {
        serde_json::from_str(self.extension_context.as_deref()?).ok()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct PlaybackGrant {
    /// Twilio's grant object, put verbatim into the viewer's access token.
    pub grant: serde_json::Value,
}

impl Twilio {
    pub async fn create_player_streamer(
        &self,
        max_duration_secs: u64,
    ) -> Result<PlayerStreamer, TwilioError> {
        let form = [
            ("Video", "true".to_owned()),
            ("MaxDuration", max_duration_secs.to_string()),
        ];
        self.post(Api::Media, "/v1/PlayerStreamers", &form, Repeat::Once)
            .await
    }

    /// The PlayerStreamers that bill: those `created` or `started`.
    pub async fn running_player_streamers(&self) -> Result<Vec<PlayerStreamer>, TwilioError> {
        let mut running = self
            .list_player_streamers(PlayerStreamerStatus::Created)
            .await?;
        running.extend(
            self.list_player_streamers(PlayerStreamerStatus::Started)
                .await?,
        );
        Ok(running)
    }

    async fn list_player_streamers(
        &self,
        status: PlayerStreamerStatus,
    ) -> Result<Vec<PlayerStreamer>, TwilioError> {
        let query = [
            ("Status", status.to_string()),
            ("Order", "desc".to_owned()),
            ("PageSize", "50".to_owned()),
        ];
        self.list(
            Api::Media,
            "/v1/PlayerStreamers",
            "player_streamers",
            &query,
        )
        .await
    }

    pub async fn end_player_streamer(&self, sid: &str) -> Result<PlayerStreamer, TwilioError> {
        let form = [("Status", PlayerStreamerStatus::Ended.to_string())];
        self.post(
            Api::Media,
            &format!("/v1/PlayerStreamers/{sid}"),
            &form,
            Repeat::Safe,
        )
        .await
    }

    pub async fn create_playback_grant(
        &self,
        player_streamer_sid: &str,
        ttl_secs: u64,
    ) -> Result<PlaybackGrant, TwilioError> {
        let form = [("Ttl", ttl_secs.to_string())];
        let path = format!("/v1/PlayerStreamers/{player_streamer_sid}/PlaybackGrant");
        self.post(Api::Media, &path, &form, Repeat::Safe).await
    }

    /// A MediaProcessor composing `room` into `player_streamer_sid`.
    pub async fn create_media_processor(
        &self,
        extension: &str,
        room: &RoomName,
        player_streamer_sid: &str,
        max_duration_secs: u64,
    ) -> Result<MediaProcessor, TwilioError> {
        let context = ExtensionContext {
            room: RoomRef {
                name: room.as_str().to_owned(),
            },
            outputs: vec![player_streamer_sid.to_owned()],
        };
        let form = [
            ("Extension", extension.to_owned()),
            (
                "ExtensionContext",
                serde_json::to_string(&context).unwrap_or_default(),
            ),
            ("MaxDuration", max_duration_secs.to_string()),
        ];
        self.post(Api::Media, "/v1/MediaProcessors", &form, Repeat::Once)
            .await
    }

    pub async fn list_started_media_processors(&self) -> Result<Vec<MediaProcessor>, TwilioError> {
        let query = [
            ("Status", MediaProcessorStatus::Started.to_string()),
            ("Order", "desc".to_owned()),
            ("PageSize", "50".to_owned()),
        ];
        self.list(
            Api::Media,
            "/v1/MediaProcessors",
            "media_processors",
            &query,
        )
        .await
    }

    /// The newest MediaProcessors of any status, one page of at most `count` (Twilio allows
    /// up to 1000): a room that just ended has its processors here even when Twilio already
    /// stopped them.
    pub async fn recent_media_processors(
        &self,
        count: u32,
    ) -> Result<Vec<MediaProcessor>, TwilioError> {
        #[derive(Deserialize)]
        struct Page {
            media_processors: Vec<MediaProcessor>,
        }
        let query = [
            ("Order", "desc".to_owned()),
            ("PageSize", count.to_string()),
        ];
        let page: Page = self.get(Api::Media, "/v1/MediaProcessors", &query).await?;
        Ok(page.media_processors)
    }

    pub async fn end_media_processor(&self, sid: &str) -> Result<MediaProcessor, TwilioError> {
        let form = [("Status", MediaProcessorStatus::Ended.to_string())];
        self.post(
            Api::Media,
            &format!("/v1/MediaProcessors/{sid}"),
            &form,
            Repeat::Safe,
        )
        .await
    }
}
