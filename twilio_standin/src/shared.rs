//! The state one running stand-in shares between its REST API, its media relay, its control API
//! and the Rust API: account, clock, resources, call log, callback log and faults. Every access
//! to the resources goes through [`Shared::with_state`], which first applies the timeouts that
//! fell due, so expiry is exact however the clock moved. The media relay joins rooms through
//! [`Shared::join`], leaves them through [`Shared::disconnect_participant_sid`], and waits on
//! [`Shared::changed`] to react to REST writes at once. The room events the state queues are
//! taken by the callback sender (`callbacks`), which logs what it sent here.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::{Notify, watch};

use crate::account::Account;
use crate::calls::{Call, CallbackInfo};
use crate::clock::Clock;
use crate::faults::{Fault, FaultAction, Faults};
use crate::state::{JoinError, ParticipantStatus, RoomEvent, State};

pub(crate) struct Shared {
    pub(crate) account: Account,
    /// `http://host:port` of the listener, used when a request carries no usable `Host`.
    pub(crate) local_base: String,
    clock: Clock,
    state: Mutex<State>,
    calls: Mutex<Vec<Call>>,
    faults: Mutex<Faults>,
    /// Calls a fault applied to, since start.
    faults_fired: AtomicU64,
    /// REST calls answered (handled and logged) since start; watchers see each one.
    answered: watch::Sender<u64>,
    /// Signalled after anything that can change who is connected or subscribed (REST writes,
    /// control API joins and leaves, clock advances), so the media relay reacts at once.
    changes: Notify,
    /// Signalled when the state queued a room event, so its callback goes out at once.
    events_queued: Notify,
    /// Room status callbacks sent so far, in order.
    callbacks: Mutex<Vec<CallbackInfo>>,
}

/// Locks without panicking: a poisoned lock still holds consistent data here, because no
/// state change spans a panic point.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub(crate) fn new(account: Account, local_base: String) -> Self {
        Shared {
            account,
            local_base,
            clock: Clock::default(),
            state: Mutex::new(State::default()),
            calls: Mutex::new(Vec::new()),
            faults: Mutex::new(Faults::default()),
            faults_fired: AtomicU64::new(0),
            answered: watch::Sender::new(0),
            changes: Notify::new(),
            events_queued: Notify::new(),
            callbacks: Mutex::new(Vec::new()),
        }
    }

    /// Runs `f` on the state brought up to the current time.
    pub(crate) fn with_state<R>(&self, f: impl FnOnce(&mut State, OffsetDateTime) -> R) -> R {
        let now = self.clock.now();
        let mut state = lock(&self.state);
        state.advance(now);
        let result = f(&mut state, now);
        if !state.room_events.is_empty() {
            self.events_queued.notify_one();
        }
        result
    }

    pub(crate) fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    pub(crate) fn advance_clock(&self, by: Duration) {
        self.clock.advance(by);
        // Apply what fell due now rather than at the next read, for log readers.
        self.with_state(|_, _| ());
        self.touch();
    }

    /// Tells the media relay the state may have changed.
    pub(crate) fn touch(&self) {
        self.changes.notify_one();
    }

    /// Completes after the next [`Shared::touch`] (or at once if one is pending).
    pub(crate) async fn changed(&self) {
        self.changes.notified().await;
    }

    // ---- call log and faults -----------------------------------------------------------

    pub(crate) fn record(&self, call: Call) {
        lock(&self.calls).push(call);
        self.answered.send_modify(|n| *n += 1);
    }

    pub(crate) fn calls_answered(&self) -> u64 {
        *self.answered.borrow()
    }

    pub(crate) fn watch_answered(&self) -> watch::Receiver<u64> {
        self.answered.subscribe()
    }

    pub(crate) fn faults_fired(&self) -> u64 {
        self.faults_fired.load(Ordering::Relaxed)
    }

    /// Forgets every resource, queued room event, sent room status callback, logged call and fault;
    /// the clock and the counters since start keep going.
    pub(crate) fn reset(&self) {
        *lock(&self.state) = State::default();
        lock(&self.callbacks).clear();
        self.clear_calls();
        self.clear_faults();
        self.touch();
    }

    pub(crate) fn calls(&self) -> Vec<Call> {
        lock(&self.calls).clone()
    }

    pub(crate) fn clear_calls(&self) {
        lock(&self.calls).clear();
    }

    pub(crate) fn inject(&self, fault: Fault) {
        lock(&self.faults).add(fault);
    }

    pub(crate) fn clear_faults(&self) {
        lock(&self.faults).clear();
    }

    pub(crate) fn fault_for(&self, method: &str, path: &str) -> Option<FaultAction> {
        let action = lock(&self.faults).on_call(method, path);
        if action.is_some() {
            self.faults_fired.fetch_add(1, Ordering::Relaxed);
        }
        action
    }

    // ---- room status callbacks -----------------------------------------------------------

    /// Completes when the state queued a room event (or at once if one is pending).
    pub(crate) async fn events_queued(&self) {
        self.events_queued.notified().await;
    }

    /// The queued room events, oldest first, taken out of the queue (timeouts due applied
    /// first).
    pub(crate) fn take_room_events(&self) -> Vec<RoomEvent> {
        self.with_state(|state, _| std::mem::take(&mut state.room_events))
    }

    pub(crate) fn record_callback(&self, sent: CallbackInfo) {
        lock(&self.callbacks).push(sent);
    }

    pub(crate) fn callbacks(&self) -> Vec<CallbackInfo> {
        lock(&self.callbacks).clone()
    }

    // ---- simulated clients -------------------------------------------------------------

    /// A client joins `room` (RM sid or in-progress unique name) as `identity`.
    pub(crate) fn join(&self, room: &str, identity: &str) -> Result<String, JoinError> {
        let joined = self.with_state(|state, now| state.connect(now, room, identity));
        // Joining disconnects an earlier participant of the same identity.
        self.touch();
        joined
    }

    pub(crate) fn connect_participant(&self, room: &str, identity: &str) -> Result<String, String> {
        self.join(room, identity)
            .map_err(|e| format!("{room}: {e}"))
    }

    /// The participant with PA sid `sid` leaves, if still connected; false otherwise.
    pub(crate) fn disconnect_participant_sid(&self, sid: &str) -> bool {
        let left = self.with_state(|state, now| {
            let found = state
                .participants
                .iter()
                .position(|p| p.sid == sid && p.status == ParticipantStatus::Connected);
            if let Some(i) = found {
                state.disconnect(i, now);
            }
            found.is_some()
        });
        if left {
            self.touch();
        }
        left
    }

    /// The connected participant `identity` of `room` leaves; false if there was none.
    pub(crate) fn disconnect_participant(&self, room: &str, identity: &str) -> bool {
        let left = self.with_state(|state, now| {
            let Some(r) = state.find_room_any(room) else {
                return false;
            };
            let room_sid = state.rooms[r].sid.clone();
            let found = state.participants.iter().position(|p| {
                p.room_sid == room_sid
                    && p.identity == identity
                    && p.status == ParticipantStatus::Connected
            });
            match found {
                Some(i) => {
                    state.disconnect(i, now);
                    true
                }
                None => false,
            }
        });
        self.touch();
        left
    }
}
