//! A WebRTC peer that publishes or watches through the stand-in's relay the way the pages do
//! (one complete offer POSTed to WHIP/WHEP, no trickle), written with str0m in RTP mode on its
//! own UDP socket. A publisher sends synthetic RTP: screen and webcam "video" frames at a fixed
//! rate and packet count, and 20 ms "audio" packets, on the m-lines of its [`Shape`] (a stream
//! host's broadcast, or a meeting participant's camera or screen session). Each payload starts
//! with a tag byte naming its slot, a counter and the publisher's origin byte, so a viewer can
//! check that every packet arrived on the right m-line from the right publisher.
//!
//! Used by the stand-in's relay tests and its `relay_load` example.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use str0m::change::SdpAnswer;
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{RtpWrite, SeqNo};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The tag byte of each slot's payloads: screen, microphone, webcam.
pub const TAGS: [u8; 3] = [1, 2, 3];

/// Which m-lines a publisher offers (the relay's layouts, docs/RELAY.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Video (screen), audio (microphone), video (webcam, if `Load::webcam`): a stream host.
    Broadcast,
    /// Video (camera, tagged as the webcam), audio (microphone): a meeting camera session.
    Camera,
    /// Video (screen): a meeting screen session.
    Screen,
}

/// What a publisher sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    pub shape: Shape,
    /// Written into every payload (byte 5), so viewers can tell publishers apart.
    pub origin: u8,
    pub webcam: bool,
    pub fps: u32,
    pub screen_packets: usize,
    pub webcam_packets: usize,
    pub video_bytes: usize,
    pub audio_bytes: usize,
}

impl Default for Load {
    /// About 0.8 Mbit/s of screen, 0.25 of webcam and 50 audio packets a second.
    fn default() -> Self {
        Load {
            shape: Shape::Broadcast,
            origin: 0,
            webcam: true,
            fps: 30,
            screen_packets: 3,
            webcam_packets: 1,
            video_bytes: 1000,
            audio_bytes: 120,
        }
    }
}

/// What a peer saw so far.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counts {
    pub connected: bool,
    /// The relay closed the connection (DTLS close_notify) or ICE dropped.
    pub closed: bool,
    /// Packets received per m-line (watchers).
    pub received: [u64; 3],
    /// Packets whose tag did not match the m-line they came on.
    pub misrouted: u64,
    /// The origin bytes seen (watchers), in order of first arrival.
    pub origins: Vec<u8>,
    pub bytes_received: u64,
    /// Packets sent per slot (publishers).
    pub sent: [u64; 3],
    /// PLI/FIR received (publishers).
    pub keyframe_requests: u64,
}

/// A refused offer.
#[derive(Debug, Clone)]
pub struct Refused {
    pub status: u16,
    pub body: String,
}

pub struct Peer {
    /// The `Location` of the session.
    pub location: String,
    counts: Arc<Mutex<Counts>>,
    stop: Option<oneshot::Sender<bool>>,
    task: Option<JoinHandle<()>>,
    /// Until when the peer neither reads nor sends (see [`Peer::freeze`]).
    frozen_until: Arc<Mutex<Option<Instant>>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Publish(Load),
    Watch,
}

impl Peer {
    /// Publishes screen, microphone and (if `load.webcam`) webcam to `url` (`.../media/whip/{room}`).
    pub async fn publish(
        http: &reqwest::Client,
        url: &str,
        token: &str,
        load: Load,
    ) -> Result<Peer, Refused> {
        Self::connect(http, url, token, Role::Publish(load)).await
    }

    /// Watches `url` (`.../media/whep/{room}`) with recvonly video, audio, video m-lines.
    pub async fn watch(http: &reqwest::Client, url: &str, token: &str) -> Result<Peer, Refused> {
        Self::connect(http, url, token, Role::Watch).await
    }

