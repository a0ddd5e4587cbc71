//! The media half of the stand-in: a small WebRTC relay, so the host page publishes and the
//! audience page watches with nothing but this machine. Signalling is WHIP (RFC 9725) to publish
//! and WHEP to watch, under `/media` on the stand-in's own listener; media is str0m (sans-IO) in
//! RTP mode on one UDP socket (one more per extra advertised address), driven by one task that
//! forwards the publisher's RTP packets to every viewer allowed to receive them.
//!
//! Every session belongs to a room of the REST state: a publisher and a room-mode viewer are
//! participants of it (connect on POST, disconnect on DELETE, ICE/DTLS loss, 10 s of silence,
//! REST disconnect, MaxParticipantDuration or room completion); a room-mode viewer receives a
//! publisher's tracks only while its REST subscribe rules include them; a Live viewer (a token
//! with a PlaybackGrant) watches the room a started MediaProcessor feeds its PlayerStreamer from,
//! and is not a participant, as on Twilio Live.
//!
//! Meeting rooms (`meeting-...`) have several publishers: each participant publishes a camera
//! session and maybe a screen session, watches each other participant through a WHEP session of
//! its own, and all its sessions are one participant, which leaves with the last of them or at
//! once when it drops. Pages report mute state, which WebRTC does not carry, to the session.
//!
//! IVS stage rooms (`ivs-<stage id>`) are not REST rooms: the stage's publisher comes through
//! the IVS WHIP route with a participant token (ES384, checked by the `ivs` module), viewers
//! through WHEP with a subscribe token; the `ivs` module says whether the stage and the
//! publisher are still there and hears when a publisher's session ends.
//!
//! The HTTP contract, the design choices and the load figures: docs/RELAY.md.
//!
//! | module | what it is for |
//! |---|---|
//! | `http` | the `/media` routes: WHIP, IVS WHIP, WHEP, session DELETE and mute state, room status, CORS, error bodies |
//! | `access` | who may publish or watch what: token grants checked against the REST state; stream, meeting or stage room |
//! | `token` | access-token verification, and [`AccessToken`] to mint tokens for tests |
//! | `sdp` | the m-lines of an offer and the slots (screen, microphone, webcam) each layout maps them to |
//! | `relay` | the media task: sockets, str0m sessions, forwarding, keyframes, stalls, lifecycle |
//! | `sessions` | the open sessions, their publications, the room status and the counters, as the HTTP side and the media task share them |
//! | `rules` | subscribe rules applied to published tracks |

mod access;
pub(crate) mod http;
mod relay;
mod rules;
mod sdp;
mod sessions;
mod token;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::change::SdpOffer;
use str0m::config::CryptoProvider;
use str0m::media::Mid;
use str0m::{Candidate, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::{INVALID_PARAMETER, TwilioError};
use crate::ivs::{self, Ivs, Verified};
use crate::shared::Shared;
use crate::sid::new_sid;
use crate::state::JoinError;

pub use sessions::{
    MediaParticipantInfo, MediaRoomInfo, MediaSessionInfo, MediaStats, Publication, PublicationKind,
};
pub use token::AccessToken;

use access::{Access, RoomKind, RoomRef};
use relay::{Command, End, NewSession, Track};
use sdp::{Layout, Slot};
use sessions::{MuteError, Role, STAGE_MODE, Sessions};

/// Twilio's "Room contains too many Participants".
const ROOM_FULL: u32 = 53105;

/// Where the relay listens for media and which addresses it offers to browsers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaSettings {
    /// UDP port of the relay's socket(s); 0 picks a free one.
    pub udp_port: u16,
    /// Addresses offered as ICE host candidates besides `127.0.0.1`, e.g. this machine's LAN
    /// address so a phone on the same network can watch. One socket is bound on each.
    pub extra_ips: Vec<IpAddr>,
}

