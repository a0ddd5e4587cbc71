//! Streams in Twilio terms, shared by the endpoints, `room_events` and the reaper: a stream's
//! rooms and its state, opening a studio room, the room a host request acts on, starting a
//! room's Live resources (idempotent, compensating) and ending exactly one room's resources
//! (idempotent).
//!
//! Twilio keeps no other state (docs/ARCHITECTURE.md, Named streams): a stream's rooms are the
//! in-progress rooms named after it; one of them is on air while its host is connected to it
//! (in `live` mode, for viewers, while a started MediaProcessor composes it); a room's Live
//! resources are the started MediaProcessors whose context names the room, and the
//! PlayerStreamers those feed.

use std::collections::HashSet;

use crate::config::{AudienceMode, Settings};
use crate::ids::{Identity, RoomName, StreamName};
use crate::twilio::{
    MediaProcessor, MediaProcessorStatus, Participant, Room, RoomBounds, RoomStatus, Twilio,
    TwilioError,
};

/// How many of a stream's newest in-progress rooms are checked for a connected host when its
/// state is looked up (normally a stream has one room; more only for a moment).
const ROOMS_CHECKED: usize = 5;

/// Why a host's stream could not be found or started. The messages are for the host; the HTTP
/// edge (`response`) answers all but the last two as 409 `conflict` and Twilio's failures as 502.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StreamError {
    #[error("room {0} is not in progress; get a new host token")]
    RoomNotInProgress(RoomName),
    #[error("the host is not connected to the room yet; connect, then start the stream")]
    HostNotInRoom,
    #[error("no room has the host connected; connect first")]
    NoLiveRoom,
    #[error("stream `{0}` is live from another studio; choose another name or wait until it ends")]
    AlreadyLive(StreamName),
    /// A MediaProcessor was found although its create failed, and then no pair could be kept.
    #[error("Twilio Live did not start")]
    LiveDidNotStart,
    #[error(transparent)]
    Twilio(#[from] TwilioError),
}

/// The bounds every OnAir room is created with: nobody stays longer than the longest stream; a
/// room nobody joined closes after `STUDIO_MAX_MINUTES` (a studio room waits that long for its
/// host, at no cost: Twilio bills participants, not empty rooms), and a room everyone left
/// closes a minute later.
pub fn room_bounds(settings: &Settings) -> RoomBounds {
    RoomBounds {
        empty_room_timeout_min: 1,
        unused_room_timeout_min: u32::try_from(settings.studio_max.as_secs() / 60).unwrap_or(60),
        max_participant_duration_secs: settings.stream_max.as_secs(),
        max_participants: 50,
    }
}

/// A stream's state as its viewers see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// No room of the stream is in progress.
    Offline,
    /// A room is open but nobody is on air in it: the host is in the studio.
    Ready,
    /// The host is on air.
    Live,
}

/// A stream's state and the room it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub state: State,
    /// The room viewers join: the one on air, else the newest.
    pub room: Option<RoomName>,
    /// Viewers connected to that room (`room` mode only: one list serves the host check too).
    pub viewers: Option<u32>,
    /// When the stream went on air (unix seconds).
    pub started_at: Option<u64>,
    /// `live` mode: the PlayerStreamer viewers watch.
    pub player_streamer: Option<String>,
}

impl Status {
    pub fn offline() -> Status {
        Status {
            state: State::Offline,
            room: None,
            viewers: None,
            started_at: None,
            player_streamer: None,
        }
    }

    /// Whether viewers can join now: in `room` mode a stream that is ready (they wait in the
    /// room for the host) or live; in `live` mode only a live one (there is nothing to play
    /// before its PlayerStreamer).
    pub fn joinable(&self, mode: AudienceMode) -> bool {
        match mode {
            AudienceMode::Room => self.state != State::Offline,
            AudienceMode::Live => self.state == State::Live && self.player_streamer.is_some(),
            // A stage is joinable once its host publishes (there is nothing to wait in before).
            AudienceMode::Ivs => self.state == State::Live,
        }
    }
}

/// What a host request acts on: the room of their token (or the room they named with the
/// password), or, with the password and no room, the room on air of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostTarget {
    Room(RoomName),
    Stream(StreamName),
}

