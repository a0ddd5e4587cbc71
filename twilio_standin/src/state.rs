//! The stand-in's world: rooms, participants and their subscribe rules, player streamers with
//! their playback grants, and media processors, plus every lifecycle rule (room timeouts,
//! participant and resource max durations, and what completing a room ends). Pure data and
//! functions of an explicit `now`; no HTTP here. What happens to a room with a `StatusCallback`
//! is queued as a [`RoomEvent`] for the callback sender (`callbacks`) to take.

use serde_json::Value;
use time::OffsetDateTime;

use crate::clock::{minutes, secs};
use crate::error::TwilioError;
use crate::sid::{is_sid, new_sid, random_hex};

/// Longest room name or identity Twilio accepts.
pub(crate) const MAX_NAME_LEN: usize = 128;
/// Twilio's default and maximum `MaxDuration` of player streamers and media processors.
pub(crate) const DEFAULT_MAX_DURATION: u32 = 300;
/// Twilio's default room `MaxParticipantDuration` (4 hours).
pub(crate) const DEFAULT_MAX_PARTICIPANT_DURATION: u32 = 14_400;
/// Twilio's default `EmptyRoomTimeout` and `UnusedRoomTimeout`, in minutes.
pub(crate) const DEFAULT_ROOM_TIMEOUT: u32 = 5;
/// Twilio's default `PlaybackGrant` TTL in seconds.
pub(crate) const DEFAULT_GRANT_TTL: u32 = 15;
/// `ended_reason` of a media processor stopped because its room completed (a guess: Twilio's
/// documented list has no value for this case).
pub(crate) const ENDED_BY_ROOM: &str = "room-ended";
pub(crate) const ENDED_VIA_API: &str = "ended-via-api";
pub(crate) const MAX_DURATION_EXCEEDED: &str = "max-duration-exceeded";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RoomStatus {
    InProgress,
    Completed,
}

impl RoomStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RoomStatus::InProgress => "in-progress",
            RoomStatus::Completed => "completed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParticipantStatus {
    Connected,
    Disconnected,
}

impl ParticipantStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ParticipantStatus::Connected => "connected",
            ParticipantStatus::Disconnected => "disconnected",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamerStatus {
    Created,
    Started,
    Ended,
}

impl StreamerStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            StreamerStatus::Created => "created",
            StreamerStatus::Started => "started",
            StreamerStatus::Ended => "ended",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProcessorStatus {
    Started,
    Ended,
}

impl ProcessorStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ProcessorStatus::Started => "started",
            ProcessorStatus::Ended => "ended",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Room {
    pub(crate) seq: u64,
    pub(crate) sid: String,
    pub(crate) unique_name: String,
    pub(crate) status: RoomStatus,
    pub(crate) room_type: String,
    pub(crate) created: OffsetDateTime,
    pub(crate) updated: OffsetDateTime,
    pub(crate) end_time: Option<OffsetDateTime>,
    pub(crate) empty_room_timeout: u32,
    pub(crate) unused_room_timeout: u32,
    pub(crate) max_participants: u32,
    pub(crate) max_participant_duration: u32,
    /// What the creator asked for (`None`: Twilio's default applies).
    pub(crate) requested_max_participant_duration: Option<u32>,
    pub(crate) status_callback: Option<String>,
    pub(crate) status_callback_method: String,
    pub(crate) record_participants_on_connect: bool,
    pub(crate) video_codecs: Vec<String>,
    pub(crate) media_region: String,
    pub(crate) audio_only: bool,
    pub(crate) large_room: bool,
    /// When the last connected participant left (starts the empty-room timer).
    pub(crate) last_left: Option<OffsetDateTime>,
    /// Status callbacks queued for this room so far (the next one's `SequenceNumber`).
    pub(crate) callbacks_queued: u32,
}

