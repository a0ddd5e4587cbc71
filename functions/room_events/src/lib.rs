//! `POST /room_events`: Twilio's room status callbacks, so clean-up need not wait for the
//! reaper. Only requests signed with the account's auth token (`X-Twilio-Signature` over the
//! callback URL and the form parameters) are acted on; anything else is a 401 that costs no
//! Twilio call. On `room-ended` for an OnAir room in `live` mode, the room's Live resources
//! (its MediaProcessors and the PlayerStreamers they feed) are ended at once: that room's only,
//! so the other rooms of its stream and every other stream go on. Every other event, and every
//! event of a meeting room (which has nothing besides the room to end), is acknowledged and
//! nothing is done. Repeats are harmless: what is ended stays ended.

use lambda_http::{Body, Request, Response};
use onair_common::config::AudienceMode;
use onair_common::ids::{MeetingId, MeetingRoom, RoomName, StreamName};
use onair_common::response::respond;
use onair_common::stream::{self, LiveEnded, Lookup};
use onair_common::{ApiError, App};
use serde::Serialize;

/// The longest event name or room name read from a callback (longer ones are not ours).
const MAX_FIELD_LEN: usize = 128;

#[derive(Serialize)]
struct Handled {
    /// `StatusCallbackEvent` as Twilio sent it.
    event: String,
    /// The OnAir stream room the event is about, if it is one.
    room: Option<RoomName>,
    /// The stream of that room.
    stream: Option<StreamName>,
    /// The meeting whose room the event is about, if it is one.
    meeting: Option<MeetingId>,
    /// What this callback ended (empty unless `room-ended` found running Live resources).
    ended: LiveEnded,
}

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond("room_events", room_events(app, &req).await)
}

async fn room_events(app: &App, req: &Request) -> Result<Handled, ApiError> {
    let params = app.gate().twilio_callback(req).await?;

    let field = |name: &str| {
        params
            .get(name)
            .filter(|value| value.len() <= MAX_FIELD_LEN)
    };
    let event = field("StatusCallbackEvent").unwrap_or_default().to_owned();
    let room = field("RoomName").and_then(RoomName::parse);
    let meeting = field("RoomName")
        .and_then(MeetingRoom::parse)
        .map(|room| room.meeting());
    let mut ended = LiveEnded::default();
    if let Some(room) = &room
        && event == "room-ended"
        && app.settings.audience_mode == AudienceMode::Live
    {
        ended = stream::end_live(&app.twilio, room, Lookup::Recent).await?;
        tracing::info!(room = %room, stream = ?room.stream(), media_processors = ?ended.media_processors, player_streamers = ?ended.player_streamers, "room ended; its Live resources ended");
    }
    if let Some(meeting) = &meeting
        && event == "room-ended"
    {
        tracing::info!(meeting = %meeting, "meeting room ended");
    }
    Ok(Handled {
        event,
        stream: room.as_ref().and_then(RoomName::stream),
        room,
        meeting,
        ended,
    })
}