/// A room with its host connected.
#[derive(Debug, Clone)]
pub struct OnAir {
    pub room: Room,
    pub name: RoomName,
    pub host: Participant,
}

/// Of `rooms`, ours that belong to `stream`, newest first.
pub fn rooms_of(rooms: &[Room], stream: &StreamName) -> Vec<(Room, RoomName)> {
    let mut of_stream: Vec<(Room, RoomName)> = rooms
        .iter()
        .filter_map(|room| Some((room.clone(), room.onair_name()?)))
        .filter(|(_, name)| name.stream().as_ref() == Some(stream))
        .collect();
    // ISO 8601 UTC dates of one format sort as text; equal dates by name, so every caller
    // agrees on which room is newest.
    of_stream.sort_by(|a, b| (&b.0.date_created, &b.1).cmp(&(&a.0.date_created, &a.1)));
    of_stream
}

/// The in-progress rooms of `stream`, newest first (one listing of the account's rooms).
pub async fn stream_rooms(
    twilio: &Twilio,
    stream: &StreamName,
) -> Result<Vec<(Room, RoomName)>, TwilioError> {
    Ok(rooms_of(&twilio.list_rooms_in_progress().await?, stream))
}

fn host_among<'a>(participants: &'a [Participant], host: &Identity) -> Option<&'a Participant> {
    participants.iter().find(|p| p.identity == host.as_str())
}

/// The host's entry in `room_sid`, if they are connected to it.
async fn connected_host(
    twilio: &Twilio,
    room_sid: &str,
    host: &Identity,
) -> Result<Option<Participant>, TwilioError> {
    Ok(twilio
        .connected_participants(room_sid, Some(host))
        .await?
        .into_iter()
        .next())
}

/// `room` mode: the status of a stream with `rooms` in progress (newest first). Live in the
/// newest of them (of the first [`ROOMS_CHECKED`]) with its host connected, else ready in the
/// newest; with that room's viewers. One call per room checked: the room's connected
/// participants tell both whether the host is there and how many viewers are.
pub async fn room_status(
    twilio: &Twilio,
    host: &Identity,
    rooms: &[(Room, RoomName)],
) -> Result<Status, TwilioError> {
    let mut ready = None;
    for (room, name) in rooms.iter().take(ROOMS_CHECKED) {
        let participants = twilio.connected_participants(&room.sid, None).await?;
        let viewers = participants
            .iter()
            .filter(|p| Identity::parse(&p.identity).is_some_and(|id| id.is_viewer()))
            .count();
        let viewers = Some(u32::try_from(viewers).unwrap_or(u32::MAX));
        if let Some(on_air) = host_among(&participants, host) {
            return Ok(Status {
                state: State::Live,
                room: Some(name.clone()),
                viewers,
                started_at: crate::twilio::unix_secs(on_air.date_created.as_deref()),
                player_streamer: None,
            });
        }
        ready.get_or_insert(Status {
            state: State::Ready,
            room: Some(name.clone()),
            viewers,
            started_at: None,
            player_streamer: None,
        });
    }
    Ok(ready.unwrap_or_else(Status::offline))
}

/// `live` mode: the stream is live while a started MediaProcessor composes one of its rooms
/// (the newest such: Twilio lists processors newest first). No call of its own: the listing is
/// shared by every stream.
pub fn live_in(processors: &[MediaProcessor], stream: &StreamName) -> Option<Status> {
    processors.iter().find_map(|processor| {
        let room = processor.room_name()?;
        let streamer = processor.outputs().into_iter().next()?;
        (room.stream().as_ref() == Some(stream)).then(|| Status {
            state: State::Live,
            room: Some(room),
            viewers: None,
            started_at: crate::twilio::unix_secs(processor.date_created.as_deref()),
            player_streamer: Some(streamer),
        })
    })
}

/// `live` mode, a stream nobody composes: ready in its newest room (`rooms`, newest first) if
/// it has one, else offline.
pub fn ready_or_offline(rooms: &[(Room, RoomName)]) -> Status {
    match rooms.first() {
        Some((_, newest)) => Status {
            state: State::Ready,
            room: Some(newest.clone()),
            ..Status::offline()
        },
        None => Status::offline(),
    }
}

