//! The stream's life in Twilio terms, shared by the endpoints, `room_events` and the reaper:
//! which room is live, starting the Live resources of a room (idempotent, compensating), and
//! ending exactly one room's resources (idempotent).
//!
//! Twilio keeps no other state: a room is live while it is in progress and its host is
//! connected; a room's Live resources are the started MediaProcessors whose context names the
//! room, and the PlayerStreamers those feed.

use std::collections::HashSet;

use crate::config::{AudienceMode, Settings};
use crate::ids::{Identity, RoomName};
use crate::twilio::{
    MediaProcessor, MediaProcessorStatus, Room, RoomBounds, RoomStatus, Twilio, TwilioError,
};

/// How many of the newest in-progress rooms are checked for a connected host.
const ROOMS_CHECKED: usize = 5;

/// Why a host's stream could not be found or started. The messages are for the host; the HTTP
/// edge (`response`) answers the first three as 409 `conflict` and Twilio's failures as 502.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StreamError {
    #[error("room {0} is not in progress; get a new host token")]
    RoomNotInProgress(RoomName),
    #[error("the host is not connected to the room yet; connect, then start the stream")]
    HostNotInRoom,
    #[error("no room has the host connected; connect first")]
    NoLiveRoom,
    /// A MediaProcessor was found although its create failed, and then no pair could be kept.
    #[error("Twilio Live did not start")]
    LiveDidNotStart,
    #[error(transparent)]
    Twilio(#[from] TwilioError),
}

/// The bounds every OnAir room is created with: it closes a minute after everyone left, two
/// minutes after creation if nobody joined, and nobody stays longer than the longest stream.
pub fn room_bounds(settings: &Settings) -> RoomBounds {
    RoomBounds {
        empty_room_timeout_min: 1,
        unused_room_timeout_min: 2,
        max_participant_duration_secs: settings.stream_max.as_secs(),
        max_participants: 50,
    }
}

/// The room a host request is about, in progress with the host connected: `room` (the room of
/// the host's token), or, when the host did not name one (password callers), the live room.
pub async fn host_live_room(
    twilio: &Twilio,
    settings: &Settings,
    room: Option<&RoomName>,
) -> Result<(Room, RoomName), StreamError> {
    let host = &settings.host_identity;
    match room {
        Some(name) => Ok((require_live_room(twilio, name, host).await?, name.clone())),
        None => find_live_room(twilio, host)
            .await?
            .ok_or(StreamError::NoLiveRoom),
    }
}

/// The newest in-progress OnAir room whose host is connected.
pub async fn find_live_room(
    twilio: &Twilio,
    host: &Identity,
) -> Result<Option<(Room, RoomName)>, TwilioError> {
    let mut rooms: Vec<(Room, RoomName)> = twilio
        .list_rooms_in_progress()
        .await?
        .into_iter()
        .filter_map(|room| room.onair_name().map(|name| (room, name)))
        .collect();
    // ISO 8601 UTC dates of one format sort as text.
    rooms.sort_by(|a, b| b.0.date_created.cmp(&a.0.date_created));
    for (room, name) in rooms.into_iter().take(ROOMS_CHECKED) {
        if !twilio
            .connected_participants(&room.sid, Some(host))
            .await?
            .is_empty()
        {
            return Ok(Some((room, name)));
        }
    }
    Ok(None)
}

/// Whether `name` is in progress with its host connected.
pub async fn require_live_room(
    twilio: &Twilio,
    name: &RoomName,
    host: &Identity,
) -> Result<Room, StreamError> {
    let room = match twilio.fetch_room(name).await {
        Ok(room) if room.status == RoomStatus::InProgress => room,
        Ok(_) => return Err(StreamError::RoomNotInProgress(name.clone())),
        Err(err) if err.is_not_found() => return Err(StreamError::RoomNotInProgress(name.clone())),
        Err(err) => return Err(err.into()),
    };
    if twilio
        .connected_participants(&room.sid, Some(host))
        .await?
        .is_empty()
    {
        return Err(StreamError::HostNotInRoom);
    }
    Ok(room)
}

/// The Live resources of one room.
#[derive(Debug, Clone, serde::Serialize, PartialEq, Eq)]
pub struct LiveResources {
    pub media_processor_sid: String,
    pub player_streamer_sid: String,
}

/// Started MediaProcessors whose context names `room`.
pub async fn media_processors_of(
    twilio: &Twilio,
    room: &RoomName,
) -> Result<Vec<MediaProcessor>, TwilioError> {
    Ok(twilio
        .list_started_media_processors()
        .await?
        .into_iter()
        .filter(|mp| mp.room_name().as_ref() == Some(room))
        .collect())
}

