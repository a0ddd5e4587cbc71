//! The media task: one loop that owns the UDP socket(s) and every str0m `Rtc` (in RTP mode),
//! and forwards each RTP packet a publisher sends to the viewers entitled to it.
//!
//! One wake-up at a time: a command from the HTTP side (a new session, a DELETE, shutdown), a
//! change of the REST state, a datagram, or the earliest str0m timeout. Every mutation of an
//! `Rtc` is followed by draining its output to the next timeout (str0m's contract); what the
//! drain yields (RTP packets, keyframe requests) is queued and handled after it.
//!
//! Forwarding keeps the payload, marker, timestamp spacing and header extensions of each packet
//! and rewrites what must differ per viewer: the SSRC (str0m's send stream for that m-line), the
//! payload type (the viewer's number for the same codec), and the sequence number and timestamp
//! (continuous across a change of publisher). A viewer that starts receiving a video slot makes
//! the relay ask the publisher for a keyframe (PLI), and viewers' own PLI/FIR are passed on;
//! both are throttled per publisher track.
//!
//! A viewer's slots are fed by the oldest publishing session allowed to it: in a stream room, any
//! publisher its subscribe rules include; in a meeting room, the one participant it watches (its
//! camera session feeds the microphone and webcam slots, its screen session the screen slot). A
//! stall (`Command::Stall`) holds a room's forwarding back for a while and re-syncs its viewers
//! afterwards. A meeting participant that drops (ICE lost, silence, media stopped) is
//! disconnected with all its sessions.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use serde_json::Value;
use str0m::format::PayloadParams;
use str0m::media::{KeyframeRequestKind, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{RtpPacket, RtpWrite, Ssrc};
use str0m::{Event, IceConnectionState, Input, Output, Rtc};
use tokio::io::ReadBuf;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::access::{self, Access, RoomKind};
use super::rules::{self, TrackRef};
use super::sdp::{Layout, Slot};
use super::sessions::{Counters, Role, Sessions};
use crate::ivs::Ivs;
use crate::shared::Shared;

/// A session whose ICE and DTLS are not up by then is dropped.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// A connected session that hears nothing at all from its peer (no RTP, RTCP or STUN) for this
/// long is over: the tab closed, crashed or lost its network.
const SILENCE_TIMEOUT: Duration = Duration::from_secs(10);
/// A meeting camera session that sent media and then nothing at all for this long has dropped
/// (a page sends RTP all the time, muted tracks included), so others see it go within 2 s,
/// provided another publisher has kept sending for at least as long. When every publisher is
/// quiet at once, the likelier cause is this host (the relay or the browsers starved of CPU),
/// not everyone leaving together; and as they come back one by one, the first back must not make
/// the others look dropped. So another publisher's media counts only once it has flowed without
/// a break for this long too; until then only [`SILENCE_TIMEOUT`] ends a session.
const MEDIA_STOPPED_TIMEOUT: Duration = Duration::from_millis(1500);
/// A gap in one publisher's media longer than this breaks its run of media (pages send audio
/// every 20 ms and video many times a second).
const MEDIA_GAP: Duration = Duration::from_millis(500);
/// At most this many datagrams are read in one go before the loop looks at anything else.
const READ_BATCH: usize = 256;
/// How often the REST state is re-read even without a change notification (clock-driven
/// expiry such as MaxParticipantDuration happens without any request).
const REFRESH_EVERY: Duration = Duration::from_millis(250);
/// At most one keyframe request per publisher track in this interval; later ones are deferred.
const KEYFRAME_GAP: Duration = Duration::from_millis(250);
/// Largest datagram read.
const MAX_DATAGRAM: usize = 2048;

pub(crate) enum Command {
    Add(Box<NewSession>),
    End {
        id: String,
        why: End,
    },
    /// Hold back the forwarding of a room's media until `until` (an earlier time ends a stall).
    Stall {
        room_sid: String,
        until: Instant,
    },
    Shutdown,
}

/// A published track's name and sid, for subscribe rules.
#[derive(Debug, Clone)]
pub(crate) struct Track {
    pub(crate) name: String,
    pub(crate) sid: String,
}

/// A session the HTTP side negotiated, handed to the task.
pub(crate) struct NewSession {
    pub(crate) id: String,
    pub(crate) rtc: Rtc,
    pub(crate) role: Role,
    pub(crate) access: Access,
    pub(crate) room_sid: String,
    pub(crate) identity: String,
    pub(crate) participant_sid: Option<String>,
    pub(crate) room_kind: RoomKind,
    /// Which slots the m-lines carry (watching sessions: [`Layout::Broadcast`]).
    pub(crate) layout: Layout,
    /// Meeting viewers: the participant (PA sid) watched.
    pub(crate) target: Option<String>,
    /// The m-line of each slot.
    pub(crate) mids: [Option<Mid>; 3],
    /// Publishers: the track in each slot.
    pub(crate) tracks: [Option<Track>; 3],
}

/// Why a session ended (for the log, and whether a meeting participant dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    Deleted,
    /// A newer session of the same meeting participant took its place.
    Replaced,
    Disconnected,
    /// The meeting participant it watched disconnected.
    PublisherLeft,
    IceDisconnected,
    RemoteClosed,
    NeverConnected,
    Silent,
    MediaStopped,
    Failed,
    Shutdown,
}

