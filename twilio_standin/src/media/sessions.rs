//! The open media sessions as the HTTP side, the media task, tests and the control API see them
//! ([`MediaSessionInfo`], one per session, with its publications and their mute state), the room
//! status built from them ([`MediaRoomInfo`]), the relay's counters ([`MediaStats`]), and whether
//! a session publishes or watches ([`Role`]). The HTTP side adds a session when it opens one; a
//! `DELETE` or the media task releases it, which disconnects its participant when no other open
//! session holds that participant (the sessions of one meeting participant share it).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use super::access::RoomKind;
use super::sdp::Slot;
use crate::shared::lock;

/// What a published track is, as the room status names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PublicationKind {
    Camera,
    Mic,
    Screen,
}

impl PublicationKind {
    /// The name in JSON (`camera`, `mic`, `screen`).
    pub fn name(self) -> &'static str {
        match self {
            PublicationKind::Camera => "camera",
            PublicationKind::Mic => "mic",
            PublicationKind::Screen => "screen",
        }
    }

    pub(crate) fn of(slot: Slot) -> PublicationKind {
        match slot {
            Slot::Screen => PublicationKind::Screen,
            Slot::Microphone => PublicationKind::Mic,
            Slot::Webcam => PublicationKind::Camera,
        }
    }
}

/// A track a publishing session offered, and whether its page said it is muted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Publication {
    pub kind: PublicationKind,
    pub muted: bool,
}

/// A room's media as `GET /media/rooms/{room}` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MediaRoomInfo {
    /// Open publishing sessions.
    pub publishers: usize,
    /// Open watching sessions.
    pub viewers: usize,
    /// Meeting rooms: every participant with an open session; stream rooms: the publishing
    /// participants. Oldest first.
    pub participants: Vec<MediaParticipantInfo>,
}

/// One participant in [`MediaRoomInfo`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MediaParticipantInfo {
    pub identity: String,
    /// The PA sid.
    pub sid: String,
    /// Camera, mic, screen, as its publishing sessions offered them.
    pub publications: Vec<Publication>,
}

/// Why a mute change was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MuteError {
    NoSession,
    /// The session does not publish this kind of track (or watches).
    NotPublished(PublicationKind),
}

/// One media session, for tests and the control API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MediaSessionInfo {
    /// The id in `Location: /media/sessions/{id}`.
    pub id: String,
    pub room_sid: String,
    pub room_name: String,
    /// `publisher` or `viewer`.
    pub role: String,
    /// `room` (a participant), `live` (through a PlayerStreamer) or `ivs` ([`STAGE_MODE`]).
    pub mode: String,
    pub identity: String,
    /// The participant this session is: in the REST state (room mode), or, for a stage's
    /// publisher (ivs mode), the stage participant (the token's jti, not a Twilio sid).
    pub participant_sid: Option<String>,
    pub player_streamer_sid: Option<String>,
    /// Publishers: `broadcast` (a stream host: screen, microphone, webcam), `camera` or `screen`
    /// (a meeting participant's sessions).
    pub publishes: Option<String>,
    /// Publishers: the tracks the offer carries, with the mute state the page last sent.
    pub publications: Vec<Publication>,
    /// Meeting viewers: the participant (PA sid) whose media the session receives.
    pub watching: Option<String>,
    /// Publishers: when the relay received the first RTP packet (unix ms, real time).
    pub first_packet_at_ms: Option<u64>,
    /// Viewers: when the relay wrote the first RTP packet to it (unix ms, real time).
    pub first_forwarded_at_ms: Option<u64>,
}

/// Relay counters since start, for tests, the control API and the load harness.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MediaStats {
    pub sessions_opened: u64,
    pub sessions_closed: u64,
    /// RTP packets received from publishers.
    pub packets_received: u64,
    /// RTP packets written to viewers.
    pub packets_forwarded: u64,
    pub bytes_forwarded: u64,
    /// Keyframe requests (PLI/FIR) sent to publishers.
    pub keyframe_requests: u64,
    /// Publisher packets not forwarded because their room was stalled (`/__standin/media/stall`).
    pub packets_stalled: u64,
}