/// Everything `POST /v1/Rooms` can set.
#[derive(Debug, Clone, Default)]
pub(crate) struct NewRoom {
    pub(crate) unique_name: Option<String>,
    pub(crate) room_type: Option<String>,
    pub(crate) empty_room_timeout: Option<u32>,
    pub(crate) unused_room_timeout: Option<u32>,
    pub(crate) max_participants: Option<u32>,
    pub(crate) max_participant_duration: Option<u32>,
    pub(crate) status_callback: Option<String>,
    pub(crate) status_callback_method: Option<String>,
    pub(crate) record_participants_on_connect: bool,
    pub(crate) video_codecs: Vec<String>,
    pub(crate) media_region: Option<String>,
    pub(crate) audio_only: bool,
    pub(crate) large_room: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Participant {
    pub(crate) seq: u64,
    pub(crate) sid: String,
    pub(crate) room_sid: String,
    pub(crate) identity: String,
    pub(crate) status: ParticipantStatus,
    pub(crate) created: OffsetDateTime,
    pub(crate) updated: OffsetDateTime,
    pub(crate) end_time: Option<OffsetDateTime>,
    /// Rules set through the REST API; `None` until the first `POST .../SubscribeRules`.
    pub(crate) rules: Option<RuleSet>,
}

#[derive(Debug, Clone)]
pub(crate) struct RuleSet {
    /// Normalised rule objects: every filter key present, unused ones `null`.
    pub(crate) rules: Vec<Value>,
    pub(crate) created: OffsetDateTime,
    pub(crate) updated: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub(crate) struct PlayerStreamer {
    pub(crate) seq: u64,
    pub(crate) sid: String,
    pub(crate) status: StreamerStatus,
    pub(crate) ended_reason: Option<String>,
    pub(crate) video: bool,
    pub(crate) created: OffsetDateTime,
    pub(crate) updated: OffsetDateTime,
    pub(crate) status_callback: Option<String>,
    pub(crate) status_callback_method: String,
    pub(crate) max_duration: u32,
    pub(crate) grant: Option<Grant>,
    pub(crate) grants_issued: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub(crate) created: OffsetDateTime,
    pub(crate) ttl: u32,
    pub(crate) token: String,
    pub(crate) allow_origin: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct MediaProcessor {
    pub(crate) seq: u64,
    pub(crate) sid: String,
    pub(crate) status: ProcessorStatus,
    pub(crate) ended_reason: Option<String>,
    pub(crate) extension: String,
    pub(crate) extension_context: String,
    pub(crate) extension_environment: Option<String>,
    /// The room named in the context, as written there (a unique name or an RM sid).
    pub(crate) room_name: Option<String>,
    /// The room that name resolved to at creation.
    pub(crate) room_sid: Option<String>,
    pub(crate) outputs: Vec<String>,
    pub(crate) created: OffsetDateTime,
    pub(crate) updated: OffsetDateTime,
    pub(crate) status_callback: Option<String>,
    pub(crate) status_callback_method: String,
    pub(crate) max_duration: u32,
}

/// Everything `POST /v1/MediaProcessors` can set.
#[derive(Debug, Clone, Default)]
pub(crate) struct NewProcessor {
    pub(crate) extension: String,
    pub(crate) extension_context: String,
    pub(crate) extension_environment: Option<String>,
    pub(crate) status_callback: Option<String>,
    pub(crate) status_callback_method: Option<String>,
    pub(crate) max_duration: Option<u32>,
}

/// What happened to a room, as Twilio names it in `StatusCallbackEvent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RoomEventKind {
    RoomCreated,
    ParticipantConnected,
    ParticipantDisconnected,
    RoomEnded,
}

impl RoomEventKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RoomEventKind::RoomCreated => "room-created",
            RoomEventKind::ParticipantConnected => "participant-connected",
            RoomEventKind::ParticipantDisconnected => "participant-disconnected",
            RoomEventKind::RoomEnded => "room-ended",
        }
    }
}

/// Something that happened to a room created with a `StatusCallback`, waiting to be sent there.
#[derive(Debug, Clone)]
pub(crate) struct RoomEvent {
    pub(crate) kind: RoomEventKind,
    /// The room's `StatusCallback`.
    pub(crate) url: String,
    /// The room's `StatusCallbackMethod`.
    pub(crate) method: String,
    /// `SequenceNumber`: the room's events counted from 0.
    pub(crate) sequence: u32,
    pub(crate) at: OffsetDateTime,
    /// The room right after the event.
    pub(crate) room: Room,
    /// The participant that connected or disconnected, right after the event.
    pub(crate) participant: Option<Participant>,
}