impl End {
    fn describe(self) -> &'static str {
        match self {
            End::Deleted => "DELETE",
            End::Replaced => "replaced by a newer session of the participant",
            End::Disconnected => "participant disconnected, room ended or stream ended",
            End::PublisherLeft => "the participant it watched left",
            End::IceDisconnected => "ICE disconnected",
            End::RemoteClosed => "peer closed the connection",
            End::NeverConnected => "ICE/DTLS never connected",
            End::Silent => "nothing received for 10 s",
            End::MediaStopped => "media stopped (nothing received for 1.5 s)",
            End::Failed => "WebRTC error",
            End::Shutdown => "stand-in stopping",
        }
    }

    /// The peer is gone without a word: in a meeting, its whole participant is.
    fn is_drop(self) -> bool {
        matches!(self, End::IceDisconnected | End::Silent | End::MediaStopped)
    }
}

/// A viewer's send side of one slot: which publisher track feeds it and how its numbering maps.
#[derive(Debug, Default)]
struct Out {
    /// Publisher session key and SSRC currently forwarded.
    source: Option<(u64, Ssrc)>,
    /// (publisher PT, viewer PT) for the current source.
    pt: Option<(Pt, Pt)>,
    seq_delta: u64,
    ts_delta: u32,
    /// Source packets older than the sync point are dropped (they would collide).
    sync_seq: u64,
    /// Last sequence number and timestamp written, when, and the clock rate.
    last: Option<(u64, u32, Instant, u32)>,
    warned_codec: bool,
}

impl Out {
    /// Starts mapping a new source so the viewer sees one continuous stream. True if this was
    /// a change (the caller then asks for a keyframe).
    fn sync(&mut self, from: u64, pkt: &RtpPacket, now: Instant) -> bool {
        if self.source == Some((from, pkt.header.ssrc)) {
            return false;
        }
        let in_seq = *pkt.seq_no;
        let (out_seq, out_ts) = match self.last {
            // A first sequence number with a non-zero rollover count would need signalling.
            None => (in_seq & 0xffff, pkt.header.timestamp),
            Some((seq, ts, at, rate)) => {
                let ticks = now.saturating_duration_since(at).as_secs_f64() * f64::from(rate);
                (seq + 1, ts.wrapping_add((ticks as u32).max(1)))
            }
        };
        self.seq_delta = out_seq.wrapping_sub(in_seq);
        self.ts_delta = out_ts.wrapping_sub(pkt.header.timestamp);
        self.sync_seq = in_seq;
        self.source = Some((from, pkt.header.ssrc));
        self.pt = None;
        true
    }

    fn map(&mut self, pkt: &RtpPacket, now: Instant, clock_rate: u32) -> Option<(u64, u32)> {
        let in_seq = *pkt.seq_no;
        if in_seq < self.sync_seq {
            return None;
        }
        let seq = in_seq.wrapping_add(self.seq_delta);
        let ts = pkt.header.timestamp.wrapping_add(self.ts_delta);
        if self.last.is_none_or(|(last, ..)| seq > last) {
            self.last = Some((seq, ts, now, clock_rate));
        }
        Some((seq, ts))
    }

    /// The viewer's payload type for the publisher's codec, if the viewer offered that codec.
    fn payload_type(&mut self, rtc: &Rtc, mid: Mid, params: &PayloadParams) -> Option<Pt> {
        if let Some((from, to)) = self.pt
            && from == params.pt()
        {
            return Some(to);
        }
        let offered = rtc.media(mid)?.remote_pts();
        let config = rtc.codec_config();
        let spec = params.spec();
        let best = config
            .match_params(*params)
            .filter(|p| offered.contains(&p.pt()))
            .or_else(|| {
                config.find(|p| {
                    offered.contains(&p.pt())
                        && p.spec().codec == spec.codec
                        && p.spec().clock_rate == spec.clock_rate
                })
            })
            .map(PayloadParams::pt);
        match best {
            Some(to) => self.pt = Some((params.pt(), to)),
            None if !self.warned_codec => {
                self.warned_codec = true;
                tracing::warn!(
                    "media: a viewer did not offer {:?}/{}, the publisher's codec; nothing forwarded",
                    spec.codec,
                    spec.clock_rate.get()
                );
            }
            None => {}
        }
        best
    }
}