/// The counters behind [`MediaStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) sessions_opened: AtomicU64,
    pub(crate) sessions_closed: AtomicU64,
    pub(crate) packets_received: AtomicU64,
    pub(crate) packets_forwarded: AtomicU64,
    pub(crate) bytes_forwarded: AtomicU64,
    pub(crate) keyframe_requests: AtomicU64,
    pub(crate) packets_stalled: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn snapshot(&self) -> MediaStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        MediaStats {
            sessions_opened: get(&self.sessions_opened),
            sessions_closed: get(&self.sessions_closed),
            packets_received: get(&self.packets_received),
            packets_forwarded: get(&self.packets_forwarded),
            bytes_forwarded: get(&self.bytes_forwarded),
            keyframe_requests: get(&self.keyframe_requests),
            packets_stalled: get(&self.packets_stalled),
        }
    }
}

/// Whether a session publishes or watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Publisher,
    Viewer,
}

/// How many ended session ids are remembered (see [`Sessions::ended_recently`]).
const ENDED_REMEMBERED: usize = 1024;

/// [`MediaSessionInfo::mode`] of a session in an IVS stage's room.
pub(crate) const STAGE_MODE: &str = "ivs";

/// The open sessions, oldest first, the ids of the last sessions that ended, and the counters.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    open: Mutex<Vec<MediaSessionInfo>>,
    ended: Mutex<VecDeque<String>>,
    pub(crate) counters: Counters,
}