/// Why a client could not join a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JoinError {
    NoRoom,
    NotInProgress,
    Full(u32),
    BadIdentity,
}

impl std::fmt::Display for JoinError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JoinError::NoRoom => write!(f, "room not found"),
            JoinError::NotInProgress => write!(f, "room is not in progress (53112)"),
            JoinError::Full(max) => write!(f, "room is full: at most {max} participants (53105)"),
            JoinError::BadIdentity => {
                write!(f, "identity must be 1 to {MAX_NAME_LEN} characters")
            }
        }
    }
}

/// A lifecycle event that falls due at some moment.
#[derive(Debug, Clone, Copy)]
enum Due {
    Participant(usize),
    Room(usize),
    Streamer(usize),
    Processor(usize),
}

/// All resources of the stand-in's one account. Vectors stay in creation order.
#[derive(Debug, Default)]
pub(crate) struct State {
    seq: u64,
    pub(crate) rooms: Vec<Room>,
    pub(crate) participants: Vec<Participant>,
    pub(crate) streamers: Vec<PlayerStreamer>,
    pub(crate) processors: Vec<MediaProcessor>,
    /// Events of rooms with a `StatusCallback` waiting to be sent, oldest first.
    pub(crate) room_events: Vec<RoomEvent>,
}

/// The most participants a room of this type holds (Twilio's limits).
fn type_limit(room_type: &str) -> u32 {
    match room_type {
        "go" => 2,
        "group-small" => 4,
        "peer-to-peer" => 10,
        _ => 50,
    }
}

impl State {
    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    // ---- lifecycle ---------------------------------------------------------------------

    /// Applies every timeout and max duration that fell due up to `now`, in time order, so
    /// that cascades (a participant timing out, then its room emptying) happen at the right
    /// moments even after a large clock jump.
    pub(crate) fn advance(&mut self, now: OffsetDateTime) {
        // Every event is a one-way transition, so this bound is never reached in practice.
        let bound = self.rooms.len()
            + self.participants.len()
            + self.streamers.len()
            + self.processors.len()
            + 1;
        for _ in 0..bound {
            let Some((at, due)) = self.next_due(now) else {
                return;
            };
            match due {
                Due::Participant(i) => self.disconnect(i, at),
                Due::Room(i) => self.complete_room(i, at),
                Due::Streamer(i) => self.end_streamer(i, at, MAX_DURATION_EXCEEDED),
                Due::Processor(i) => self.end_processor(i, at, MAX_DURATION_EXCEEDED),
            }
        }
    }

    fn next_due(&self, now: OffsetDateTime) -> Option<(OffsetDateTime, Due)> {
        let mut best: Option<(OffsetDateTime, Due)> = None;
        let mut consider = |at: OffsetDateTime, due: Due| {
            if at <= now && best.is_none_or(|(b, _)| at < b) {
                best = Some((at, due));
            }
        };
        for (i, p) in self.participants.iter().enumerate() {
            if p.status != ParticipantStatus::Connected {
                continue;
            }
            if let Some(room) = self.rooms.iter().find(|r| r.sid == p.room_sid) {
                consider(
                    p.created
                        .saturating_add(secs(room.max_participant_duration)),
                    Due::Participant(i),
                );
            }
        }
        for (i, room) in self.rooms.iter().enumerate() {
            if room.status != RoomStatus::InProgress || self.connected_count(&room.sid) > 0 {
                continue;
            }
            let at = match room.last_left {
                Some(left) => left.saturating_add(minutes(room.empty_room_timeout)),
                None => room
                    .created
                    .saturating_add(minutes(room.unused_room_timeout)),
            };
            consider(at, Due::Room(i));
        }
        for (i, s) in self.streamers.iter().enumerate() {
            if s.status != StreamerStatus::Ended {
                consider(
                    s.created.saturating_add(secs(s.max_duration)),
                    Due::Streamer(i),
                );
            }
        }
        for (i, m) in self.processors.iter().enumerate() {
            if m.status == ProcessorStatus::Started {
                consider(
                    m.created.saturating_add(secs(m.max_duration)),
                    Due::Processor(i),
                );
            }
        }
        best
    }