/// Throttle state of keyframe requests to one publisher track.
#[derive(Debug, Default, Clone, Copy)]
struct KeyframeThrottle {
    last: Option<Instant>,
    pending: Option<KeyframeRequestKind>,
}

struct Session {
    key: u64,
    id: String,
    rtc: Rtc,
    role: Role,
    access: Access,
    room_sid: String,
    identity: String,
    participant_sid: Option<String>,
    room_kind: RoomKind,
    layout: Layout,
    target: Option<String>,
    mids: [Option<Mid>; 3],
    tracks: [Option<Track>; 3],
    created: Instant,
    last_heard: Instant,
    next_timeout: Instant,
    connected: bool,
    ending: Option<End>,
    /// Publishers: an RTP packet arrived (arms the media-stopped rule of meeting cameras).
    heard_media: bool,
    /// Publishers: when the last RTP packet arrived.
    last_media: Instant,
    /// Publishers: when the current run of media began (no gap over [`MEDIA_GAP`] since).
    media_since: Instant,
    /// The first packet received (publishers) or forwarded (viewers) was recorded.
    first_recorded: bool,
    /// Publishers: SSRC to slot, learnt from the first packets.
    ssrc_slots: Vec<(Ssrc, Option<Slot>)>,
    keyframes: [KeyframeThrottle; 3],
    /// Viewers: the publisher session feeding each slot, and the send mapping.
    sources: [Option<u64>; 3],
    outs: [Out; 3],
    /// Room-mode viewers: the REST subscribe rules (`None`: never set, receives nothing).
    rules: Option<Vec<Value>>,
}

impl Session {
    fn end(&mut self, why: End) {
        if self.ending.is_none() {
            self.ending = Some(why);
        }
    }

    /// A meeting camera session that sent media: its silence means the tab is gone.
    fn media_stop_is_drop(&self) -> bool {
        self.heard_media
            && self.connected
            && self.role == Role::Publisher
            && self.room_kind == RoomKind::Meeting
            && self.layout == Layout::Camera
    }

    fn slot_of_mid(&self, mid: Mid) -> Option<Slot> {
        Slot::ALL
            .into_iter()
            .find(|s| self.mids[s.index()] == Some(mid))
    }

    fn slot_of_ssrc(&mut self, ssrc: Ssrc) -> Option<Slot> {
        if let Some((_, slot)) = self.ssrc_slots.iter().find(|(s, _)| *s == ssrc) {
            return *slot;
        }
        let mid = self.rtc.direct_api().stream_rx(&ssrc).map(|rx| rx.mid());
        let slot = mid.and_then(|m| self.slot_of_mid(m));
        if mid.is_some() {
            self.ssrc_slots.push((ssrc, slot));
        }
        slot
    }
}

/// Work found while draining one `Rtc`, done once the drain is over. Packets stay inline: the
/// queue is short and reused, so boxing would only add an allocation per packet.
#[allow(clippy::large_enum_variant)]
enum Work {
    Media {
        from: u64,
        slot: Slot,
        pkt: RtpPacket,
    },
    Keyframe {
        viewer: u64,
        slot: Slot,
        kind: KeyframeRequestKind,
    },
}

struct Io {
    sockets: Vec<UdpSocket>,
    addrs: Vec<SocketAddr>,
}

impl Io {
    fn send(&self, from: SocketAddr, to: SocketAddr, data: &[u8]) {
        let i = self.addrs.iter().position(|a| *a == from).unwrap_or(0);
        // UDP: a full socket buffer drops the datagram, as the network would.
        if let Err(e) = self.sockets[i].try_send_to(data, to)
            && e.kind() != io::ErrorKind::WouldBlock
        {
            tracing::debug!("media: send to {to} failed: {e}");
        }
    }
}

struct Relay {
    shared: Arc<Shared>,
    /// Whether IVS stages and their publishers are still there; told when one leaves.
    ivs: Arc<Ivs>,
    sessions_open: Arc<Sessions>,
    io: Io,
    sessions: Vec<Session>,
    work: VecDeque<Work>,
    next_key: u64,
    /// Rooms (sid) whose forwarding is held back, and until when.
    stalls: Vec<(String, Instant)>,
}

/// One publisher's media, as the media-stopped rule sees it: its current run of media and when
/// that run's last packet arrived.
#[derive(Clone, Copy)]
struct MediaRun {
    key: u64,
    since: Instant,
    last: Instant,
}

