//! Random values from the operating system: names, identities, meeting ids, salts and retry
//! jitter.

/// `bytes` random bytes as lowercase hex.
pub fn hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    fill(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// A random number in `0..bound` (bound > 0), for jitter; slight modulo bias is harmless there.
pub fn below(bound: u64) -> u64 {
    let mut buf = [0u8; 8];
    fill(&mut buf);
    u64::from_le_bytes(buf) % bound.max(1)
}

/// `len` random characters from `alphabet` (ASCII, at most 128 symbols), each equally likely:
/// bytes that would bias the choice are drawn again.
pub fn from_alphabet(alphabet: &[u8], len: usize) -> String {
    debug_assert!(alphabet.is_ascii());
    let size = alphabet.len().clamp(1, 128);
    // The largest multiple of `size` that fits in a byte's 256 values.
    let unbiased = 256 - 256 % size;
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for byte in bytes::<32>() {
            if usize::from(byte) < unbiased && out.len() < len {
                out.push(char::from(alphabet[usize::from(byte) % size]));
            }
        }
    }
    out
}

/// `N` random bytes (salts).
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    fill(&mut buf);
    buf
}

fn fill(buf: &mut [u8]) {
    // The OS random source failing is not something a request can recover from or explain.
    getrandom::fill(buf).expect("the operating system's random source failed");
}
