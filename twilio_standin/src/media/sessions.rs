//! The open media sessions as the HTTP side, the media task, tests and the control API see them
//! ([`MediaSessionInfo`], one per session), the relay's counters ([`MediaStats`]), and whether a
//! session publishes or watches ([`Role`]). The HTTP side adds a session when it opens one; the
//! media task forgets it when it ends.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use serde::Serialize;

/// One media session, for tests and the control API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MediaSessionInfo {
    /// The id in `Location: /media/sessions/{id}`.
    pub id: String,
    pub room_sid: String,
    pub room_name: String,
    /// `publisher` or `viewer`.
    pub role: String,
    /// `room` (a participant) or `live` (through a PlayerStreamer).
    pub mode: String,
    pub identity: String,
    /// The participant this session is in the REST state (room mode only).
    pub participant_sid: Option<String>,
    pub player_streamer_sid: Option<String>,
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
        }
    }
}

/// Whether a session publishes or watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Publisher,
    Viewer,
}

/// The open sessions, oldest first, and the counters.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    open: Mutex<Vec<MediaSessionInfo>>,
    pub(crate) counters: Counters,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Sessions {
    pub(crate) fn add(&self, info: MediaSessionInfo) {
        lock(&self.open).push(info);
    }

    /// Counts a session handed to the media task.
    pub(crate) fn opened(&self) {
        Counters::add(&self.counters.sessions_opened, 1);
    }

    /// Removes a session; `None` if it was not open.
    pub(crate) fn forget(&self, id: &str) -> Option<MediaSessionInfo> {
        let mut open = lock(&self.open);
        let i = open.iter().position(|s| s.id == id)?;
        Some(open.remove(i))
    }

    pub(crate) fn list(&self) -> Vec<MediaSessionInfo> {
        lock(&self.open).clone()
    }

    pub(crate) fn stats(&self) -> MediaStats {
        self.counters.snapshot()
    }

    /// `(publishers, viewers)` of the room `room_sid`.
    pub(crate) fn counts(&self, room_sid: &str) -> (usize, usize) {
        let open = lock(&self.open);
        let in_room = open.iter().filter(|s| s.room_sid == room_sid);
        let publishers = in_room.clone().filter(|s| s.role == "publisher").count();
        let viewers = in_room.filter(|s| s.role == "viewer").count();
        (publishers, viewers)
    }
}