/// Whether a publisher other than `key` is still sending (a packet within [`MEDIA_GAP`]) and has
/// been for [`MEDIA_STOPPED_TIMEOUT`] without a break: one camera's silence is a drop only while
/// the others' media flows, and not while everyone is coming back from a shared quiet.
fn others_sending(runs: &[MediaRun], key: u64, now: Instant) -> bool {
    runs.iter().any(|r| {
        r.key != key
            && now.saturating_duration_since(r.last) <= MEDIA_GAP
            && now.saturating_duration_since(r.since) >= MEDIA_STOPPED_TIMEOUT
    })
}

/// Drains `s` to its next timeout: transmits, and turns events into work.
fn drain(s: &mut Session, io: &Io, work: &mut VecDeque<Work>) {
    loop {
        if !s.rtc.is_alive() {
            s.end(End::RemoteClosed);
            return;
        }
        let output = match s.rtc.poll_output() {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!("media: session {} failed: {e}", s.id);
                s.end(End::Failed);
                return;
            }
        };
        match output {
            Output::Timeout(at) => {
                s.next_timeout = at;
                return;
            }
            Output::Transmit(t) => io.send(t.source, t.destination, &t.contents),
            Output::Event(event) => match event {
                Event::Connected => s.connected = true,
                // While connecting, failed pairs are normal (the browser's own checks may still
                // arrive); the connect timeout covers a peer that never makes it.
                Event::IceConnectionStateChange(IceConnectionState::Disconnected)
                    if s.connected =>
                {
                    s.end(End::IceDisconnected);
                }
                Event::Closed => s.end(End::RemoteClosed),
                Event::RtpPacket(pkt) if s.role == Role::Publisher => {
                    if !s.heard_media
                        || s.last_heard.saturating_duration_since(s.last_media) > MEDIA_GAP
                    {
                        s.media_since = s.last_heard;
                    }
                    s.heard_media = true;
                    s.last_media = s.last_heard;
                    if let Some(slot) = s.slot_of_ssrc(pkt.header.ssrc) {
                        work.push_back(Work::Media {
                            from: s.key,
                            slot,
                            pkt,
                        });
                    }
                }
                Event::KeyframeRequest(req) if s.role == Role::Viewer => {
                    if let Some(slot) = s.slot_of_mid(req.mid) {
                        work.push_back(Work::Keyframe {
                            viewer: s.key,
                            slot,
                            kind: req.kind,
                        });
                    }
                }
                _ => {}
            },
        }
    }
}

/// After `close()`: sends what is left (RTCP BYE, DTLS close_notify) and stops.
fn drain_closing(s: &mut Session, io: &Io) {
    for _ in 0..64 {
        if !s.rtc.is_alive() {
            return;
        }
        match s.rtc.poll_output() {
            Ok(Output::Transmit(t)) => io.send(t.source, t.destination, &t.contents),
            Ok(Output::Event(_)) => {}
            Ok(Output::Timeout(_)) | Err(_) => return,
        }
    }
}

impl Relay {
    fn index(&self, key: u64) -> Option<usize> {
        self.sessions.iter().position(|s| s.key == key)
    }

    fn add(&mut self, new: NewSession) {
        let now = Instant::now();
        self.next_key += 1;
        let mut s = Session {
            key: self.next_key,
            id: new.id,
            rtc: new.rtc,
            role: new.role,
            access: new.access,
            room_sid: new.room_sid,
            identity: new.identity,
            participant_sid: new.participant_sid,
            room_kind: new.room_kind,
            layout: new.layout,
            target: new.target,
            mids: new.mids,
            tracks: new.tracks,
            created: now,
            last_heard: now,
            next_timeout: now,
            connected: false,
            ending: None,
            heard_media: false,
            last_media: now,
            media_since: now,
            first_recorded: false,
            ssrc_slots: Vec::new(),
            keyframes: [KeyframeThrottle::default(); 3],
            sources: [None; 3],
            outs: Default::default(),
            rules: None,
        };
        tracing::info!(
            "media: session {} opened ({:?} {} in {})",
            s.id,
            s.role,
            s.identity,
            s.room_sid
        );
        drain(&mut s, &self.io, &mut self.work);
        self.sessions.push(s);
        self.refresh();
    }

