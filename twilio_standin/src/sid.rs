//! Twilio resource identifiers: a two-letter prefix and 32 lowercase hex digits, random.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A fresh sid such as `RM3f...` (34 characters).
pub(crate) fn new_sid(prefix: &str) -> String {
    format!("{prefix}{}", random_hex(16))
}

/// `bytes` random bytes as lowercase hex. Falls back to a time-and-counter mix if the operating
/// system's generator is unavailable, so identifiers stay unique either way.
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    if getrandom::fill(&mut buf).is_err() {
        fallback_fill(&mut buf);
    }
    hex(&buf)
}

/// `bytes` as lowercase hex, two digits a byte.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn fallback_fill(buf: &mut [u8]) {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut x =
        nanos ^ COUNTER.fetch_add(1, Ordering::Relaxed).rotate_left(32) ^ 0x9e37_79b9_7f4a_7c15;
    for b in buf.iter_mut() {
        // xorshift64*
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        *b = (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8;
    }
}

/// Whether `s` is `prefix` followed by exactly 32 hex digits.
pub(crate) fn is_sid(s: &str, prefix: &str) -> bool {
    s.len() == 34
        && s.starts_with(prefix)
        && s.as_bytes()[2..].iter().all(|b| b.is_ascii_hexdigit())
}