/// Starts Twilio Live for `room`: a PlayerStreamer, then a MediaProcessor feeding it, each with
/// a MaxDuration. Returns the running pair if the room has one already.
///
/// Twilio may carry out a create whose answer never arrived (a timeout), and two starts can
/// race. So after creating (or failing to), the room's processors are listed again: a
/// processor found feeding the new streamer is adopted, and of several pairs the oldest is kept
/// and the others are ended ([`settle`]). The streamer is ended only when no processor feeds
/// it; if that cannot be checked it is left for a retry to adopt or for the reaper, which ends
/// unfed streamers after its grace period.
pub async fn start_live(
    twilio: &Twilio,
    settings: &Settings,
    room: &RoomName,
) -> Result<LiveResources, StreamError> {
    if let Some(running) = settle(twilio, room, media_processors_of(twilio, room).await?).await {
        return Ok(running);
    }
    let max = settings.stream_max.as_secs();
    let streamer = twilio.create_player_streamer(max).await?;
    let created = twilio
        .create_media_processor(&settings.live_extension, room, &streamer.sid, max)
        .await;
    let feeds_streamer = |mp: &MediaProcessor| mp.outputs().contains(&streamer.sid);
    let listed = media_processors_of(twilio, room).await;
    let pair = match (created, listed) {
        (Ok(own), Err(err)) => {
            tracing::warn!(room = %room, error = %err, "could not check for other live pairs");
            LiveResources {
                media_processor_sid: own.sid,
                player_streamer_sid: streamer.sid.clone(),
            }
        }
        (Ok(own), Ok(processors)) => {
            settle(twilio, room, processors)
                .await
                .unwrap_or(LiveResources {
                    media_processor_sid: own.sid,
                    player_streamer_sid: streamer.sid.clone(),
                })
        }
        (Err(_), Ok(processors)) if processors.iter().any(feeds_streamer) => {
            tracing::warn!(room = %room, player_streamer = %streamer.sid, "MediaProcessor created although its create failed; adopted");
            settle(twilio, room, processors)
                .await
                .ok_or(StreamError::LiveDidNotStart)?
        }
        (Err(err), Ok(_)) => {
            match twilio.end_player_streamer(&streamer.sid).await {
                Ok(_) => {
                    tracing::warn!(room = %room, player_streamer = %streamer.sid, "MediaProcessor failed; PlayerStreamer ended")
                }
                // Its MaxDuration and the reaper still bound it.
                Err(end_err) => {
                    tracing::error!(room = %room, player_streamer = %streamer.sid, error = %end_err, "MediaProcessor failed and the PlayerStreamer could not be ended")
                }
            }
            return Err(err.into());
        }
        (Err(err), Err(list_err)) => {
            tracing::error!(room = %room, player_streamer = %streamer.sid, error = %list_err, "MediaProcessor failed and whether it exists is unknown; PlayerStreamer left for a retry or the reaper");
            return Err(err.into());
        }
    };
    tracing::info!(room = %room, player_streamer = %pair.player_streamer_sid, media_processor = %pair.media_processor_sid, "live stream started");
    Ok(pair)
}

/// Of a room's started processors keeps the oldest that feeds a streamer (by `date_created`,
/// then sid, so racing starts agree) and ends the others with their streamers; returns the
/// pair kept, `None` if there is none. A failure to end one is logged: stopping the stream,
/// the room's end and the reaper still end it.
async fn settle(
    twilio: &Twilio,
    room: &RoomName,
    mut processors: Vec<MediaProcessor>,
) -> Option<LiveResources> {
    processors.retain(|mp| !mp.outputs().is_empty());
    // ISO 8601 UTC dates of one format sort as text; a missing date sorts last.
    processors.sort_by(|a, b| {
        (a.date_created.is_none(), &a.date_created, &a.sid).cmp(&(
            b.date_created.is_none(),
            &b.date_created,
            &b.sid,
        ))
    });
    let mut processors = processors.into_iter();
    let kept = processors.next()?;
    for extra in processors {
        tracing::warn!(room = %room, media_processor = %extra.sid, "a second live pair for one room; ended");
        if let Err(err) = twilio.end_media_processor(&extra.sid).await {
            tracing::warn!(room = %room, media_processor = %extra.sid, error = %err, "could not end a second MediaProcessor");
        }
        for streamer in extra.outputs() {
            if let Err(err) = twilio.end_player_streamer(&streamer).await {
                tracing::warn!(room = %room, player_streamer = %streamer, error = %err, "could not end a second PlayerStreamer");
            }
        }
    }
    let player_streamer_sid = kept.outputs().into_iter().next()?;
    Some(LiveResources {
        media_processor_sid: kept.sid,
        player_streamer_sid,
    })
}