    fn receive(&mut self, socket: usize, source: SocketAddr, data: &[u8]) {
        let Ok(contents) = data.try_into() else {
            return;
        };
        let now = Instant::now();
        let input = Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source,
                destination: self.io.addrs[socket],
                contents,
            },
        );
        let Some(s) = self
            .sessions
            .iter_mut()
            .find(|s| s.ending.is_none() && s.rtc.accepts(&input))
        else {
            return;
        };
        s.last_heard = now;
        if let Err(e) = s.rtc.handle_input(input) {
            tracing::debug!("media: session {}: bad input: {e}", s.id);
        }
        drain(s, &self.io, &mut self.work);
    }

    /// Reads what is waiting on the sockets (a bounded batch), so the silence rules below judge
    /// what arrived, not what the loop had no time to read. Says whether the sockets were
    /// emptied: while a backlog remains, nobody's silence can be judged.
    fn read_pending(&mut self, buf: &mut [u8]) -> bool {
        let mut read = 0;
        for i in 0..self.io.sockets.len() {
            while read < READ_BATCH {
                match self.io.sockets[i].try_recv_from(buf) {
                    Ok((len, source)) => {
                        read += 1;
                        self.receive(i, source, &buf[..len]);
                        self.process_work();
                    }
                    Err(e) => {
                        if e.kind() != io::ErrorKind::WouldBlock {
                            tracing::debug!("media: receive failed: {e}");
                        }
                        break;
                    }
                }
            }
        }
        read < READ_BATCH
    }

    /// Holds back room `room_sid`'s forwarding until `until`.
    fn stall(&mut self, room_sid: String, until: Instant) {
        tracing::info!("media: room {room_sid} stalled until {until:?}");
        self.stalls.retain(|(r, _)| *r != room_sid);
        self.stalls.push((room_sid, until));
    }

    fn stalled(&self, room_sid: &str, now: Instant) -> bool {
        self.stalls
            .iter()
            .any(|(r, until)| r == room_sid && now < *until)
    }

    /// Ends the stalls that are over: the room's viewers re-sync to their sources (continuous
    /// numbering, and a keyframe request with the next packet), and the silence clocks restart.
    fn end_stalls(&mut self, now: Instant) {
        let (over, on): (Vec<_>, Vec<_>) =
            self.stalls.drain(..).partition(|(_, until)| *until <= now);
        self.stalls = on;
        for (room, _) in over {
            tracing::info!("media: room {room} stall over");
            for s in self.sessions.iter_mut().filter(|s| s.room_sid == room) {
                s.last_heard = s.last_heard.max(now);
                for out in &mut s.outs {
                    out.source = None;
                }
            }
        }
    }

    /// Feeds `now` to every session whose timeout fell due, sends deferred keyframe requests,
    /// and ends sessions that never connected, went silent or (meeting cameras) stopped sending.
    /// `caught_up`: the sockets were emptied, so a short silence means nothing arrived (the
    /// 1.5 s media-stopped rule waits for it; the 10 s silence rule does not).
    fn timeouts(&mut self, now: Instant, caught_up: bool) {
        self.end_stalls(now);
        let media_runs: Vec<MediaRun> = self
            .sessions
            .iter()
            .filter(|s| s.heard_media && s.ending.is_none())
            .map(|s| MediaRun {
                key: s.key,
                since: s.media_since,
                last: s.last_media,
            })
            .collect();
        for s in &mut self.sessions {
            if s.ending.is_some() {
                continue;
            }
            if s.next_timeout <= now {
                if let Err(e) = s.rtc.handle_input(Input::Timeout(now)) {
                    tracing::debug!("media: session {}: {e}", s.id);
                }
                drain(s, &self.io, &mut self.work);
            }
            // A stall of forwarding must not end anyone: the room's silence clocks wait.
            let stalled = self.stalls.iter().any(|(r, _)| *r == s.room_sid);
            let quiet = now.saturating_duration_since(s.last_heard);
            if !s.connected && now.saturating_duration_since(s.created) > CONNECT_TIMEOUT {
                s.end(End::NeverConnected);
            } else if stalled {
                continue;
            } else if s.connected && quiet > SILENCE_TIMEOUT {
                s.end(End::Silent);
            } else if s.media_stop_is_drop()
                && caught_up
                && quiet >= MEDIA_STOPPED_TIMEOUT
                && others_sending(&media_runs, s.key, now)
            {
                s.end(End::MediaStopped);
            }
        }
        let deferred: Vec<(u64, Slot, KeyframeRequestKind)> = self
            .sessions
            .iter()
            .flat_map(|s| {
                Slot::ALL.into_iter().filter_map(move |slot| {
                    let k = s.keyframes[slot.index()];
                    let due = k
                        .last
                        .is_none_or(|t| now.saturating_duration_since(t) >= KEYFRAME_GAP);
                    k.pending.filter(|_| due).map(|kind| (s.key, slot, kind))
                })
            })
            .collect();
        for (key, slot, kind) in deferred {
            self.request_keyframe(key, slot, kind);
        }
    }

    /// The earliest moment something needs doing.
    fn next_deadline(&self) -> Instant {
        let now = Instant::now();
        let mut at = now + Duration::from_secs(1);
        for (_, until) in &self.stalls {
            at = at.min(*until);
        }
        for s in &self.sessions {
            at = at.min(s.next_timeout);
            // Once passed, the rule waits on others' media: the 1 s cap looks again.
            let media_stop = s.last_heard + MEDIA_STOPPED_TIMEOUT;
            if s.media_stop_is_drop() && s.ending.is_none() && media_stop > now {
                at = at.min(media_stop);
            }
            for k in &s.keyframes {
                if k.pending.is_some() {
                    at = at.min(k.last.map_or(at, |t| t + KEYFRAME_GAP));
                }
            }
        }
        at
    }

    /// Re-reads the REST state: ends sessions whose participant, room or Live stream is gone,
    /// takes the viewers' current subscribe rules, and decides which publisher feeds each slot
    /// of each viewer.
    fn refresh(&mut self) {
        let shared = self.shared.clone();
        shared.with_state(|state, _| {
            for s in &mut self.sessions {
                if s.ending.is_some() {
                    continue;
                }
                let alive = match (&s.participant_sid, &s.access) {
                    // A publisher's participant_sid is its stage participant id.
                    (participant, Access::Stage { stage_id }) => self
                        .ivs
                        .alive(stage_id, participant.as_deref().map(|p| (p, s.id.as_str()))),
                    (Some(pa), _) => access::participant_connected(state, pa),
                    (None, Access::Live { streamer_sid }) => {
                        access::live_feed(state, &s.room_sid, streamer_sid)
                    }
                    (None, Access::Room) => false,
                };
                if !alive {
                    s.end(End::Disconnected);
                    continue;
                }
                if let Some(target) = &s.target
                    && !access::participant_connected(state, target)
                {
                    s.end(End::PublisherLeft);
                    continue;
                }
                if s.role == Role::Viewer && s.access == Access::Room {
                    let p = state
                        .participants
                        .iter()
                        .find(|p| Some(&p.sid) == s.participant_sid.as_ref());
                    s.rules = p.and_then(|p| p.rules.as_ref()).map(|r| r.rules.clone());
                }
            }
        });

        struct Publisher<'a> {
            key: u64,
            room: &'a str,
            identity: &'a str,
            sid: &'a str,
            tracks: &'a [Option<Track>; 3],
        }
        let mut choices: Vec<(usize, [Option<u64>; 3])> = Vec::new();
        {
            let publishers: Vec<Publisher<'_>> = self
                .sessions
                .iter()
                .filter(|s| s.role == Role::Publisher && s.ending.is_none())
                .map(|s| Publisher {
                    key: s.key,
                    room: &s.room_sid,
                    identity: &s.identity,
                    sid: s.participant_sid.as_deref().unwrap_or(""),
                    tracks: &s.tracks,
                })
                .collect();
            for (i, v) in self.sessions.iter().enumerate() {
                if v.role != Role::Viewer || v.ending.is_some() {
                    continue;
                }
                let mut chosen = [None; 3];
                for slot in Slot::ALL {
                    chosen[slot.index()] = publishers
                        .iter()
                        .find(|p| {
                            if p.room != v.room_sid
                                || v.target.as_deref().is_some_and(|t| t != p.sid)
                            {
                                return false;
                            }
                            let Some(track) = &p.tracks[slot.index()] else {
                                return false;
                            };
                            match (&v.access, &v.rules) {
                                (Access::Live { .. } | Access::Stage { .. }, _) => true,
                                // Twilio's default for a group room is "subscribe to all"; the
                                // product's stream viewers get rules from `subscribe` instead.
                                (Access::Room, None) => v.room_kind == RoomKind::Meeting,
                                (Access::Room, Some(rules)) => rules::subscribes(
                                    rules,
                                    TrackRef {
                                        publisher_identity: p.identity,
                                        publisher_sid: p.sid,
                                        kind: slot.kind(),
                                        name: &track.name,
                                        sid: &track.sid,
                                    },
                                ),
                            }
                        })
                        .map(|p| p.key);
                }
                choices.push((i, chosen));
            }
        }
        for (i, chosen) in choices {
            let v = &mut self.sessions[i];
            for slot in Slot::ALL {
                let n = slot.index();
                if v.sources[n] != chosen[n] {
                    v.sources[n] = chosen[n];
                    // The next packet of the new source re-syncs the numbering.
                    v.outs[n].source = None;
                }
            }
        }
    }

    fn process_work(&mut self) {
        while let Some(work) = self.work.pop_front() {
            match work {
                Work::Media { from, slot, pkt } => self.forward(from, slot, &pkt),
                Work::Keyframe { viewer, slot, kind } => {
                    let source = self
                        .index(viewer)
                        .and_then(|i| self.sessions[i].sources[slot.index()]);
                    if let Some(publisher) = source {
                        self.request_keyframe(publisher, slot, kind);
                    }
                }
            }
        }
    }

    /// Writes one publisher packet to every viewer whose `slot` that publisher feeds.
    fn forward(&mut self, from: u64, slot: Slot, pkt: &RtpPacket) {
        let Some(pi) = self.index(from) else {
            return;
        };
        Counters::add(&self.sessions_open.counters.packets_received, 1);
        if !self.sessions[pi].first_recorded {
            self.sessions[pi].first_recorded = true;
            self.sessions_open
                .mark_first_packet(&self.sessions[pi].id, true);
        }
        let now = Instant::now();
        if self.stalled(&self.sessions[pi].room_sid, now) {
            Counters::add(&self.sessions_open.counters.packets_stalled, 1);
            return;
        }
        let params = self.sessions[pi]
            .rtc
            .codec_config()
            .find(|p| p.pt() == pkt.header.payload_type)
            .copied();
        let Some(params) = params else {
            return;
        };
        let clock_rate = params.spec().clock_rate.get();
        let room = self.sessions[pi].room_sid.clone();
        let mut wants_keyframe = false;
        let (mut packets, mut bytes) = (0u64, 0u64);
        for v in &mut self.sessions {
            let n = slot.index();
            if v.role != Role::Viewer
                || !v.connected
                || v.ending.is_some()
                || v.sources[n] != Some(from)
                || v.room_sid != room
            {
                continue;
            }
            let Some(mid) = v.mids[n] else {
                continue;
            };
            let Some(pt) = v.outs[n].payload_type(&v.rtc, mid, &params) else {
                continue;
            };
            if v.outs[n].sync(from, pkt, now) && slot.is_video() {
                wants_keyframe = true;
            }
            let Some((seq, ts)) = v.outs[n].map(pkt, now, clock_rate) else {
                continue;
            };
            let mut ext = pkt.header.ext_vals.clone();
            ext.mid = None;
            ext.rid = None;
            ext.rid_repair = None;
            ext.transport_cc = None;
            let mut api = v.rtc.direct_api();
            let Some(tx) = api.stream_tx_by_mid(mid, None) else {
                continue;
            };
            tx.write_rtp(
                RtpWrite::new(pt, seq.into(), ts, pkt.timestamp, pkt.payload.clone())
                    .marker(pkt.header.marker)
                    .ext_vals(ext)
                    .nackable(slot.is_video()),
            );
            packets += 1;
            bytes += pkt.payload.len() as u64;
            if !v.first_recorded {
                v.first_recorded = true;
                self.sessions_open.mark_first_packet(&v.id, false);
            }
            drain(v, &self.io, &mut self.work);
        }
        Counters::add(&self.sessions_open.counters.packets_forwarded, packets);
        Counters::add(&self.sessions_open.counters.bytes_forwarded, bytes);
        if wants_keyframe {
            self.request_keyframe(from, slot, KeyframeRequestKind::Pli);
        }
    }

    /// Asks publisher `key` for a keyframe on `slot`, at most once per [`KEYFRAME_GAP`].
    fn request_keyframe(&mut self, key: u64, slot: Slot, kind: KeyframeRequestKind) {
        let Some(i) = self.index(key) else {
            return;
        };
        let now = Instant::now();
        let p = &mut self.sessions[i];
        let n = slot.index();
        if p.ending.is_some() {
            return;
        }
        let throttle = &mut p.keyframes[n];
        if throttle
            .last
            .is_some_and(|t| now.saturating_duration_since(t) < KEYFRAME_GAP)
        {
            // FIR is the stronger request; keep it if either asked for it.
            if throttle.pending != Some(KeyframeRequestKind::Fir) {
                throttle.pending = Some(kind);
            }
            return;
        }
        let Some(mid) = p.mids[n] else {
            return;
        };
        let mut api = p.rtc.direct_api();
        match api.stream_rx_by_mid(mid, None) {
            Some(rx) => {
                rx.request_keyframe(kind);
                p.keyframes[n] = KeyframeThrottle {
                    last: Some(now),
                    pending: None,
                };
                Counters::add(&self.sessions_open.counters.keyframe_requests, 1);
                drain(p, &self.io, &mut self.work);
            }
            // No packet yet on that track: ask again once it flows.
            None => {
                p.keyframes[n] = KeyframeThrottle {
                    last: Some(now),
                    pending: Some(kind),
                };
            }
        }
    }

    /// Removes ended sessions: closes their peer connection, forgets them, and disconnects
    /// their participant.
    fn sweep(&mut self) {
        let mut ended_any = false;
        let mut i = 0;
        while i < self.sessions.len() {
            if self.sessions[i].ending.is_none() {
                i += 1;
                continue;
            }
            let mut s = self.sessions.remove(i);
            self.finish(&mut s);
            ended_any = true;
        }
        if ended_any {
            // Viewers fed by a publisher that left look for another.
            self.refresh();
        }
    }

    fn finish(&mut self, s: &mut Session) {
        let why = s.ending.unwrap_or(End::Shutdown);
        if s.rtc.is_alive() {
            let _ = s.rtc.close();
            drain_closing(s, &self.io);
        }
        // A meeting participant that dropped is gone with all its sessions; otherwise the
        // participant leaves with its last session.
        let whole_participant = s.room_kind == RoomKind::Meeting && why.is_drop();
        let shared = &self.shared;
        self.sessions_open.release(&s.id, whole_participant, |pa| {
            shared.disconnect_participant_sid(pa);
        });
        // A stage publisher leaves the stage (its session ends with the last one).
        if let (Access::Stage { stage_id }, Some(participant)) = (&s.access, &s.participant_sid) {
            self.ivs.left(stage_id, participant, &s.id);
        }
        Counters::add(&self.sessions_open.counters.sessions_closed, 1);
        tracing::info!(
            "media: session {} ({:?} {}) ended: {}",
            s.id,
            s.role,
            s.identity,
            why.describe()
        );
    }

    fn end_by_id(&mut self, id: &str, why: End) {
        if let Some(s) = self.sessions.iter_mut().find(|s| s.id == id) {
            s.end(why);
        }
    }

    fn shutdown(&mut self) {
        for s in &mut self.sessions {
            s.end(End::Shutdown);
        }
        self.sweep();
    }
}