impl MediaSettings {
    /// `STANDIN_MEDIA_PORT` and `STANDIN_MEDIA_IPS` (comma-separated), both optional.
    pub fn from_env() -> Result<MediaSettings, String> {
        let mut settings = MediaSettings::default();
        if let Some(port) = std::env::var("STANDIN_MEDIA_PORT")
            .ok()
            .filter(|v| !v.is_empty())
        {
            settings.udp_port =
                Self::parse_port(&port).map_err(|e| format!("STANDIN_MEDIA_PORT: {e}"))?;
        }
        if let Some(ips) = std::env::var("STANDIN_MEDIA_IPS")
            .ok()
            .filter(|v| !v.is_empty())
        {
            settings.extra_ips =
                Self::parse_ips(&ips).map_err(|e| format!("STANDIN_MEDIA_IPS: {e}"))?;
        }
        Ok(settings)
    }

    /// A UDP port number.
    pub fn parse_port(text: &str) -> Result<u16, String> {
        text.trim()
            .parse()
            .map_err(|_| format!("not a port number: {text}"))
    }

    /// A comma-separated list of concrete IP addresses (no wildcard, no multicast).
    pub fn parse_ips(text: &str) -> Result<Vec<IpAddr>, String> {
        let mut ips = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let ip: IpAddr = part
                .parse()
                .map_err(|_| format!("not an IP address: {part}"))?;
            if ip.is_unspecified() || ip.is_multicast() {
                return Err(format!(
                    "{ip} cannot be offered to browsers: give this machine's address"
                ));
            }
            ips.push(ip);
        }
        Ok(ips)
    }
}

/// What the query string of a WHIP or WHEP request asks for (meeting rooms only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct OpenOptions {
    /// WHIP `?kind=camera|screen`: which session of a meeting participant this is.
    pub(crate) kind: Option<Layout>,
    /// WHEP `?publisher=<identity or PA sid>`: the meeting participant to watch.
    pub(crate) publisher: Option<String>,
}

/// A session the HTTP side opened: its id and the SDP answer.
pub(crate) struct Opened {
    pub(crate) id: String,
    pub(crate) answer: String,
}

/// A session about to be negotiated: who opens it, where, with what right.
struct Opening {
    role: Role,
    room: RoomRef,
    access: Access,
    /// A stage's publisher: the stage participant it is (the token's jti).
    stage_participant: Option<String>,
    /// Meeting viewers: the participant watched.
    target: Option<String>,
    identity: String,
    layout: Layout,
}

/// What a stage's participant token must allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Capability {
    /// `capabilities.allow_publish`: WHIP.
    Publish,
    /// `capabilities.allow_subscribe`: WHEP.
    Subscribe,
}

/// The HTTP side of the relay: opens sessions from offers and hands them to the media task.
pub(crate) struct Hub {
    pub(crate) shared: Arc<Shared>,
    /// The IVS stages, whose rooms are `ivs-<stage id>`.
    pub(crate) ivs: Arc<Ivs>,
    commands: mpsc::UnboundedSender<Command>,
    /// The open sessions and the counters, shared with the media task.
    sessions: Arc<Sessions>,
    /// The relay's socket addresses, offered as host candidates.
    candidates: Vec<SocketAddr>,
    crypto: Arc<CryptoProvider>,
}

/// The running relay, owned by the [`crate::StandIn`].
pub(crate) struct Media {
    pub(crate) hub: Arc<Hub>,
    task: Option<JoinHandle<()>>,
}

impl Media {
    /// Binds the sockets and starts the media task on the current runtime.
    pub(crate) async fn start(
        shared: Arc<Shared>,
        ivs: Arc<Ivs>,
        settings: &MediaSettings,
    ) -> std::io::Result<Media> {
        let mut ips: Vec<IpAddr> = vec![IpAddr::V4(Ipv4Addr::LOCALHOST)];
        for ip in &settings.extra_ips {
            if !ips.contains(ip) {
                ips.push(*ip);
            }
        }
        let mut sockets = Vec::with_capacity(ips.len());
        for ip in ips {
            sockets.push(UdpSocket::bind(SocketAddr::new(ip, settings.udp_port)).await?);
        }
        let candidates = sockets
            .iter()
            .map(UdpSocket::local_addr)
            .collect::<std::io::Result<Vec<_>>>()?;
        let (commands, receiver) = mpsc::unbounded_channel();
        let sessions = Arc::new(Sessions::default());
        let task = tokio::spawn(relay::run(
            shared.clone(),
            ivs.clone(),
            sessions.clone(),
            sockets,
            candidates.clone(),
            receiver,
        ));
        let hub = Arc::new(Hub {
            shared,
            ivs,
            commands,
            sessions,
            candidates,
            crypto: Arc::new(str0m::crypto::from_feature_flags()),
        });
        Ok(Media {
            hub,
            task: Some(task),
        })
    }

