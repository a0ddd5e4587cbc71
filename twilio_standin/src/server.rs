//! [`StandIn`]: a running stand-in (listener, router, shutdown) and the Rust API tests use to
//! inspect and steer it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::account::Account;
use crate::callbacks;
use crate::calls::{Call, CallbackInfo};
use crate::control;
use crate::faults::Fault;
use crate::inspect::{self, MediaProcessorInfo, ParticipantInfo, PlayerStreamerInfo, RoomInfo};
use crate::ivs::{self, Ivs, IvsCall, IvsSettings, IvsStageInfo};
use crate::media::{self, Hub, Media, MediaRoomInfo, MediaSessionInfo, MediaSettings, MediaStats};
use crate::rest;
use crate::shared::Shared;

/// How long [`StandIn::shutdown`] waits for open connections before cutting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A running stand-in. Dropping it stops the server.
pub struct StandIn {
    shared: Arc<Shared>,
    ivs: Arc<Ivs>,
    media: Option<Media>,
    base_url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    /// Delivers room status callbacks; aborted on shutdown.
    callbacks: Option<JoinHandle<()>>,
}

/// The app: control routes under `/__standin`, the media relay's WHIP/WHEP under `/media`, the
/// IVS real-time API under `/ivs`, everything else is Twilio REST (whose fallback answers Twilio's 404).
fn app(shared: Arc<Shared>, hub: Arc<Hub>, ivs: Arc<Ivs>) -> Router {
    rest::router(shared.clone())
        .merge(media::http::router(hub.clone()))
        .merge(ivs::api::router(ivs.clone()))
        .nest("/__standin", control::router(hub, ivs))
        .with_state(shared)
}