    // ---- rooms -------------------------------------------------------------------------

    /// A room by RM sid (any status) or by the unique name of an in-progress room, as Twilio
    /// resolves `{RoomSid}` path segments.
    pub(crate) fn find_room(&self, key: &str) -> Option<usize> {
        if is_sid(key, "RM") {
            self.rooms.iter().position(|r| r.sid == key)
        } else {
            self.rooms
                .iter()
                .position(|r| r.status == RoomStatus::InProgress && r.unique_name == key)
        }
    }

    /// Like [`State::find_room`], then falling back to the newest room of that name whatever its
    /// status (for inspection by tests).
    pub(crate) fn find_room_any(&self, key: &str) -> Option<usize> {
        self.find_room(key).or_else(|| {
            self.rooms
                .iter()
                .enumerate()
                .filter(|(_, r)| r.unique_name == key)
                .max_by_key(|(_, r)| r.seq)
                .map(|(i, _)| i)
        })
    }

    pub(crate) fn connected_count(&self, room_sid: &str) -> usize {
        self.participants
            .iter()
            .filter(|p| p.room_sid == room_sid && p.status == ParticipantStatus::Connected)
            .count()
    }

    pub(crate) fn create_room(
        &mut self,
        now: OffsetDateTime,
        new: NewRoom,
    ) -> Result<usize, TwilioError> {
        let room_type = new.room_type.unwrap_or_else(|| "group".to_owned());
        let limit = type_limit(&room_type);
        let max_participants = new.max_participants.unwrap_or(limit);
        if max_participants > limit {
            return Err(TwilioError::invalid(format!(
                "Invalid MaxParticipants: a {room_type} room holds at most {limit}"
            )));
        }
        if let Some(name) = &new.unique_name {
            if name.chars().count() > MAX_NAME_LEN {
                return Err(TwilioError::invalid(format!(
                    "Invalid UniqueName: at most {MAX_NAME_LEN} characters"
                )));
            }
            if self
                .rooms
                .iter()
                .any(|r| r.status == RoomStatus::InProgress && &r.unique_name == name)
            {
                return Err(TwilioError::room_exists());
            }
        }
        let sid = new_sid("RM");
        let seq = self.next_seq();
        let video_codecs = if new.video_codecs.is_empty() {
            if new.audio_only {
                Vec::new()
            } else {
                vec!["VP8".to_owned()]
            }
        } else {
            new.video_codecs
        };
        self.rooms.push(Room {
            seq,
            unique_name: new.unique_name.unwrap_or_else(|| sid.clone()),
            sid,
            status: RoomStatus::InProgress,
            room_type,
            created: now,
            updated: now,
            end_time: None,
            empty_room_timeout: new.empty_room_timeout.unwrap_or(DEFAULT_ROOM_TIMEOUT),
            unused_room_timeout: new.unused_room_timeout.unwrap_or(DEFAULT_ROOM_TIMEOUT),
            max_participants,
            max_participant_duration: new
                .max_participant_duration
                .unwrap_or(DEFAULT_MAX_PARTICIPANT_DURATION),
            requested_max_participant_duration: new.max_participant_duration,
            status_callback: new.status_callback,
            status_callback_method: new
                .status_callback_method
                .unwrap_or_else(|| "POST".to_owned()),
            record_participants_on_connect: new.record_participants_on_connect,
            video_codecs,
            media_region: new.media_region.unwrap_or_else(|| "us1".to_owned()),
            audio_only: new.audio_only,
            large_room: new.large_room,
            last_left: None,
            callbacks_queued: 0,
        });
        let idx = self.rooms.len() - 1;
        self.queue_event(idx, RoomEventKind::RoomCreated, None, now);
        Ok(idx)
    }

    /// `POST /v1/Rooms/{Sid}` with `Status=completed`.
    pub(crate) fn complete_room_via_api(
        &mut self,
        idx: usize,
        now: OffsetDateTime,
    ) -> Result<(), TwilioError> {
        match self.rooms.get(idx) {
            Some(r) if r.status == RoomStatus::InProgress => {
                self.complete_room(idx, now);
                Ok(())
            }
            Some(_) => Err(TwilioError::room_not_in_progress()),
            None => Err(TwilioError::not_found("/Rooms")),
        }
    }