/// Opens a studio room for `stream` (docs/ARCHITECTURE.md, Named streams):
/// [`StreamError::AlreadyLive`] if a host is on air in one of the stream's rooms; else a fresh
/// room, ready for the host, and the stream's other rooms (nobody on air in them: other
/// studios) end with their Live resources. The last one into the studio wins; a failure to end an old room is logged (its
/// bounds and the reaper still end it), and viewers are sent to the newest room anyway.
pub async fn open_room(
    twilio: &Twilio,
    settings: &Settings,
    stream: &StreamName,
    status_callback: Option<&str>,
) -> Result<(Room, RoomName), StreamError> {
    let host = &settings.host_identity;
    let others = stream_rooms(twilio, stream).await?;
    for (room, _) in &others {
        if connected_host(twilio, &room.sid, host).await?.is_some() {
            return Err(StreamError::AlreadyLive(stream.clone()));
        }
    }
    let name = RoomName::for_stream(stream);
    let created = twilio
        .create_room(&name, &room_bounds(settings), status_callback)
        .await?;
    for (_, old) in &others {
        match stop_room(twilio, settings, old).await {
            Ok(_) => {
                tracing::info!(stream = %stream, room = %old, by = %name, "studio room replaced")
            }
            Err(err) => {
                tracing::warn!(stream = %stream, room = %old, error = %err, "could not end a replaced studio room")
            }
        }
    }
    Ok((created, name))
}

/// The room a host request acts on, in progress with the host connected: the room of `target`,
/// or the newest room of the stream with the host connected.
pub async fn host_live_room(
    twilio: &Twilio,
    settings: &Settings,
    target: &HostTarget,
) -> Result<OnAir, StreamError> {
    let host = &settings.host_identity;
    match target {
        HostTarget::Room(name) => require_live_room(twilio, name, host).await,
        HostTarget::Stream(stream) => find_live_room(twilio, host, stream)
            .await?
            .ok_or(StreamError::NoLiveRoom),
    }
}

/// The newest in-progress room of `stream` whose host is connected.
pub async fn find_live_room(
    twilio: &Twilio,
    host: &Identity,
    stream: &StreamName,
) -> Result<Option<OnAir>, TwilioError> {
    for (room, name) in stream_rooms(twilio, stream)
        .await?
        .into_iter()
        .take(ROOMS_CHECKED)
    {
        if let Some(participant) = connected_host(twilio, &room.sid, host).await? {
            return Ok(Some(OnAir {
                room,
                name,
                host: participant,
            }));
        }
    }
    Ok(None)
}

/// Whether `name` is in progress with its host connected.
pub async fn require_live_room(
    twilio: &Twilio,
    name: &RoomName,
    host: &Identity,
) -> Result<OnAir, StreamError> {
    let room = match twilio.fetch_room(name).await {
        Ok(room) if room.status == RoomStatus::InProgress => room,
        Ok(_) => return Err(StreamError::RoomNotInProgress(name.clone())),
        Err(err) if err.is_not_found() => return Err(StreamError::RoomNotInProgress(name.clone())),
        Err(err) => return Err(err.into()),
    };
    let participant = connected_host(twilio, &room.sid, host)
        .await?
        .ok_or(StreamError::HostNotInRoom)?;
    Ok(OnAir {
        room,
        name: name.clone(),
        host: participant,
    })
}

/// [`StreamError::AlreadyLive`] if another room of `on_air`'s stream went on air first: its
/// host connected earlier (equal times: the room whose name sorts first). First on air wins, so
/// of two studios going live on one name at once, exactly one may start.
pub async fn ensure_first_on_air(
    twilio: &Twilio,
    host: &Identity,
    on_air: &OnAir,
) -> Result<(), StreamError> {
    let Some(stream) = on_air.name.stream() else {
        return Ok(());
    };
    let ours = (&on_air.host.date_created, &on_air.name);
    for (room, name) in stream_rooms(twilio, &stream).await? {
        if name == on_air.name {
            continue;
        }
        if let Some(other) = connected_host(twilio, &room.sid, host).await?
            && (&other.date_created, &name) < ours
        {
            return Err(StreamError::AlreadyLive(stream));
        }
    }
    Ok(())
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