    async fn connect(
        http: &reqwest::Client,
        url: &str,
        token: &str,
        role: Role,
    ) -> Result<Peer, Refused> {
        let socket = UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("a UDP socket on 127.0.0.1");
        let local = socket.local_addr().expect("its address");
        let mut rtc = Rtc::builder().set_rtp_mode(true).build(Instant::now());
        rtc.add_local_candidate(Candidate::host(local, "udp").expect("a host candidate"));
        let mut change = rtc.sdp_api();
        let (dir, shape, webcam) = match role {
            Role::Publish(load) => (Direction::SendOnly, load.shape, load.webcam),
            Role::Watch => (Direction::RecvOnly, Shape::Broadcast, true),
        };
        // Slots in the order this shape offers them: screen 0, microphone 1, webcam/camera 2.
        let order: &[usize] = match shape {
            Shape::Broadcast if webcam => &[0, 1, 2],
            Shape::Broadcast => &[0, 1],
            Shape::Camera => &[2, 1],
            Shape::Screen => &[0],
        };
        let mut mids: [Option<Mid>; 3] = [None; 3];
        for &slot in order {
            let (kind, name) = match slot {
                0 => (MediaKind::Video, "screen"),
                1 => (MediaKind::Audio, "microphone"),
                _ => (MediaKind::Video, "webcam"),
            };
            mids[slot] = Some(change.add_media(
                kind,
                dir,
                Some("onair".to_owned()),
                Some(name.into()),
                None,
            ));
        }
        let (offer, pending) = change.apply().expect("an offer");

        let response = http
            .post(url)
            .bearer_auth(token)
            .header("Content-Type", "application/sdp")
            .body(offer.to_sdp_string())
            .send()
            .await
            .expect("the relay answers");
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = response.text().await.unwrap_or_default();
        if status != 201 {
            return Err(Refused { status, body });
        }
        let answer = SdpAnswer::from_sdp_string(&body).expect("an SDP answer");
        rtc.sdp_api()
            .accept_answer(pending, answer)
            .expect("the answer fits the offer");

        let counts = Arc::new(Mutex::new(Counts::default()));
        let frozen_until = Arc::new(Mutex::new(None));
        let (stop, stopped) = oneshot::channel();
        let peer = PeerIo {
            socket,
            local,
            frozen_until: frozen_until.clone(),
        };
        let task = tokio::spawn(run(rtc, peer, role, mids, counts.clone(), stopped));
        Ok(Peer {
            location,
            frozen_until,
            counts,
            stop: Some(stop),
            task: Some(task),
        })
    }

    pub fn counts(&self) -> Counts {
        self.counts.lock().unwrap().clone()
    }