    /// Completes a room at `at`: disconnects its participants and ends the media processors
    /// whose context names it. Its player streamers keep running, as on Twilio.
    pub(crate) fn complete_room(&mut self, idx: usize, at: OffsetDateTime) {
        let Some(room) = self.rooms.get_mut(idx) else {
            return;
        };
        if room.status != RoomStatus::InProgress {
            return;
        }
        room.status = RoomStatus::Completed;
        room.end_time = Some(at);
        room.updated = at;
        let sid = room.sid.clone();
        let connected: Vec<usize> = (0..self.participants.len())
            .filter(|&i| {
                let p = &self.participants[i];
                p.room_sid == sid && p.status == ParticipantStatus::Connected
            })
            .collect();
        for i in connected {
            self.disconnect(i, at);
        }
        let processors: Vec<usize> = (0..self.processors.len())
            .filter(|&i| {
                let m = &self.processors[i];
                m.room_sid.as_deref() == Some(sid.as_str()) && m.status == ProcessorStatus::Started
            })
            .collect();
        for i in processors {
            self.end_processor(i, at, ENDED_BY_ROOM);
        }
        self.queue_event(idx, RoomEventKind::RoomEnded, None, at);
    }

    /// Queues `kind` for room `idx` if the room has a `StatusCallback`, numbering it in the
    /// room's sequence.
    fn queue_event(
        &mut self,
        idx: usize,
        kind: RoomEventKind,
        participant: Option<Participant>,
        at: OffsetDateTime,
    ) {
        let Some(room) = self.rooms.get_mut(idx) else {
            return;
        };
        let Some(url) = room.status_callback.clone() else {
            return;
        };
        let sequence = room.callbacks_queued;
        room.callbacks_queued += 1;
        self.room_events.push(RoomEvent {
            kind,
            url,
            method: room.status_callback_method.clone(),
            sequence,
            at,
            room: room.clone(),
            participant,
        });
    }

    // ---- participants ------------------------------------------------------------------

    /// A participant of a room by PA sid or identity (the connected one first, else the newest).
    pub(crate) fn find_participant(&self, room_sid: &str, key: &str) -> Option<usize> {
        let in_room = |p: &&Participant| p.room_sid == room_sid;
        if is_sid(key, "PA") {
            return self
                .participants
                .iter()
                .position(|p| p.room_sid == room_sid && p.sid == key);
        }
        let matching = || {
            self.participants
                .iter()
                .enumerate()
                .filter(|(_, p)| in_room(p) && p.identity == key)
        };
        matching()
            .find(|(_, p)| p.status == ParticipantStatus::Connected)
            .or_else(|| matching().max_by_key(|(_, p)| p.seq))
            .map(|(i, _)| i)
    }

    /// A client joins `room` (RM sid or in-progress unique name) as `identity`. An identity
    /// already connected there is disconnected first, as Twilio does.
    pub(crate) fn connect(
        &mut self,
        now: OffsetDateTime,
        room: &str,
        identity: &str,
    ) -> Result<String, JoinError> {
        if identity.is_empty() || identity.chars().count() > MAX_NAME_LEN {
            return Err(JoinError::BadIdentity);
        }
        let idx = match self.find_room(room) {
            Some(i) => i,
            None if self.find_room_any(room).is_some() => return Err(JoinError::NotInProgress),
            None => return Err(JoinError::NoRoom),
        };
        let (room_sid, max, status) = {
            let r = &self.rooms[idx];
            (r.sid.clone(), r.max_participants, r.status)
        };
        if status != RoomStatus::InProgress {
            return Err(JoinError::NotInProgress);
        }
        let existing: Vec<usize> = (0..self.participants.len())
            .filter(|&i| {
                let p = &self.participants[i];
                p.room_sid == room_sid
                    && p.identity == identity
                    && p.status == ParticipantStatus::Connected
            })
            .collect();
        let others = self.connected_count(&room_sid) - existing.len();
        if others >= max as usize {
            return Err(JoinError::Full(max));
        }
        for i in existing {
            self.disconnect(i, now);
        }
        let sid = new_sid("PA");
        let seq = self.next_seq();
        self.participants.push(Participant {
            seq,
            sid: sid.clone(),
            room_sid,
            identity: identity.to_owned(),
            status: ParticipantStatus::Connected,
            created: now,
            updated: now,
            end_time: None,
            rules: None,
        });
        let joined = self.participants.last().cloned();
        self.queue_event(idx, RoomEventKind::ParticipantConnected, joined, now);
        Ok(sid)
    }

