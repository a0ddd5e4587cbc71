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
//! The HTTP contract, the design choices and the load figures: docs/RELAY.md.
//!
//! | module | what it is for |
//! |---|---|
//! | `http` | the `/media` routes: WHIP, WHEP, session DELETE, room counts, CORS, error bodies |
//! | `access` | who may publish or watch what: token grants checked against the REST state |
//! | `token` | access-token verification, and [`AccessToken`] to mint tokens for tests |
//! | `sdp` | the m-lines and broadcast slots (screen, microphone, webcam) of an offer |
//! | `relay` | the media task: sockets, str0m sessions, forwarding, keyframes, lifecycle |
//! | `sessions` | the open sessions and the counters, as the HTTP side and the media task share them |
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
use std::time::Instant;

use str0m::change::SdpOffer;
use str0m::config::CryptoProvider;
use str0m::media::Mid;
use str0m::{Candidate, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::{INVALID_PARAMETER, TwilioError};
use crate::shared::Shared;
use crate::sid::new_sid;
use crate::state::JoinError;

pub use sessions::{MediaSessionInfo, MediaStats};
pub use token::AccessToken;

use access::Access;
use relay::{Command, NewSession, Track};
use sdp::Slot;
use sessions::{Role, Sessions};

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

/// A session the HTTP side opened: its id and the SDP answer.
pub(crate) struct Opened {
    pub(crate) id: String,
    pub(crate) answer: String,
}

/// The HTTP side of the relay: opens sessions from offers and hands them to the media task.
pub(crate) struct Hub {
    pub(crate) shared: Arc<Shared>,
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
            sessions.clone(),
            sockets,
            candidates.clone(),
            receiver,
        ));
        let hub = Arc::new(Hub {
            shared,
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
    ) -> Result<Opened, TwilioError> {
        let claims = self.claims(bearer)?;
        let (room, access) = self.shared.with_state(|state, _| {
            let room = access::room(state, room_key)?;
            let access = match role {
                Role::Publisher => access::publish(&claims, &room).map(|()| Access::Room)?,
                Role::Viewer => access::watch(state, &claims, &room)?,
            };
            Ok::<_, TwilioError>((room, access))
        })?;

        let offer = sdp::without_mdns_candidates(offer);
        let lines = sdp::media_lines(&offer);
        let slots = sdp::slots(&lines);
        let (verb, wanted) = match role {
            Role::Publisher => ("publish (WHIP)", "sendonly"),
            Role::Viewer => ("watch (WHEP)", "recvonly"),
        };
        if slots.iter().all(Option::is_none) {
            return Err(bad_offer(format!(
                "An offer to {verb} needs audio or video m-lines: video (screen), audio (microphone), optional video (webcam)"
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

        let mut rtc = Rtc::builder()
            .set_rtp_mode(true)
            .set_crypto_provider(self.crypto.clone())
            .enable_h265(false)
            .build(Instant::now());
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

        let participant_sid = match access {
            Access::Room => Some(
                self.shared
                    .join(&room.sid, &claims.identity)
                    .map_err(join_error)?,
            ),
            Access::Live { .. } => None,
        };
        let id = new_sid("MS");
        let info = MediaSessionInfo {
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
            }
            .to_owned(),
            identity: claims.identity.clone(),
            participant_sid: participant_sid.clone(),
            player_streamer_sid: match &access {
                Access::Live { streamer_sid } => Some(streamer_sid.clone()),
                Access::Room => None,
            },
        };
        self.sessions.add(info);
        let new = NewSession {
            id: id.clone(),
            rtc,
            role,
            access,
            room_sid: room.sid,
            identity: claims.identity,
            participant_sid: participant_sid.clone(),
            mids,
            tracks,
        };
        if self.commands.send(Command::Add(Box::new(new))).is_err() {
            self.sessions.forget(&id);
            if let Some(pa) = participant_sid {
                self.shared.disconnect_participant_sid(&pa);
            }
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

    /// Ends session `id` (WHIP/WHEP `DELETE`): its participant is disconnected at once, the
    /// peer connection is closed by the media task. False if there is no such session.
    pub(crate) fn end(&self, id: &str) -> bool {
        let Some(info) = self.sessions.forget(id) else {
            return false;
        };
        if let Some(pa) = &info.participant_sid {
            self.shared.disconnect_participant_sid(pa);
        }
        let _ = self.commands.send(Command::End { id: id.to_owned() });
        true
    }

    /// `(publishers, viewers)` of a room, for a holder of a token for that room (a VideoGrant,
    /// or a PlaybackGrant for a stream fed from it).
    pub(crate) fn counts(
        &self,
        room_key: &str,
        bearer: Option<&str>,
    ) -> Result<(usize, usize), TwilioError> {
        let claims = self.claims(bearer)?;
        let room = self.shared.with_state(|state, _| {
            let room = access::room(state, room_key)?;
            access::watch(state, &claims, &room)?;
            Ok::<_, TwilioError>(room)
        })?;
        Ok(self.sessions.counts(&room.sid))
    }
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
