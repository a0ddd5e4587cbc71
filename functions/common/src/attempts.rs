//! Wrong host passwords, counted per source address in this container: after
//! `max_failures` wrong passwords in a row from one address, that address is locked out for a
//! short while and every password it sends (right or wrong) is answered `429` without being
//! checked. The template's API throttling bounds the rate across containers; this bounds the
//! guesses one address gets in one.
//!
//! The table is bounded: addresses whose lock-out or failure window is over are forgotten, and
//! when it is full the stalest entry makes room, so a flood of addresses costs bounded memory.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Where a request came from, as API Gateway saw it; `Unknown` when no address was given
/// (requests built in-process). All unknown callers share one counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceAddress {
    Ip(IpAddr),
    Unknown,
}

impl std::fmt::Display for SourceAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceAddress::Ip(ip) => ip.fmt(f),
            SourceAddress::Unknown => f.write_str("unknown"),
        }
    }
}

/// How many wrong passwords an address may send and how long it is locked out after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptPolicy {
    pub max_failures: u32,
    pub lockout: Duration,
}

/// The most addresses remembered at once.
const MAX_TRACKED: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    /// The latest wrong password; failures older than the lock-out length are forgotten.
    last_failure: Instant,
    locked_until: Option<Instant>,
}

impl Record {
    fn is_stale(&self, policy: &AttemptPolicy, now: Instant) -> bool {
        match self.locked_until {
            Some(until) => now >= until,
            None => now.duration_since(self.last_failure) >= policy.lockout,
        }
    }
}

/// The per-container table of wrong attempts.
#[derive(Debug)]
pub struct WrongPasswords {
    policy: AttemptPolicy,
    records: Mutex<HashMap<SourceAddress, Record>>,
}

impl WrongPasswords {
    pub fn new(policy: AttemptPolicy) -> WrongPasswords {
        WrongPasswords {
            policy,
            records: Mutex::new(HashMap::new()),
        }
    }

    fn records(&self) -> std::sync::MutexGuard<'_, HashMap<SourceAddress, Record>> {
        // A panic while holding the lock cannot leave a record half-written.
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `Err(wait)` while `source` is locked out: how long until it may try again.
    pub fn check(&self, source: SourceAddress, now: Instant) -> Result<(), Duration> {
        let mut records = self.records();
        match records.get(&source) {
            Some(record) if record.is_stale(&self.policy, now) => {
                records.remove(&source);
                Ok(())
            }
            Some(Record {
                locked_until: Some(until),
                ..
            }) => Err(until.duration_since(now)),
            _ => Ok(()),
        }
    }

    /// Counts a wrong password from `source`; returns the lock-out if this one started it.
    pub fn failed(&self, source: SourceAddress, now: Instant) -> Option<Duration> {
        let mut records = self.records();
        if !records.contains_key(&source) && records.len() >= MAX_TRACKED {
            make_room(&mut records, &self.policy, now);
        }
        let record = records.entry(source).or_insert(Record {
            failures: 0,
            last_failure: now,
            locked_until: None,
        });
        if record.is_stale(&self.policy, now) {
            *record = Record {
                failures: 0,
                last_failure: now,
                locked_until: None,
            };
        }
        record.failures = record.failures.saturating_add(1);
        record.last_failure = now;
        if record.failures >= self.policy.max_failures && record.locked_until.is_none() {
            record.locked_until = Some(now + self.policy.lockout);
            return Some(self.policy.lockout);
        }
        None
    }

    /// The right password from `source`: its count starts again.
    pub fn succeeded(&self, source: SourceAddress) {
        self.records().remove(&source);
    }

    /// How many addresses are remembered (for tests and metrics).
    pub fn tracked(&self) -> usize {
        self.records().len()
    }
}

/// Forgets every stale entry; if none is stale, the one whose last failure is oldest.
fn make_room(records: &mut HashMap<SourceAddress, Record>, policy: &AttemptPolicy, now: Instant) {
    records.retain(|_, record| !record.is_stale(policy, now));
    if records.len() >= MAX_TRACKED
        && let Some(oldest) = records
            .iter()
            .min_by_key(|(_, record)| record.last_failure)
            .map(|(source, _)| *source)
    {
        records.remove(&oldest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: AttemptPolicy = AttemptPolicy {
        max_failures: 3,
        lockout: Duration::from_secs(60),
    };

    fn ip(last: u8) -> SourceAddress {
        SourceAddress::Ip(IpAddr::from([203, 0, 113, last]))
    }

    #[test]
    fn the_nth_wrong_password_locks_the_address_out_and_no_other() {
        let table = WrongPasswords::new(POLICY);
        let t0 = Instant::now();
        assert_eq!(table.failed(ip(1), t0), None);
        assert_eq!(table.failed(ip(1), t0), None);
        assert_eq!(table.check(ip(1), t0), Ok(()));
        assert_eq!(table.failed(ip(1), t0), Some(Duration::from_secs(60)));
        let later = t0 + Duration::from_secs(20);
        assert_eq!(table.check(ip(1), later), Err(Duration::from_secs(40)));
        assert_eq!(table.check(ip(2), later), Ok(()));
        assert_eq!(table.check(SourceAddress::Unknown, later), Ok(()));
    }

    #[test]
    fn the_lockout_ends_and_the_count_starts_again() {
        let table = WrongPasswords::new(POLICY);
        let t0 = Instant::now();
        for _ in 0..3 {
            table.failed(ip(1), t0);
        }
        let after = t0 + Duration::from_secs(60);
        assert_eq!(table.check(ip(1), after), Ok(()));
        assert_eq!(table.failed(ip(1), after), None, "a fresh count");
        assert_eq!(table.tracked(), 1);
    }

    #[test]
    fn failures_spread_wider_than_the_window_never_lock() {
        let table = WrongPasswords::new(POLICY);
        let t0 = Instant::now();
        for i in 0..10 {
            let at = t0 + Duration::from_secs(61 * i);
            assert_eq!(table.failed(ip(1), at), None);
            assert_eq!(table.check(ip(1), at), Ok(()));
        }
    }

    #[test]
    fn the_right_password_clears_the_count() {
        let table = WrongPasswords::new(POLICY);
        let t0 = Instant::now();
        table.failed(ip(1), t0);
        table.failed(ip(1), t0);
        table.succeeded(ip(1));
        assert_eq!(table.failed(ip(1), t0), None);
        assert_eq!(table.failed(ip(1), t0), None);
        assert!(table.failed(ip(1), t0).is_some());
    }

    #[test]
    fn a_flood_of_addresses_stays_bounded_and_keeps_live_lockouts() {
        let table = WrongPasswords::new(AttemptPolicy {
            max_failures: 1,
            lockout: Duration::from_secs(60),
        });
        let t0 = Instant::now();
        table.failed(ip(1), t0);
        for n in 0..(MAX_TRACKED as u32 + 500) {
            let addr = SourceAddress::Ip(IpAddr::from((n + 1_000).to_be_bytes()));
            table.failed(addr, t0 + Duration::from_millis(1 + u64::from(n)));
        }
        assert!(table.tracked() <= MAX_TRACKED);
        // The flood evicts oldest first, so the first address went; newer ones stay locked.
        let last = SourceAddress::Ip(IpAddr::from((MAX_TRACKED as u32 + 1_499).to_be_bytes()));
        assert!(table.check(last, t0 + Duration::from_secs(30)).is_err());
    }
}