    /// Disconnects a participant at `at` (no-op if already disconnected).
    pub(crate) fn disconnect(&mut self, idx: usize, at: OffsetDateTime) {
        let Some(p) = self.participants.get_mut(idx) else {
            return;
        };
        if p.status != ParticipantStatus::Connected {
            return;
        }
        p.status = ParticipantStatus::Disconnected;
        p.end_time = Some(at);
        p.updated = at;
        let room_sid = p.room_sid.clone();
        let participant = p.clone();
        if let Some(r) = self.rooms.iter().position(|r| r.sid == room_sid) {
            self.rooms[r].last_left = Some(at);
            self.queue_event(
                r,
                RoomEventKind::ParticipantDisconnected,
                Some(participant),
                at,
            );
        }
    }

    /// Replaces a participant's subscribe rules.
    pub(crate) fn set_rules(&mut self, idx: usize, now: OffsetDateTime, rules: Vec<Value>) {
        if let Some(p) = self.participants.get_mut(idx) {
            let created = p.rules.as_ref().map_or(now, |r| r.created);
            p.rules = Some(RuleSet {
                rules,
                created,
                updated: now,
            });
        }
    }

    // ---- player streamers --------------------------------------------------------------

    pub(crate) fn find_streamer(&self, sid: &str) -> Option<usize> {
        self.streamers.iter().position(|s| s.sid == sid)
    }

    pub(crate) fn create_streamer(
        &mut self,
        now: OffsetDateTime,
        video: bool,
        status_callback: Option<String>,
        status_callback_method: Option<String>,
        max_duration: Option<u32>,
    ) -> usize {
        let seq = self.next_seq();
        self.streamers.push(PlayerStreamer {
            seq,
            sid: new_sid("VJ"),
            status: StreamerStatus::Created,
            ended_reason: None,
            video,
            created: now,
            updated: now,
            status_callback,
            status_callback_method: status_callback_method.unwrap_or_else(|| "POST".to_owned()),
            max_duration: max_duration.unwrap_or(DEFAULT_MAX_DURATION),
            grant: None,
            grants_issued: 0,
        });
        self.streamers.len() - 1
    }

    /// Ends a streamer at `at` (no-op if already ended).
    pub(crate) fn end_streamer(&mut self, idx: usize, at: OffsetDateTime, reason: &str) {
        if let Some(s) = self.streamers.get_mut(idx)
            && s.status != StreamerStatus::Ended
        {
            s.status = StreamerStatus::Ended;
            s.ended_reason = Some(reason.to_owned());
            s.updated = at;
        }
    }

    /// Issues a playback grant; only a started streamer can be watched.
    pub(crate) fn create_grant(
        &mut self,
        idx: usize,
        now: OffsetDateTime,
        ttl: Option<u32>,
        allow_origin: Option<String>,
    ) -> Result<(), TwilioError> {
        let Some(s) = self.streamers.get_mut(idx) else {
            return Err(TwilioError::not_found("/PlayerStreamers"));
        };
        if s.status != StreamerStatus::Started {
            return Err(TwilioError::invalid(format!(
                "PlayerStreamer {} is {}: a PlaybackGrant needs a started PlayerStreamer",
                s.sid,
                s.status.as_str()
            )));
        }
        s.grant = Some(Grant {
            created: now,
            ttl: ttl.unwrap_or(DEFAULT_GRANT_TTL),
            token: random_hex(16),
            allow_origin,
        });
        s.grants_issued = s.grants_issued.saturating_add(1);
        Ok(())
    }

    // ---- media processors --------------------------------------------------------------

    pub(crate) fn find_processor(&self, sid: &str) -> Option<usize> {
        self.processors.iter().position(|m| m.sid == sid)
    }