impl StandIn {
    /// Starts on `127.0.0.1` with a free port.
    pub async fn start(account: Account) -> std::io::Result<StandIn> {
        Self::start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), account).await
    }

    /// Starts on `addr` (port 0 picks a free port), the media relay on a free UDP port of
    /// `127.0.0.1`.
    pub async fn start_on(addr: SocketAddr, account: Account) -> std::io::Result<StandIn> {
        Self::start_with(addr, account, MediaSettings::default()).await
    }

    /// Starts on `addr` with the media relay where `media` says.
    pub async fn start_with(
        addr: SocketAddr,
        account: Account,
        media: MediaSettings,
    ) -> std::io::Result<StandIn> {
        Self::start_with_ivs(addr, account, media, IvsSettings::default()).await
    }

    /// Starts on `addr` with the media relay where `media` says and the IVS API as `ivs` says.
    pub async fn start_with_ivs(
        addr: SocketAddr,
        account: Account,
        media: MediaSettings,
        ivs: IvsSettings,
    ) -> std::io::Result<StandIn> {
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        // A wildcard bind is reachable on loopback; name that in URLs.
        let shown = if local.ip().is_unspecified() {
            let loopback = match local.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
            };
            SocketAddr::new(loopback, local.port())
        } else {
            local
        };
        let base_url = format!("http://{shown}");
        let shared = Arc::new(Shared::new(account, base_url.clone()));
        let ivs = Arc::new(
            Ivs::new(shared.clone(), &ivs)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?,
        );
        let media = Media::start(shared.clone(), ivs.clone(), &media).await?;
        let (stop, stopped) = oneshot::channel::<()>();
        let router = app(shared.clone(), media.hub.clone(), ivs.clone());
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, router).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::error!("twilio stand-in stopped: {e}");
            }
        });
        let callbacks = tokio::spawn(callbacks::deliver(shared.clone()));
        Ok(StandIn {
            shared,
            ivs,
            media: Some(media),
            base_url,
            stop: Some(stop),
            task: Some(task),
            callbacks: Some(callbacks),
        })
    }

    /// `http://127.0.0.1:PORT`, no trailing slash. Both Video and Media paths live here.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    pub fn account(&self) -> &Account {
        &self.shared.account
    }

    /// Every REST call so far, in order (control endpoints excluded).
    pub fn calls(&self) -> Vec<Call> {
        self.shared.calls()
    }

    pub fn clear_calls(&self) {
        self.shared.clear_calls();
    }

    /// Every room status callback sent so far (or not delivered), in order.
    pub fn callbacks(&self) -> Vec<CallbackInfo> {
        self.shared.callbacks()
    }

    /// Adds a fault for REST or `/media` calls (see [`Fault`]).
    pub fn inject(&self, fault: Fault) {
        self.shared.inject(fault);
    }

    pub fn clear_faults(&self) {
        self.shared.clear_faults();
    }

    /// How many calls an injected fault applied to since start (a fault's window can pass
    /// without firing, when fewer matching calls came).
    pub fn faults_fired(&self) -> u64 {
        self.shared.faults_fired()
    }

    /// How many REST calls were answered since start; counted when the call is handled and
    /// logged, before a delayed answer is sent.
    pub fn calls_answered(&self) -> u64 {
        self.shared.calls_answered()
    }

    /// Watches [`StandIn::calls_answered`]: a test can stop waiting on a client after its Nth
    /// Twilio call took effect (e.g. to cut a handler off between two calls).
    pub fn watch_calls_answered(&self) -> tokio::sync::watch::Receiver<u64> {
        self.shared.watch_answered()
    }

    /// Back to an empty account: every room, participant, streamer, grant and processor, the
    /// room status callbacks, the call log and the faults are forgotten, and every IVS stage,
    /// participant, call and public key but the one imported at start, so one server can serve many independent runs.
    /// The clock keeps its offset; the counters since start keep counting; open media sessions
    /// are not closed.
    pub fn reset(&self) {
        self.shared.reset();
        self.ivs.reset();
    }

    /// Every IVS API call so far, in order (as `GET /__standin/ivs/calls` lists them).
    pub fn ivs_calls(&self) -> Vec<IvsCall> {
        self.ivs.calls()
    }

    pub fn clear_ivs_calls(&self) {
        self.ivs.clear_calls();
    }

    /// A publisher `user_id` joins the IVS stage `stage_arn` without WebRTC, as
    /// [`StandIn::connect_participant`] does for Twilio rooms: connected and published, the
    /// stage's session started if none is active; it stays until DisconnectParticipant or
    /// DeleteStage. Returns its participant id.
    pub fn ivs_connect_publisher(&self, stage_arn: &str, user_id: &str) -> Result<String, String> {
        self.ivs.connect_simulated(stage_arn, user_id)
    }

    /// The IVS stages that exist (not deleted), oldest first, each with every participant it
    /// had: what a test checks for leaks.
    pub fn ivs_stages(&self) -> Vec<IvsStageInfo> {
        self.ivs.stages()
    }

    /// Moves the stand-in's clock forward; timeouts that fall due apply at their exact times.
    pub fn advance_clock(&self, by: Duration) {
        self.shared.advance_clock(by);
    }

    /// The stand-in's clock (real time plus every advance) as unix seconds, for code that
    /// compares Twilio's `date_created` with "now".
    pub fn now_unix(&self) -> u64 {
        u64::try_from(self.shared.now().unix_timestamp()).unwrap_or(0)
    }

    /// A client joins `room` (RM sid or in-progress unique name) as `identity`; returns the new
    /// participant's PA sid. An identity already connected there is disconnected first.
    pub fn connect_participant(&self, room: &str, identity: &str) -> Result<String, String> {
        self.shared.connect_participant(room, identity)
    }

    /// The client `identity` leaves `room`; false if it was not connected.
    pub fn disconnect_participant(&self, room: &str, identity: &str) -> bool {
        self.shared.disconnect_participant(room, identity)
    }

    /// All rooms, oldest first.
    pub fn rooms(&self) -> Vec<RoomInfo> {
        inspect::rooms(&self.shared)
    }

    /// All player streamers, oldest first.
    pub fn player_streamers(&self) -> Vec<PlayerStreamerInfo> {
        inspect::player_streamers(&self.shared)
    }

    /// All media processors, oldest first.
    pub fn media_processors(&self) -> Vec<MediaProcessorInfo> {
        inspect::media_processors(&self.shared)
    }

    /// The rules last set over REST for `identity` in `room` (RM sid or unique name) as a JSON
    /// array of normalised rules; `None` if there is no such participant or no rules were set.
    pub fn subscribe_rules(&self, room: &str, identity: &str) -> Option<Value> {
        inspect::subscribe_rules(&self.shared, room, identity)
    }

    /// Participants of `room` (RM sid or unique name; the newest room of that name), oldest first.
    pub fn participants(&self, room: &str) -> Vec<ParticipantInfo> {
        inspect::participants(&self.shared, room)
    }

    /// The media relay's UDP addresses (its ICE host candidates).
    pub fn media_udp_addrs(&self) -> Vec<SocketAddr> {
        self.media
            .as_ref()
            .map(|m| m.hub.udp_addrs().to_vec())
            .unwrap_or_default()
    }

    /// The relay's counters since start.
    pub fn media_stats(&self) -> MediaStats {
        self.media
            .as_ref()
            .map(|m| m.hub.stats())
            .unwrap_or_default()
    }

    /// The open WHIP/WHEP sessions, oldest first.
    pub fn media_sessions(&self) -> Vec<MediaSessionInfo> {
        self.media
            .as_ref()
            .map(|m| m.hub.sessions())
            .unwrap_or_default()
    }

    /// The media status of the in-progress room `room` (unique name or RM sid), as
    /// `GET /media/rooms/{room}` shows it; `None` if there is no such room in progress.
    pub fn media_room(&self, room: &str) -> Option<MediaRoomInfo> {
        self.media.as_ref().and_then(|m| m.hub.room_info(room))
    }

    /// Stops forwarding the media of the in-progress room `room` (unique name or RM sid) to its
    /// viewers for `length`, as if the network stalled; afterwards forwarding resumes with
    /// keyframe requests. Sessions stay open. A zero `length` ends a stall now.
    pub fn stall_media(&self, room: &str, length: Duration) -> Result<(), String> {
        let media = self.media.as_ref().ok_or("the media relay has stopped")?;
        media
            .hub
            .stall(room, length)
            .map(|_| ())
            .map_err(|e| e.message)
    }

    /// Stops accepting connections, waits (a few seconds at most) for open ones to finish, and
    /// closes every media session.
    pub async fn shutdown(mut self) {
        if let Some(callbacks) = self.callbacks.take() {
            callbacks.abort();
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
        if let Some(media) = self.media.take() {
            media.shutdown().await;
        }
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        if let Some(callbacks) = self.callbacks.take() {
            callbacks.abort();
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl std::fmt::Debug for StandIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandIn")
            .field("base_url", &self.base_url)
            .field("account", &self.shared.account)
            .finish()
    }
}