    /// Closes every session (DTLS close_notify to each peer) and stops the task.
    pub(crate) async fn shutdown(mut self) {
        let _ = self.hub.commands.send(Command::Shutdown);
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(std::time::Duration::from_secs(2), &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for Media {
    fn drop(&mut self) {
        let _ = self.hub.commands.send(Command::Shutdown);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// 401 for a missing bearer token.
fn no_token() -> TwilioError {
    TwilioError::new(
        401,
        token::INVALID_TOKEN,
        "Invalid Access Token: send Authorization: Bearer <access token>",
    )
}

/// 404 for a stage that does not exist (or was deleted).
fn no_stage(stage_id: &str) -> TwilioError {
    TwilioError::new(
        404,
        crate::error::NOT_FOUND,
        format!("Stage {stage_id} not found"),
    )
}

fn bad_offer(message: impl Into<String>) -> TwilioError {
    TwilioError::new(400, INVALID_PARAMETER, message)
}

impl Hub {
    pub(crate) fn udp_addrs(&self) -> &[SocketAddr] {
        &self.candidates
    }

    pub(crate) fn stats(&self) -> MediaStats {
        self.sessions.stats()
    }

    pub(crate) fn sessions(&self) -> Vec<MediaSessionInfo> {
        self.sessions.list()
    }

    /// Checks a bearer token with the stand-in's clock.
    fn claims(&self, bearer: Option<&str>) -> Result<token::Claims, TwilioError> {
        let jwt = bearer.ok_or_else(no_token)?;
        let now = self.shared.now().unix_timestamp();
        token::verify(&self.shared.account, jwt, now)
            .map_err(|e| TwilioError::new(401, e.code, e.message))
    }

    /// Opens a publishing (WHIP) or watching (WHEP) session from a complete SDP offer.
    pub(crate) fn open(
        &self,
        role: Role,
        room_key: &str,
        bearer: Option<&str>,
        offer: &str,
        options: &OpenOptions,
    ) -> Result<Opened, TwilioError> {
        if role == Role::Viewer
            && let Some(stage_id) = access::stage_id(room_key)
        {
            return self.watch_stage(stage_id, bearer, offer, options);
        }
        let claims = self.claims(bearer)?;
        let (room, access, target) = self.shared.with_state(|state, _| {
            let room = access::room(state, room_key)?;
            let access = match role {
                Role::Publisher => access::publish(&claims, &room).map(|()| Access::Room)?,
                Role::Viewer => access::watch(state, &claims, &room)?,
            };
            let target = watched_participant(state, &room, role, options)?;
            Ok::<_, TwilioError>((room, access, target))
        })?;
        let layout = match (role, room.kind) {
            (Role::Publisher, RoomKind::Meeting) => options.kind.unwrap_or(Layout::Camera),
            _ => Layout::Broadcast,
        };
        let opening = Opening {
            role,
            room,
            access,
            stage_participant: None,
            target,
            identity: claims.identity,
            layout,
        };
        self.negotiate(opening, offer, |_| Ok(()))
    }

    /// Negotiates the session `opening` describes from a complete SDP offer, registers it and
    /// hands it to the media task; `before_add` runs with the new session's id just before the
    /// media task gets it (a stage publisher joins the stage there).
    fn negotiate(
        &self,
        opening: Opening,
        offer: &str,
        before_add: impl FnOnce(&str) -> Result<(), TwilioError>,
    ) -> Result<Opened, TwilioError> {
        let Opening {
            role,
            room,
            access,
            stage_participant,
            target,
            identity,
            layout,
        } = opening;
        let offer = sdp::without_mdns_candidates(offer);
        let lines = sdp::media_lines(&offer);
        let slots = sdp::slots(&lines, layout);
        let (verb, wanted) = match role {
            Role::Publisher => ("publish (WHIP)", "sendonly"),
            Role::Viewer => ("watch (WHEP)", "recvonly"),
        };
        if slots.iter().all(Option::is_none) {
            return Err(bad_offer(format!(
                "An offer to {verb} needs its m-lines: {}",
                layout.describe()
            )));
        }
        for (slot, line) in Slot::ALL.iter().zip(slots) {
            let Some(line) = line.map(|i| &lines[i]) else {
                continue;
            };
            let fits = match role {
                Role::Publisher => line.dir.offerer_sends(),
                Role::Viewer => line.dir.offerer_receives(),
            };
            if !fits {
                return Err(bad_offer(format!(
                    "An offer to {verb} must make its {} m-line (mid {}) {wanted}",
                    slot.default_name(),
                    line.mid.as_deref().unwrap_or("?")
                )));
            }
            if line.mid.is_none() {
                return Err(bad_offer("Every m-line needs an a=mid (BUNDLE)"));
            }
        }
        let parsed = SdpOffer::from_sdp_string(&offer)
            .map_err(|e| bad_offer(format!("Malformed SDP offer: {e}")))?;

        let mut config = Rtc::builder()
            .set_rtp_mode(true)
            .set_crypto_provider(self.crypto.clone())
            .enable_h265(false);
        if role == Role::Publisher && matches!(access, Access::Stage { .. }) {
            // IVS ingest answers with H.264 and Opus only, whatever else the offer lists, so a
            // stage's publisher sends H.264 (the page's codec preference is only a preference).
            config = config
                .enable_vp8(false)
                .enable_vp9(false)
                .enable_av1(false)
                .enable_pcmu(false, false)
                .enable_pcma(false, false)
                .enable_g722(false, false);
        }
        let mut rtc = config.build(Instant::now());
        for addr in &self.candidates {
            if let Ok(candidate) = Candidate::host(*addr, "udp") {
                rtc.add_local_candidate(candidate);
            }
        }
        let answer = rtc
            .sdp_api()
            .accept_offer(parsed)
            .map_err(|e| bad_offer(format!("The relay cannot accept this offer: {e}")))?;

        let mut mids: [Option<Mid>; 3] = [None; 3];
        let mut tracks: [Option<Track>; 3] = [None, None, None];
        for slot in Slot::ALL {
            let Some(line) = slots[slot.index()].map(|i| &lines[i]) else {
                continue;
            };
            let Some(mid) = line.mid.as_deref().map(Mid::from) else {
                continue;
            };
            if rtc.media(mid).is_none() {
                continue;
            }
            mids[slot.index()] = Some(mid);
            if role == Role::Publisher {
                tracks[slot.index()] = Some(Track {
                    name: line
                        .track
                        .clone()
                        .unwrap_or_else(|| slot.default_name().to_owned()),
                    sid: new_sid("MT"),
                });
            }
        }

        let mut publications: Vec<Publication> = Slot::ALL
            .into_iter()
            .filter(|slot| tracks[slot.index()].is_some())
            .map(|slot| Publication {
                kind: PublicationKind::of(slot),
                muted: false,
            })
            .collect();
        publications.sort_by_key(|p| p.kind);
        let id = new_sid("MS");
        let mut info = MediaSessionInfo {
            id: id.clone(),
            room_sid: room.sid.clone(),
            room_name: room.unique_name.clone(),
            role: match role {
                Role::Publisher => "publisher",
                Role::Viewer => "viewer",
            }
            .to_owned(),
            mode: match access {
                Access::Room => "room",
                Access::Live { .. } => "live",
                Access::Stage { .. } => STAGE_MODE,
            }
            .to_owned(),
            identity: identity.clone(),
            participant_sid: None,
            player_streamer_sid: match &access {
                Access::Live { streamer_sid } => Some(streamer_sid.clone()),
                Access::Room | Access::Stage { .. } => None,
            },
            publishes: (role == Role::Publisher).then(|| layout.name().to_owned()),
            publications,
            watching: target.clone(),
            first_packet_at_ms: None,
            first_forwarded_at_ms: None,
        };
        let (participant_sid, replaced) = self.sessions.with_open(|open| {
            info.participant_sid = match &access {
                Access::Room => Some(self.participant(open, &room, &identity)?),
                // A stage publisher is the stage's participant: its id is the token's jti.
                Access::Stage { .. } => stage_participant,
                Access::Live { .. } => None,
            };
            let replaced = replaced_by(open, &info, room.kind);
            let participant_sid = info.participant_sid.clone();
            open.push(info);
            Ok::<_, TwilioError>((participant_sid, replaced))
        })?;
        for old in replaced {
            let _ = self.commands.send(Command::End {
                id: old,
                why: End::Replaced,
            });
        }
        if let Err(e) = before_add(&id) {
            self.release(&id);
            return Err(e);
        }
        let new = NewSession {
            id: id.clone(),
            rtc,
            role,
            access,
            room_sid: room.sid,
            identity,
            participant_sid,
            room_kind: room.kind,
            layout,
            target,
            mids,
            tracks,
        };
        if self.commands.send(Command::Add(Box::new(new))).is_err() {
            self.release(&id);
            return Err(TwilioError::new(
                503,
                crate::error::INTERNAL,
                "The media relay has stopped",
            ));
        }
        self.sessions.opened();
        Ok(Opened {
            id,
            answer: answer.to_sdp_string(),
        })
    }

    /// The participant token `bearer` for stage `stage_id`, verified (404 no such stage, 401 a
    /// token that does not verify), allowing `need` if given (403 if not).
    fn stage_token(
        &self,
        stage_id: &str,
        bearer: Option<&str>,
        need: Option<Capability>,
    ) -> Result<Verified, TwilioError> {
        let jwt = bearer.ok_or_else(|| {
            TwilioError::new(
                401,
                token::INVALID_TOKEN,
                "Invalid participant token: send Authorization: Bearer <participant token>",
            )
        })?;
        let who = match self.ivs.verify_token(stage_id, jwt) {
            Ok(Some(verified)) => verified,
            Ok(None) => return Err(no_stage(stage_id)),
            Err(why) => {
                return Err(TwilioError::new(
                    401,
                    token::INVALID_TOKEN,
                    format!("Invalid participant token: {why}"),
                ));
            }
        };
        let refused = match need {
            Some(Capability::Publish) if !who.publish => {
                "The participant token does not allow publishing (capabilities.allow_publish)"
            }
            Some(Capability::Subscribe) if !who.subscribe => {
                "The participant token does not allow subscribing (capabilities.allow_subscribe)"
            }
            _ => return Ok(who),
        };
        Err(TwilioError::new(403, token::INVALID_GRANTS, refused))
    }

    /// IVS WHIP (`POST /media/ivs/whip/{stage}`): a participant token that allows publishing,
    /// an offer with H.264 video and Opus audio; the publisher joins the stage (which starts
    /// its session) and the relay room `ivs-<stage id>`.
    pub(crate) fn publish_stage(
        &self,
        stage_id: &str,
        bearer: Option<&str>,
        offer: &str,
    ) -> Result<Opened, TwilioError> {
        let who = self.stage_token(stage_id, bearer, Some(Capability::Publish))?;
        if !sdp::offers_codec(offer, "video", "H264") || !sdp::offers_codec(offer, "audio", "opus")
        {
            return Err(bad_offer(
                "IVS takes H.264 video and Opus audio: the offer needs a video m-line with H264 and an audio m-line with opus",
            ));
        }
        let opening = Opening {
            role: Role::Publisher,
            room: access::stage_room(stage_id),
            access: Access::Stage {
                stage_id: stage_id.to_owned(),
            },
            stage_participant: Some(who.participant_id.clone()),
            target: None,
            identity: who.identity().to_owned(),
            layout: Layout::Broadcast,
        };
        self.negotiate(opening, offer, |session| {
            self.ivs
                .connect(stage_id, &who, session)
                .map(|_| ())
                .map_err(|ivs::JoinError::NoStage| no_stage(stage_id))
        })
    }

    /// WHEP on `ivs-<stage id>`: a participant token for the stage that allows subscribing.
    fn watch_stage(
        &self,
        stage_id: &str,
        bearer: Option<&str>,
        offer: &str,
        options: &OpenOptions,
    ) -> Result<Opened, TwilioError> {
        let who = self.stage_token(stage_id, bearer, Some(Capability::Subscribe))?;
        if options.kind.is_some() || options.publisher.is_some() {
            return Err(bad_offer(
                "kind= and publisher= are for meeting rooms; a stage's room has one host",
            ));
        }
        let opening = Opening {
            role: Role::Viewer,
            room: access::stage_room(stage_id),
            access: Access::Stage {
                stage_id: stage_id.to_owned(),
            },
            stage_participant: None,
            target: None,
            identity: who.identity().to_owned(),
            layout: Layout::Broadcast,
        };
        self.negotiate(opening, offer, |_| Ok(()))
    }

    /// The participant a new session of `identity` in `room` is: in a meeting room, the one an
    /// open session of that identity holds, if still connected; otherwise a new participant
    /// (which, as on Twilio, disconnects an earlier one of that identity). Called with the open
    /// sessions locked.
    fn participant(
        &self,
        open: &[MediaSessionInfo],
        room: &RoomRef,
        identity: &str,
    ) -> Result<String, TwilioError> {
        if room.kind == RoomKind::Meeting {
            let held = open
                .iter()
                .filter(|s| s.room_sid == room.sid && s.identity == identity)
                .find_map(|s| s.participant_sid.clone());
            if let Some(pa) = held
                && self
                    .shared
                    .with_state(|state, _| access::participant_connected(state, &pa))
            {
                return Ok(pa);
            }
        }
        self.shared.join(&room.sid, identity).map_err(join_error)
    }

    /// Forgets session `id` and disconnects its participant if no other session holds it.
    fn release(&self, id: &str) -> Option<MediaSessionInfo> {
        self.sessions.release(id, false, |pa| {
            self.shared.disconnect_participant_sid(pa);
        })
    }

    /// Ends session `id` (WHIP/WHEP `DELETE`): its participant is disconnected unless another of
    /// its sessions is open, the peer connection is closed by the media task. True also for a
    /// session that had already ended (`DELETE` is idempotent: a page leaving while the relay
    /// ends its session gets no error); false if there never was such a session.
    pub(crate) fn end(&self, id: &str) -> bool {
        if self.release(id).is_none() {
            return self.sessions.ended_recently(id);
        }
        let _ = self.commands.send(Command::End {
            id: id.to_owned(),
            why: End::Deleted,
        });
        true
    }

    /// Records what the page of publishing session `id` says is muted; answers the session's
    /// publications.
    pub(crate) fn set_muted(
        &self,
        id: &str,
        changes: &[(PublicationKind, bool)],
    ) -> Result<Vec<Publication>, TwilioError> {
        self.sessions.set_muted(id, changes).map_err(|e| match e {
            MuteError::NoSession => TwilioError::not_found(&format!("/media/sessions/{id}")),
            MuteError::NotPublished(kind) => TwilioError::invalid(format!(
                "Session {id} publishes no {} track (a watching session publishes nothing)",
                kind.name()
            )),
        })
    }

    /// The room status, for a holder of a token for that room (a VideoGrant, or a
    /// PlaybackGrant for a stream fed from it).
    pub(crate) fn room_status(
        &self,
        room_key: &str,
        bearer: Option<&str>,
    ) -> Result<MediaRoomInfo, TwilioError> {
        if let Some(stage_id) = access::stage_id(room_key) {
            self.stage_token(stage_id, bearer, None)?;
            let room = access::stage_room(stage_id);
            return Ok(self.sessions.room(&room.sid, room.kind));
        }
        let claims = self.claims(bearer)?;
        let room = self.shared.with_state(|state, _| {
            let room = access::room(state, room_key)?;
            access::watch(state, &claims, &room)?;
            Ok::<_, TwilioError>(room)
        })?;
        Ok(self.sessions.room(&room.sid, room.kind))
    }

    /// The room status of an in-progress room, for the Rust API.
    pub(crate) fn room_info(&self, room_key: &str) -> Option<MediaRoomInfo> {
        if let Some(stage_id) = access::stage_id(room_key) {
            self.ivs.stage_arn(stage_id)?;
            let room = access::stage_room(stage_id);
            return Some(self.sessions.room(&room.sid, room.kind));
        }
        let room = self
            .shared
            .with_state(|state, _| access::room(state, room_key))
            .ok()?;
        Some(self.sessions.room(&room.sid, room.kind))
    }

    /// Holds back the forwarding of the in-progress room `room_key` for `length` (zero ends a
    /// stall at once); answers the room's sid and the end of the stall in unix ms.
    pub(crate) fn stall(
        &self,
        room_key: &str,
        length: Duration,
    ) -> Result<(String, u64), TwilioError> {
        let room = self
            .shared
            .with_state(|state, _| access::room(state, room_key))?;
        let until = Instant::now() + length;
        let sent = self.commands.send(Command::Stall {
            room_sid: room.sid.clone(),
            until,
        });
        if sent.is_err() {
            return Err(TwilioError::new(
                503,
                crate::error::INTERNAL,
                "The media relay has stopped",
            ));
        }
        let until_ms = sessions::unix_ms()
            .saturating_add(u64::try_from(length.as_millis()).unwrap_or(u64::MAX));
        Ok((room.sid, until_ms))
    }
}

/// The meeting participant (PA sid) a WHEP session watches, after checking the query options
/// against the room's kind.
fn watched_participant(
    state: &crate::state::State,
    room: &RoomRef,
    role: Role,
    options: &OpenOptions,
) -> Result<Option<String>, TwilioError> {
    match room.kind {
        RoomKind::Stream => {
            if options.kind.is_some() || options.publisher.is_some() {
                return Err(bad_offer(format!(
                    "kind= and publisher= are for meeting rooms; {} is a stream room (one session publishes screen, microphone and webcam)",
                    room.unique_name
                )));
            }
            Ok(None)
        }
        RoomKind::Meeting if role == Role::Publisher => Ok(None),
        RoomKind::Meeting => {
            let Some(publisher) = &options.publisher else {
                return Err(bad_offer(
                    "Watching a meeting room takes one session per participant: POST /media/whep/{room}?publisher=<identity>",
                ));
            };
            access::connected_participant(state, &room.sid, publisher)
                .map(Some)
                .ok_or_else(|| {
                    TwilioError::new(
                        404,
                        crate::error::NOT_FOUND,
                        format!(
                            "No participant {publisher} is connected to room {}",
                            room.unique_name
                        ),
                    )
                })
        }
    }
}

/// In a meeting room, the open sessions `new` takes the place of (the same identity's earlier
/// camera session, screen session, or WHEP session for the same participant), removed from
/// `open`; their ids.
fn replaced_by(
    open: &mut Vec<MediaSessionInfo>,
    new: &MediaSessionInfo,
    kind: RoomKind,
) -> Vec<String> {
    if kind != RoomKind::Meeting {
        return Vec::new();
    }
    let same = |s: &MediaSessionInfo| {
        s.room_sid == new.room_sid
            && s.identity == new.identity
            && s.role == new.role
            && s.publishes == new.publishes
            && s.watching == new.watching
            && s.mode == new.mode
    };
    let ids: Vec<String> = open
        .iter()
        .filter(|s| same(s))
        .map(|s| s.id.clone())
        .collect();
    open.retain(|s| !same(s));
    ids
}

fn join_error(e: JoinError) -> TwilioError {
    match e {
        JoinError::NoRoom | JoinError::NotInProgress => {
            TwilioError::new(404, access::ROOM_NOT_FOUND, "Room not found")
        }
        JoinError::Full(max) => TwilioError::new(
            409,
            ROOM_FULL,
            format!("Room contains too many Participants (at most {max})"),
        ),
        JoinError::BadIdentity => TwilioError::new(
            401,
            token::INVALID_GRANTS,
            "Invalid Access Token grants: the identity must be 1 to 128 characters",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_settings_take_concrete_addresses_only() {
        assert_eq!(
            MediaSettings::parse_ips(" 192.168.1.20, ::1 ,").unwrap(),
            vec![
                "192.168.1.20".parse::<IpAddr>().unwrap(),
                "::1".parse::<IpAddr>().unwrap()
            ]
        );
        for bad in ["0.0.0.0", "::", "224.0.0.1", "phone.local"] {
            assert!(MediaSettings::parse_ips(bad).is_err(), "{bad}");
        }
        assert_eq!(MediaSettings::parse_port("5000"), Ok(5000));
        assert!(MediaSettings::parse_port("70000").is_err());
    }
}