    /// Creates a started media processor. Its context must name an in-progress room and list
    /// existing, non-ended player streamers that no other started processor feeds; those
    /// streamers become `started`.
    pub(crate) fn create_processor(
        &mut self,
        now: OffsetDateTime,
        new: NewProcessor,
    ) -> Result<usize, TwilioError> {
        if new.extension.trim().is_empty() {
            return Err(TwilioError::invalid("Invalid Extension: must not be empty"));
        }
        let context: Value = serde_json::from_str(&new.extension_context)
            .map_err(|_| TwilioError::invalid("Invalid ExtensionContext: must be a JSON object"))?;
        if !context.is_object() {
            return Err(TwilioError::invalid(
                "Invalid ExtensionContext: must be a JSON object",
            ));
        }
        let room_name = context
            .get("room")
            .and_then(|r| r.get("name"))
            .and_then(Value::as_str)
            .ok_or_else(|| TwilioError::invalid("Invalid ExtensionContext: room.name is required"))?
            .to_owned();
        let room_idx = match self.find_room(&room_name) {
            Some(i) => i,
            None if self.find_room_any(&room_name).is_some() => {
                return Err(TwilioError::room_not_in_progress());
            }
            None => return Err(TwilioError::not_found(&format!("/Rooms/{room_name}"))),
        };
        if self.rooms[room_idx].status != RoomStatus::InProgress {
            return Err(TwilioError::room_not_in_progress());
        }
        let room_sid = self.rooms[room_idx].sid.clone();

        let listed = context
            .get("outputs")
            .and_then(Value::as_array)
            .filter(|a| !a.is_empty())
            .ok_or_else(|| {
                TwilioError::invalid(
                    "Invalid ExtensionContext: outputs must be a non-empty array of PlayerStreamer sids",
                )
            })?;
        let mut outputs: Vec<String> = Vec::new();
        for output in listed {
            let sid = output.as_str().ok_or_else(|| {
                TwilioError::invalid("Invalid ExtensionContext: outputs must be strings")
            })?;
            if !outputs.iter().any(|o| o == sid) {
                outputs.push(sid.to_owned());
            }
        }
        let mut output_idx = Vec::with_capacity(outputs.len());
        for sid in &outputs {
            let i = self
                .find_streamer(sid)
                .ok_or_else(|| TwilioError::not_found(&format!("/PlayerStreamers/{sid}")))?;
            if self.streamers[i].status == StreamerStatus::Ended {
                return Err(TwilioError::invalid(format!(
                    "PlayerStreamer {sid} has ended"
                )));
            }
            let fed = self.processors.iter().any(|m| {
                m.status == ProcessorStatus::Started && m.outputs.iter().any(|o| o == sid)
            });
            if fed {
                return Err(TwilioError::invalid(format!(
                    "PlayerStreamer {sid} already has a started MediaProcessor"
                )));
            }
            output_idx.push(i);
        }

        for i in output_idx {
            let s = &mut self.streamers[i];
            if s.status == StreamerStatus::Created {
                s.status = StreamerStatus::Started;
                s.updated = now;
            }
        }
        let seq = self.next_seq();
        self.processors.push(MediaProcessor {
            seq,
            sid: new_sid("ZX"),
            status: ProcessorStatus::Started,
            ended_reason: None,
            extension: new.extension,
            extension_context: new.extension_context,
            extension_environment: new.extension_environment,
            room_name: Some(room_name),
            room_sid: Some(room_sid),
            outputs,
            created: now,
            updated: now,
            status_callback: new.status_callback,
            status_callback_method: new
                .status_callback_method
                .unwrap_or_else(|| "POST".to_owned()),
            max_duration: new.max_duration.unwrap_or(DEFAULT_MAX_DURATION),
        });
        Ok(self.processors.len() - 1)
    }

    /// Ends a processor at `at` (no-op if already ended).
    pub(crate) fn end_processor(&mut self, idx: usize, at: OffsetDateTime, reason: &str) {
        if let Some(m) = self.processors.get_mut(idx)
            && m.status != ProcessorStatus::Ended
        {
            m.status = ProcessorStatus::Ended;
            m.ended_reason = Some(reason.to_owned());
            m.updated = at;
        }
    }
}
