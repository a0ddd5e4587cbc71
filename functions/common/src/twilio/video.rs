//! Video v1 calls: rooms, participants and subscribe rules.

use serde::Deserialize;

use super::{Api, Repeat, Twilio, TwilioError, twilio_status};
use crate::ids::{Identity, MeetingRoom, RoomName, UniqueRoomName};

twilio_status! {
    /// A room's status.
    RoomStatus {
        InProgress = "in-progress",
        Completed = "completed",
        Failed = "failed",
    }
}

twilio_status! {
    /// A participant's status in a room.
    ParticipantStatus {
        Connected = "connected",
        Reconnecting = "reconnecting",
        Disconnected = "disconnected",
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Room {
    pub sid: String,
    pub unique_name: Option<String>,
    pub status: RoomStatus,
    /// ISO 8601, UTC.
    pub date_created: Option<String>,
    /// The room's own limit, as it was created.
    #[serde(default)]
    pub max_participants: Option<u32>,
}

impl Room {
    /// The unique name, when it is one of ours.
    pub fn onair_name(&self) -> Option<RoomName> {
        self.unique_name.as_deref().and_then(RoomName::parse)
    }
    /// The meeting room this is, when it is one.
    pub fn meeting_room(&self) -> Option<MeetingRoom> {
        self.unique_name.as_deref().and_then(MeetingRoom::parse)
    }
    /// Seconds since the room was created, `None` when Twilio gave no parsable date.
    pub fn age_secs(&self, now_unix: u64) -> Option<u64> {
        super::age_secs(self.date_created.as_deref(), now_unix)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Participant {
    pub sid: String,
    pub identity: String,
    pub status: ParticipantStatus,
    /// When the participant connected: ISO 8601, UTC.
    pub date_created: Option<String>,
}

/// The limits a room is created with, so an abandoned room stops costing money by itself.
#[derive(Debug, Clone)]
pub struct RoomBounds {
    /// Minutes an empty room stays open after its last participant left.
    pub empty_room_timeout_min: u32,
    /// Minutes a room nobody joined stays open.
    pub unused_room_timeout_min: u32,
    /// Seconds any participant may stay connected.
    pub max_participant_duration_secs: u64,
    pub max_participants: u32,
}

impl Twilio {
    pub async fn create_room(
        &self,
        name: &impl UniqueRoomName,
        bounds: &RoomBounds,
        status_callback: Option<&str>,
    ) -> Result<Room, TwilioError> {
        let mut form = vec![
            ("UniqueName", name.as_str().to_owned()),
            ("Type", "group".to_owned()),
            (
                "EmptyRoomTimeout",
                bounds.empty_room_timeout_min.to_string(),
            ),
            (
                "UnusedRoomTimeout",
                bounds.unused_room_timeout_min.to_string(),
            ),
            (
                "MaxParticipantDuration",
                bounds.max_participant_duration_secs.to_string(),
            ),
            ("MaxParticipants", bounds.max_participants.to_string()),
        ];
        if let Some(url) = status_callback {
            form.push(("StatusCallback", url.to_owned()));
            form.push(("StatusCallbackMethod", "POST".to_owned()));
        }
        self.post(Api::Video, "/v1/Rooms", &form, Repeat::Once)
            .await
    }

    /// The in-progress room named `name` (Twilio finds a room by its unique name only while
    /// it is in progress).
    pub async fn fetch_room(&self, name: &impl UniqueRoomName) -> Result<Room, TwilioError> {
        self.get(Api::Video, &format!("/v1/Rooms/{name}"), &[])
            .await
    }

    /// Completes the in-progress room named `name`: everyone is disconnected.
    pub async fn complete_room(&self, name: &impl UniqueRoomName) -> Result<Room, TwilioError> {
        let form = [("Status", RoomStatus::Completed.to_string())];
        self.post(
            Api::Video,
            &format!("/v1/Rooms/{name}"),
            &form,
            Repeat::Safe,
        )
        .await
    }

    /// In-progress rooms, newest first as Twilio lists them.
    pub async fn list_rooms_in_progress(&self) -> Result<Vec<Room>, TwilioError> {
        let query = [
            ("Status", RoomStatus::InProgress.to_string()),
            ("PageSize", "50".to_owned()),
        ];
        self.list(Api::Video, "/v1/Rooms", "rooms", &query).await
    }

    /// Connected participants of a room, optionally only those with `identity`.
    pub async fn connected_participants(
        &self,
        room_sid: &str,
        identity: Option<&Identity>,
    ) -> Result<Vec<Participant>, TwilioError> {
        self.participants(room_sid, ParticipantStatus::Connected, identity)
            .await
    }

    /// Participants of a room with `status`, optionally only those with `identity`. Twilio
    /// lists an in-progress room's connected participants unless asked for another status, so
    /// who was there and left is asked for by `disconnected`.
    pub async fn participants(
        &self,
        room_sid: &str,
        status: ParticipantStatus,
        identity: Option<&Identity>,
    ) -> Result<Vec<Participant>, TwilioError> {
        let mut query = vec![
            ("Status", status.to_string()),
            ("PageSize", "50".to_owned()),
        ];
        if let Some(identity) = identity {
            query.push(("Identity", identity.as_str().to_owned()));
        }
        self.list(
            Api::Video,
            &format!("/v1/Rooms/{room_sid}/Participants"),
            "participants",
            &query,
        )
        .await
    }

    /// Replaces a participant's subscribe rules; returns the rules Twilio now holds.
    pub async fn set_subscribe_rules(
        &self,
        room: &RoomName,
        participant: &Identity,
        rules: &serde_json::Value,
    ) -> Result<serde_json::Value, TwilioError> {
        let form = [("Rules", rules.to_string())];
        let path = format!(
            "/v1/Rooms/{room}/Participants/{}/SubscribeRules",
            participant.as_str()
        );
        let answer: serde_json::Value = self.post(Api::Video, &path, &form, Repeat::Safe).await?;
        Ok(answer
            .get("rules")
            .cloned()
            .unwrap_or(serde_json::Value::Null))
    }
}