    /// Waits until `done` holds, or panics after `limit` naming `what` and the last counts.
    pub async fn wait_for(
        &self,
        what: &str,
        limit: Duration,
        done: impl Fn(&Counts) -> bool,
    ) -> Counts {
        let deadline = Instant::now() + limit;
        loop {
            let counts = self.counts();
            if done(&counts) {
                return counts;
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {limit:?} waiting for {what}; counts: {counts:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Neither reads nor sends anything for `how_long`, then carries on: a tab whose machine was
    /// starved of CPU, as opposed to one that is gone.
    pub fn freeze(&self, how_long: Duration) {
        *self.frozen_until.lock().unwrap() = Some(Instant::now() + how_long);
    }

    /// Closes the connection (DTLS close_notify) and stops.
    pub async fn close(mut self) {
        self.finish(true).await;
    }

    /// Stops without a word to the relay, as a crashed tab would.
    pub async fn vanish(mut self) {
        self.finish(false).await;
    }

    async fn finish(&mut self, graceful: bool) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(graceful);
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The payload type of `codec` the answer accepted on `mid`.
fn payload_type(rtc: &Rtc, mid: Mid, codec: Codec) -> Option<Pt> {
    let accepted = rtc.media(mid)?.remote_pts().to_vec();
    rtc.codec_config()
        .find(|p| p.spec().codec == codec && accepted.contains(&p.pt()))
        .map(|p| p.pt())
}

struct Sender {
    load: Load,
    pts: [Option<Pt>; 3],
    seq: [u64; 3],
    ts: [u32; 3],
    counter: u32,
    next_video: Instant,
    next_audio: Instant,
}

impl Sender {
    fn payload(&mut self, slot: usize, len: usize) -> Vec<u8> {
        self.counter = self.counter.wrapping_add(1);
        let mut p = vec![0x5a; len.max(6)];
        p[0] = TAGS[slot];
        p[1..5].copy_from_slice(&self.counter.to_be_bytes());
        p[5] = self.load.origin;
        p
    }

    /// Queues what is due at `now`; returns how many packets per slot.
    fn due(
        &mut self,
        now: Instant,
        mids: &[Option<Mid>; 3],
        queue: &mut VecDeque<(Mid, usize, RtpWrite)>,
    ) {
        let frame = Duration::from_secs(1) / self.load.fps.max(1);
        if now.saturating_duration_since(self.next_video) > Duration::from_secs(1) {
            self.next_video = now;
        }
        while self.next_video <= now {
            for (slot, packets) in [(0, self.load.screen_packets), (2, self.load.webcam_packets)] {
                let (Some(mid), Some(pt)) = (mids[slot], self.pts[slot]) else {
                    continue;
                };
                self.ts[slot] = self.ts[slot].wrapping_add(90_000 / self.load.fps.max(1));
                for i in 0..packets {
                    self.seq[slot] += 1;
                    let payload = self.payload(slot, self.load.video_bytes);
                    let write =
                        RtpWrite::new(pt, SeqNo::from(self.seq[slot]), self.ts[slot], now, payload)
                            .marker(i + 1 == packets)
                            .nackable(true);
                    queue.push_back((mid, slot, write));
                }
            }
            self.next_video += frame;
        }
        if now.saturating_duration_since(self.next_audio) > Duration::from_secs(1) {
            self.next_audio = now;
        }
        while self.next_audio <= now {
            if let (Some(mid), Some(pt)) = (mids[1], self.pts[1]) {
                self.seq[1] += 1;
                self.ts[1] = self.ts[1].wrapping_add(960);
                let payload = self.payload(1, self.load.audio_bytes);
                queue.push_back((
                    mid,
                    1,
                    RtpWrite::new(pt, SeqNo::from(self.seq[1]), self.ts[1], now, payload),
                ));
            }
            self.next_audio += Duration::from_millis(20);
        }
    }
}

/// The peer task's socket, its address, and the freeze it obeys.
struct PeerIo {
    socket: UdpSocket,
    local: SocketAddr,
    frozen_until: Arc<Mutex<Option<Instant>>>,
}

async fn run(
    mut rtc: Rtc,
    io: PeerIo,
    role: Role,
    mids: [Option<Mid>; 3],
    counts: Arc<Mutex<Counts>>,
    mut stop: oneshot::Receiver<bool>,
) {
    let mut buf = vec![0u8; 2048];
    let mut queue: VecDeque<(Mid, usize, RtpWrite)> = VecDeque::new();
    let mut sender = match role {
        Role::Publish(load) => {
            // VP8 where the answer took it; H.264 where it did not (an IVS stage takes only
            // H.264). The payloads are opaque to the relay either way.
            let codecs = [Codec::Vp8, Codec::Opus, Codec::Vp8];
            let mut pts = [None; 3];
            for slot in 0..3 {
                pts[slot] = mids[slot].and_then(|m| {
                    payload_type(&rtc, m, codecs[slot]).or_else(|| {
                        (codecs[slot] == Codec::Vp8)
                            .then(|| payload_type(&rtc, m, Codec::H264))
                            .flatten()
                    })
                });
            }
            let now = Instant::now();
            Some(Sender {
                load,
                pts,
                seq: [1000, 2000, 3000],
                ts: [0; 3],
                counter: 0,
                next_video: now,
                next_audio: now,
            })
        }
        Role::Watch => None,
    };
    let PeerIo {
        socket,
        local,
        frozen_until,
    } = io;
    let mut connected = false;
    loop {
        let frozen = frozen_until.lock().unwrap().take();
        if let Some(until) = frozen {
            tokio::time::sleep_until(until.into()).await;
            // Back from the freeze: what waited on the socket first, as a starved process would.
            while let Ok((n, source)) = socket.try_recv_from(&mut buf) {
                receive(&mut rtc, source, local, &buf[..n]);
            }
            let _ = rtc.handle_input(Input::Timeout(Instant::now()));
            continue;
        }
        // Drain to the next timeout (str0m's contract after every mutation).
        let timeout = loop {
            match rtc.poll_output() {
                Ok(Output::Timeout(t)) => break Some(t),
                Ok(Output::Transmit(t)) => {
                    let _ = socket.try_send_to(&t.contents, t.destination);
                }
                Ok(Output::Event(event)) => {
                    let mut c = counts.lock().unwrap();
                    match event {
                        Event::Connected => {
                            connected = true;
                            c.connected = true;
                        }
                        Event::IceConnectionStateChange(IceConnectionState::Disconnected)
                        | Event::Closed => c.closed = true,
                        Event::KeyframeRequest(_) => c.keyframe_requests += 1,
                        Event::RtpPacket(pkt) => {
                            let mid = rtc
                                .direct_api()
                                .stream_rx(&pkt.header.ssrc)
                                .map(|s| s.mid());
                            let slot = mids.iter().position(|m| m.is_some() && *m == mid);
                            match slot {
                                Some(i) if pkt.payload.first() == Some(&TAGS[i]) => {
                                    c.received[i] += 1;
                                    c.bytes_received += pkt.payload.len() as u64;
                                    if let Some(&origin) = pkt.payload.get(5)
                                        && !c.origins.contains(&origin)
                                    {
                                        c.origins.push(origin);
                                    }
                                }
                                _ => c.misrouted += 1,
                            }
                        }
                        _ => {}
                    }
                }
                Err(_) => break None,
            }
        };
        let Some(timeout) = timeout.filter(|_| rtc.is_alive()) else {
            counts.lock().unwrap().closed = true;
            return;
        };
        if counts.lock().unwrap().closed {
            return;
        }
        // One write per drain.
        if let Some((mid, slot, write)) = queue.pop_front() {
            if let Some(tx) = rtc.direct_api().stream_tx_by_mid(mid, None) {
                tx.write_rtp(write);
                counts.lock().unwrap().sent[slot] += 1;
            }
            continue;
        }
        let now = Instant::now();
        let mut wake = timeout;
        if let Some(s) = sender.as_mut().filter(|_| connected) {
            s.due(now, &mids, &mut queue);
            if !queue.is_empty() {
                continue;
            }
            wake = wake.min(s.next_video).min(s.next_audio);
        }
        tokio::select! {
            graceful = &mut stop => {
                if graceful.unwrap_or(false) {
                    let _ = rtc.close();
                    while let Ok(Output::Transmit(t)) = rtc.poll_output() {
                        let _ = socket.try_send_to(&t.contents, t.destination);
                    }
                }
                return;
            }
            got = socket.recv_from(&mut buf) => {
                if let Ok((n, source)) = got {
                    receive(&mut rtc, source, local, &buf[..n]);
                }
            }
            () = tokio::time::sleep_until(wake.into()) => {
                let _ = rtc.handle_input(Input::Timeout(Instant::now()));
            }
        }
    }
}

/// Hands one datagram from `source` to the peer's `rtc`.
fn receive(rtc: &mut Rtc, source: SocketAddr, local: SocketAddr, datagram: &[u8]) {
    if let Ok(contents) = datagram.try_into() {
        let input = Input::Receive(
            Instant::now(),
            Receive {
                proto: Protocol::Udp,
                source,
                destination: local,
                contents,
            },
        );
        let _ = rtc.handle_input(input);
    }
}