/// Waits for a datagram on any socket: `(socket index, length, source)`.
async fn recv_any(
    sockets: &[UdpSocket],
    buf: &mut [u8],
) -> (usize, io::Result<(usize, SocketAddr)>) {
    std::future::poll_fn(|cx| {
        for (i, socket) in sockets.iter().enumerate() {
            let mut read = ReadBuf::new(buf);
            match socket.poll_recv_from(cx, &mut read) {
                Poll::Ready(Ok(source)) => {
                    return Poll::Ready((i, Ok((read.filled().len(), source))));
                }
                Poll::Ready(Err(e)) => return Poll::Ready((i, Err(e))),
                Poll::Pending => {}
            }
        }
        Poll::Pending
    })
    .await
}

enum Woke {
    Command(Option<Command>),
    Changed,
    Datagram(usize, io::Result<(usize, SocketAddr)>),
    Timer,
}

/// The media task.
pub(crate) async fn run(
    shared: Arc<Shared>,
    ivs: Arc<Ivs>,
    sessions_open: Arc<Sessions>,
    sockets: Vec<UdpSocket>,
    addrs: Vec<SocketAddr>,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let mut relay = Relay {
        shared,
        ivs,
        sessions_open,
        io: Io { sockets, addrs },
        sessions: Vec::new(),
        work: VecDeque::new(),
        next_key: 0,
        stalls: Vec::new(),
    };
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut next_refresh = Instant::now() + REFRESH_EVERY;
    loop {
        let deadline = relay.next_deadline().min(next_refresh);
        let woke = tokio::select! {
            biased;
            command = commands.recv() => Woke::Command(command),
            () = relay.shared.changed() => Woke::Changed,
            (i, got) = recv_any(&relay.io.sockets, &mut buf) => Woke::Datagram(i, got),
            () = tokio::time::sleep_until(deadline.into()) => Woke::Timer,
        };
        match woke {
            Woke::Command(None | Some(Command::Shutdown)) => {
                relay.shutdown();
                return;
            }
            Woke::Command(Some(Command::Add(new))) => relay.add(*new),
            Woke::Command(Some(Command::End { id, why })) => relay.end_by_id(&id, why),
            Woke::Command(Some(Command::Stall { room_sid, until })) => {
                relay.stall(room_sid, until);
            }
            Woke::Changed => relay.refresh(),
            Woke::Datagram(i, Ok((len, source))) => relay.receive(i, source, &buf[..len]),
            Woke::Datagram(_, Err(e)) => tracing::debug!("media: receive failed: {e}"),
            Woke::Timer => {}
        }
        relay.process_work();
        let caught_up = relay.read_pending(&mut buf);
        let now = Instant::now();
        relay.timeouts(now, caught_up);
        if now >= next_refresh {
            relay.refresh();
            next_refresh = now + REFRESH_EVERY;
        }
        relay.process_work();
        relay.sweep();
    }
}
