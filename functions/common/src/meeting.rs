//! A meeting's room in Twilio terms (docs/ARCHITECTURE.md, Meetings), shared by `meeting_token`
//! and the reaper: opening the room for a join (created by the first join, exactly once when
//! joins race), whether it is full, its cost bounds, and ending it.
//!
//! Twilio keeps the only state: a meeting's room is the in-progress room named
//! `meeting-<meeting id>`; when it has ended, the next join creates a new one of that name.

use crate::config::MeetingSettings;
use crate::ids::MeetingRoom;
use crate::twilio::{Room, RoomBounds, Twilio, TwilioError};

/// Minutes a meeting room stays open after its last participant left. Twilio bills
/// participant minutes, not rooms; a meeting everyone left simply gets a new room on the next
/// join, so there is no reason to keep it longer.
const EMPTY_ROOM_TIMEOUT_MIN: u32 = 1;
/// Minutes a room nobody joined stays open: the first joiner connects within seconds of
/// creating it, or not at all.
const UNUSED_ROOM_TIMEOUT_MIN: u32 = 2;

/// Why a join was refused. The edge (`response`) answers `Full` as 409 `conflict` and Twilio's
/// failures as 502.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MeetingError {
    #[error("This meeting is full")]
    Full,
    #[error(transparent)]
    Twilio(#[from] TwilioError),
}

/// The bounds every meeting room is created with (units as Twilio's API takes them: timeouts
/// in minutes, the participant duration in seconds).
pub fn room_bounds(settings: &MeetingSettings) -> RoomBounds {
    RoomBounds {
        empty_room_timeout_min: EMPTY_ROOM_TIMEOUT_MIN,
        unused_room_timeout_min: UNUSED_ROOM_TIMEOUT_MIN,
        max_participant_duration_secs: settings.max_duration.as_secs(),
        max_participants: settings.max_participants,
    }
}

/// The meeting's in-progress room, ready for one more participant: fetched, or created with
/// [`room_bounds`] and `status_callback` if there is none. Joins that race to create it make
/// one room: the loser's create is refused with Twilio's "room exists", and it fetches the
/// winner's. A room whose connected participants already reach its limit is [`MeetingError::Full`]
/// (Twilio itself refuses a connect beyond `MaxParticipants`, which is what decides when two
/// joins race for the last place).
pub async fn open_room(
    twilio: &Twilio,
    settings: &MeetingSettings,
    room: &MeetingRoom,
    status_callback: Option<&str>,
) -> Result<Room, MeetingError> {
    let opened = match twilio.fetch_room(room).await {
        Ok(existing) => existing,
        Err(err) if err.is_not_found() => {
            match twilio
                .create_room(room, &room_bounds(settings), status_callback)
                .await
            {
                Ok(created) => {
                    tracing::info!(room = %room, room_sid = %created.sid, "meeting room created");
                    return Ok(created);
                }
                Err(err) if err.is_room_exists() => twilio.fetch_room(room).await?,
                Err(err) => return Err(err.into()),
            }
        }
        Err(err) => return Err(err.into()),
    };
    let limit = opened.max_participants.unwrap_or(settings.max_participants);
    let connected = twilio.connected_participants(&opened.sid, None).await?;
    if connected.len() >= limit as usize {
        return Err(MeetingError::Full);
    }
    Ok(opened)
}

/// Whether `room`, `now` (unix seconds), has lasted as long as a meeting may. A room without a
/// readable date counts as past it: better ended than leaked.
pub fn past_maximum(room: &Room, settings: &MeetingSettings, now: u64) -> bool {
    room.age_secs(now).unwrap_or(u64::MAX) >= settings.max_duration.as_secs()
}

/// Completes the meeting's room: everyone is disconnected. `Ok(false)` if it had ended already.
pub async fn end_room(twilio: &Twilio, room: &MeetingRoom) -> Result<bool, TwilioError> {
    match twilio.complete_room(room).await {
        Ok(_) => {
            tracing::info!(room = %room, "meeting room completed");
            Ok(true)
        }
        Err(err) if err.is_room_over() => Ok(false),
        Err(err) => Err(err),
    }
}