/// Which MediaProcessors [`end_live`] takes for a room's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// The started ones whose context names the room: a room still in progress.
    Started,
    /// The newest ones of any status whose context names the room: a room that ended, whose
    /// processor Twilio may have stopped already while the PlayerStreamer it fed bills on.
    Recent,
}

/// How many of the newest MediaProcessors [`Lookup::Recent`] reads (one page).
const RECENT_PROCESSORS: u32 = 50;

/// What ending a room's Live resources ended.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LiveEnded {
    pub media_processors: Vec<String>,
    pub player_streamers: Vec<String>,
}

/// Ends `room`'s Live resources: its started MediaProcessors and the PlayerStreamers they feed
/// (with [`Lookup::Recent`], only those still running, so a repeat ends nothing). Every step is
/// attempted even if one fails, except (with [`Lookup::Started`]) ending the streamers of a
/// processor that could not be ended; the first failure is returned after the others ran.
pub async fn end_live(
    twilio: &Twilio,
    room: &RoomName,
    lookup: Lookup,
) -> Result<LiveEnded, TwilioError> {
    let mut ended = LiveEnded::default();
    let (processors, running_streamers) = match lookup {
        Lookup::Started => (media_processors_of(twilio, room).await?, None),
        Lookup::Recent => {
            let processors: Vec<MediaProcessor> = twilio
                .recent_media_processors(RECENT_PROCESSORS)
                .await?
                .into_iter()
                .filter(|mp| mp.room_name().as_ref() == Some(room))
                .collect();
            if processors.is_empty() {
                return Ok(ended);
            }
            let running: HashSet<String> = twilio
                .running_player_streamers()
                .await?
                .into_iter()
                .map(|streamer| streamer.sid)
                .collect();
            (processors, Some(running))
        }
    };
    let mut first_error = None;
    for processor in processors {
        if processor.status == MediaProcessorStatus::Started {
            let ending = twilio.end_media_processor(&processor.sid).await;
            let processor_ended =
                ending.is_ok() || ending.as_ref().is_err_and(TwilioError::is_not_found);
            record(ending, &mut first_error, || {
                ended.media_processors.push(processor.sid.clone())
            });
            // In a room still in progress, a processor still running keeps its streamers, so
            // the pair stays whole for a retry (a start adopts it, a stop ends both) instead of
            // feeding an ended streamer. A room that ended cannot go live again: its streamers
            // are ended whatever became of the processor.
            if !processor_ended && lookup == Lookup::Started {
                continue;
            }
        }
        for streamer in processor.outputs() {
            if running_streamers
                .as_ref()
                .is_some_and(|running| !running.contains(&streamer))
            {
                continue;
            }
            record(
                twilio.end_player_streamer(&streamer).await,
                &mut first_error,
                || ended.player_streamers.push(streamer.clone()),
            );
        }
    }
    match first_error {
        Some(err) => Err(err),
        None => Ok(ended),
    }
}

/// What stopping a room ended.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stopped {
    pub live: LiveEnded,
    pub room_completed: bool,
}

impl Stopped {
    pub fn anything(&self) -> bool {
        self.room_completed
            || !self.live.media_processors.is_empty()
            || !self.live.player_streamers.is_empty()
    }
}

/// Ends exactly `room`'s Live resources (in `live` mode), then completes the room. Stopping a
/// stopped room ends nothing and is not an error. Every step is attempted even if one fails
/// (except ending the streamers of a processor that could not be ended: see [`end_live`]); the
/// first failure is returned after the others ran.
pub async fn stop_room(
    twilio: &Twilio,
    settings: &Settings,
    room: &RoomName,
) -> Result<Stopped, TwilioError> {
    let mut stopped = Stopped::default();
    let mut first_error = None;
    if settings.audience_mode == AudienceMode::Live {
        match end_live(twilio, room, Lookup::Started).await {
            Ok(live) => stopped.live = live,
            Err(err) => first_error = Some(err),
        }
    }
    match twilio.complete_room(room).await {
        Ok(_) => stopped.room_completed = true,
        Err(err) if err.is_room_over() => {}
        Err(err) => first_error = first_error.or(Some(err)),
    }
    if stopped.anything() {
        tracing::info!(room = %room, media_processors = ?stopped.live.media_processors, player_streamers = ?stopped.live.player_streamers, room_completed = stopped.room_completed, "stream stopped");
    }
    match first_error {
        Some(err) => Err(err),
        None => Ok(stopped),
    }
}

/// Notes an ending call: success runs `ended`; "not found" counts as already ended; any other
/// failure is kept if it is the first.
fn record<T>(
    outcome: Result<T, TwilioError>,
    first_error: &mut Option<TwilioError>,
    ended: impl FnOnce(),
) {
    match outcome {
        Ok(_) => ended(),
        Err(err) if err.is_not_found() => {}
        Err(err) => {
            first_error.get_or_insert(err);
        }
    }
}