/// Real time as unix milliseconds.
pub(crate) fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Sessions {
    /// Runs `f` on the open sessions, locked: opening a session decides its participant and adds
    /// it in one step, so a release of the same participant cannot slip in between.
    pub(crate) fn with_open<R>(&self, f: impl FnOnce(&mut Vec<MediaSessionInfo>) -> R) -> R {
        f(&mut lock(&self.open))
    }

    /// Counts a session handed to the media task.
    pub(crate) fn opened(&self) {
        Counters::add(&self.counters.sessions_opened, 1);
    }

    /// Removes session `id`; `None` if it was not open. Its participant is handed to
    /// `disconnect` when no other open session holds it, or always when `whole_participant`
    /// (a meeting participant that dropped). The lock is held meanwhile (see [`Self::with_open`]).
    /// A stage session's participant is never handed over: it is no participant of the REST
    /// state (the relay tells the IVS module when it leaves), and its id is client-chosen.
    pub(crate) fn release(
        &self,
        id: &str,
        whole_participant: bool,
        disconnect: impl FnOnce(&str),
    ) -> Option<MediaSessionInfo> {
        let mut open = lock(&self.open);
        let i = open.iter().position(|s| s.id == id)?;
        let info = open.remove(i);
        let mut ended = lock(&self.ended);
        if ended.len() == ENDED_REMEMBERED {
            ended.pop_front();
        }
        ended.push_back(info.id.clone());
        if info.mode != STAGE_MODE
            && let Some(pa) = info.participant_sid.as_deref()
        {
            let held = open
                .iter()
                .any(|s| s.mode != STAGE_MODE && s.participant_sid.as_deref() == Some(pa));
            if whole_participant || !held {
                disconnect(pa);
            }
        }
        Some(info)
    }

    /// Whether session `id` was open and has ended (one of the last [`ENDED_REMEMBERED`]): a
    /// page's `DELETE` that crosses the relay's own end of the session (the watched participant
    /// left a moment before) finds it already gone, which is what it asked for.
    pub(crate) fn ended_recently(&self, id: &str) -> bool {
        lock(&self.ended).iter().any(|e| e == id)
    }

    pub(crate) fn list(&self) -> Vec<MediaSessionInfo> {
        lock(&self.open).clone()
    }

    pub(crate) fn stats(&self) -> MediaStats {
        self.counters.snapshot()
    }

    /// Records the first packet a publisher sent (`received`) or a viewer was sent.
    pub(crate) fn mark_first_packet(&self, id: &str, received: bool) {
        let now = unix_ms();
        if let Some(s) = lock(&self.open).iter_mut().find(|s| s.id == id) {
            let at = if received {
                &mut s.first_packet_at_ms
            } else {
                &mut s.first_forwarded_at_ms
            };
            at.get_or_insert(now);
        }
    }

    /// Sets the mute state of publications of session `id`, all or nothing, and answers the
    /// session's publications after the change.
    pub(crate) fn set_muted(
        &self,
        id: &str,
        changes: &[(PublicationKind, bool)],
    ) -> Result<Vec<Publication>, MuteError> {
        let mut open = lock(&self.open);
        let s = open
            .iter_mut()
            .find(|s| s.id == id)
            .ok_or(MuteError::NoSession)?;
        if let Some((kind, _)) = changes
            .iter()
            .find(|(kind, _)| !s.publications.iter().any(|p| p.kind == *kind))
        {
            return Err(MuteError::NotPublished(*kind));
        }
        for (kind, muted) in changes {
            for p in s.publications.iter_mut().filter(|p| p.kind == *kind) {
                p.muted = *muted;
            }
        }
        Ok(s.publications.clone())
    }

    /// The room status of `room_sid`.
    pub(crate) fn room(&self, room_sid: &str, kind: RoomKind) -> MediaRoomInfo {
        let open = lock(&self.open);
        let in_room: Vec<&MediaSessionInfo> =
            open.iter().filter(|s| s.room_sid == room_sid).collect();
        let publishers = in_room.iter().filter(|s| s.role == "publisher").count();
        let mut participants: Vec<MediaParticipantInfo> = Vec::new();
        for s in &in_room {
            let Some(sid) = &s.participant_sid else {
                continue;
            };
            if kind == RoomKind::Stream && s.role != "publisher" {
                continue;
            }
            let i = match participants.iter().position(|p| &p.sid == sid) {
                Some(i) => i,
                None => {
                    participants.push(MediaParticipantInfo {
                        identity: s.identity.clone(),
                        sid: sid.clone(),
                        publications: Vec::new(),
                    });
                    participants.len() - 1
                }
            };
            let publications = &mut participants[i].publications;
            for p in &s.publications {
                if !publications.iter().any(|q| q.kind == p.kind) {
                    publications.push(*p);
                }
            }
        }
        for p in &mut participants {
            p.publications.sort_by_key(|p| p.kind);
        }
        MediaRoomInfo {
            publishers,
            viewers: in_room.len() - publishers,
            participants,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(
        id: &str,
        room: &str,
        identity: &str,
        pa: &str,
        publishes: &[Slot],
    ) -> MediaSessionInfo {
        MediaSessionInfo {
            id: id.to_owned(),
            room_sid: room.to_owned(),
            room_name: room.to_owned(),
            role: if publishes.is_empty() {
                "viewer"
            } else {
                "publisher"
            }
            .to_owned(),
            mode: "room".to_owned(),
            identity: identity.to_owned(),
            participant_sid: (!pa.is_empty()).then(|| pa.to_owned()),
            player_streamer_sid: None,
            publishes: None,
            publications: publishes
                .iter()
                .map(|&slot| Publication {
                    kind: PublicationKind::of(slot),
                    muted: false,
                })
                .collect(),
            watching: None,
            first_packet_at_ms: None,
            first_forwarded_at_ms: None,
        }
    }

    fn sessions(list: Vec<MediaSessionInfo>) -> Sessions {
        let s = Sessions::default();
        s.with_open(|open| open.extend(list));
        s
    }

    #[test]
    fn a_participant_leaves_with_its_last_session_or_at_once_when_it_drops() {
        let s = sessions(vec![
            session("MS1", "RM1", "ana", "PA1", &[Slot::Webcam]),
            session("MS2", "RM1", "ana", "PA1", &[]),
            session("MS3", "RM1", "bo", "PA2", &[Slot::Webcam]),
            session("MS4", "RM1", "bo", "PA2", &[Slot::Screen]),
        ]);
        let mut gone = Vec::new();
        assert!(
            s.release("MS1", false, |pa| gone.push(pa.to_owned()))
                .is_some()
        );
        assert!(gone.is_empty(), "MS2 still holds PA1");
        s.release("MS2", false, |pa| gone.push(pa.to_owned()));
        assert_eq!(gone, ["PA1"]);
        assert!(
            s.release("MS2", false, |_| panic!("released twice"))
                .is_none()
        );
        s.release("MS3", true, |pa| gone.push(pa.to_owned()));
        assert_eq!(gone, ["PA1", "PA2"], "a drop takes the whole participant");
    }

    #[test]
    fn a_stage_session_never_disconnects_a_twilio_participant() {
        // A stage publisher whose (client-chosen) participant id is a Twilio participant's sid.
        let mut stage = session("MS1", "ivs-abc", "host", "PA1", &[Slot::Webcam]);
        stage.mode = STAGE_MODE.to_owned();
        let s = sessions(vec![
            stage,
            session("MS2", "RM1", "ana", "PA1", &[Slot::Webcam]),
        ]);
        s.release("MS1", true, |pa| {
            panic!("{pa} disconnected by a stage session")
        });
        let mut gone = Vec::new();
        s.release("MS2", false, |pa| gone.push(pa.to_owned()));
        assert_eq!(gone, ["PA1"]);
    }

    #[test]
    fn the_room_status_lists_people_and_their_publications_in_order() {
        let s = sessions(vec![
            session(
                "MS1",
                "RM1",
                "ana",
                "PA1",
                &[Slot::Webcam, Slot::Microphone],
            ),
            session("MS2", "RM1", "ana", "PA1", &[]),
            session("MS3", "RM1", "bo", "PA2", &[]),
            session("MS4", "RM1", "ana", "PA1", &[Slot::Screen]),
            session("MS5", "RM2", "cy", "PA3", &[Slot::Webcam]),
            session("MS6", "RM1", "live", "", &[]),
        ]);
        assert_eq!(
            s.set_muted("MS1", &[(PublicationKind::Mic, true)]),
            Ok(vec![
                Publication {
                    kind: PublicationKind::Camera,
                    muted: false
                },
                Publication {
                    kind: PublicationKind::Mic,
                    muted: true
                },
            ])
        );
        assert_eq!(
            s.set_muted("MS4", &[(PublicationKind::Mic, true)]),
            Err(MuteError::NotPublished(PublicationKind::Mic))
        );
        assert_eq!(s.set_muted("MS9", &[]), Err(MuteError::NoSession));

        let meeting = s.room("RM1", RoomKind::Meeting);
        assert_eq!((meeting.publishers, meeting.viewers), (2, 3));
        let ana = &meeting.participants[0];
        assert_eq!((ana.identity.as_str(), ana.sid.as_str()), ("ana", "PA1"));
        let kinds: Vec<(PublicationKind, bool)> =
            ana.publications.iter().map(|p| (p.kind, p.muted)).collect();
        assert_eq!(
            kinds,
            [
                (PublicationKind::Camera, false),
                (PublicationKind::Mic, true),
                (PublicationKind::Screen, false)
            ]
        );
        assert_eq!(meeting.participants[1].identity, "bo");
        assert!(meeting.participants[1].publications.is_empty());
        assert_eq!(
            meeting.participants.len(),
            2,
            "the Live viewer is no participant"
        );

        // A stream room shows who publishes, never the audience.
        let stream = s.room("RM1", RoomKind::Stream);
        assert_eq!(stream.participants.len(), 1);
        assert_eq!(stream.participants[0].identity, "ana");
    }
}
