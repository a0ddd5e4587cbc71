//! What the property-based fuzz targets share: how many cases to run (env), a seeded runner,
//! the committed corpus in `functions/common/fuzz-corpus/`, and generators for bytes, text,
//! JSON-ish values and mutations of valid inputs.
//!
//! Each target replays its corpus (and the regressions, inputs that once failed) first, then
//! runs [`DEFAULT_CASES`] generated cases, shared among its properties, unless
//! `ONAIR_FUZZ_CASES` says otherwise. The seed is printed; `ONAIR_FUZZ_SEED=<seed>` replays a
//! run.

use std::path::PathBuf;
use std::time::Instant;

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngAlgorithm, RngSeed, TestCaseError, TestRunner};
use serde_json::Value;

use crate::rng::Rng;

/// Cases per target by default.
pub const DEFAULT_CASES: u32 = 100_000;

/// This property's share of its target's cases: `ONAIR_FUZZ_CASES` (default
/// [`DEFAULT_CASES`]) is per target, split among its properties by `percent`.
pub fn target_share(percent: u32) -> u32 {
    let total = cases("ONAIR_FUZZ_CASES", DEFAULT_CASES) as u64;
    (total * percent as u64 / 100).max(1) as u32
}

/// The case count: `var` if set to a number, else `default`.
pub fn cases(var: &str, default: u32) -> u32 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// The seed: `ONAIR_FUZZ_SEED`, or a fresh one from the clock.
pub fn seed() -> u64 {
    std::env::var("ONAIR_FUZZ_SEED")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        })
}

/// Runs `cases` generated inputs through `check`; on failure panics with the (shrunk) input and
/// the seed that replays it. Prints the cases run and the time taken.
pub fn run<S, F>(target: &str, cases: u32, strategy: S, check: F)
where
    S: Strategy,
    S::Value: std::fmt::Debug,
    F: Fn(S::Value) -> Result<(), TestCaseError>,
{
    let seed = seed();
    let config = Config {
        cases,
        // The corpus in the repository is the persistence; nothing is written next to the tests.
        failure_persistence: None,
        max_shrink_iters: 4_096,
        rng_seed: RngSeed::Fixed(seed),
        // ChaCha costs most of a case's time in a debug build; a fuzzer needs no crypto RNG.
        rng_algorithm: RngAlgorithm::XorShift,
        ..Config::default()
    };
    let started = Instant::now();
    let result = TestRunner::new(config).run(&strategy, check);
    let elapsed = started.elapsed();
    if let Err(err) = result {
        panic!("{target}: {err} (replay with ONAIR_FUZZ_SEED={seed})");
    }
    println!(
        "{target}: {cases} cases in {:.1} s (seed {seed})",
        elapsed.as_secs_f64()
    );
}

/// The committed corpus of `kind` (`request`, `token`, `twilio`), then the regressions named
/// `<kind>-*`: (file name, bytes), sorted by name.
pub fn corpus(kind: &str) -> Vec<(String, Vec<u8>)> {
    let root = corpus_root();
    let mut files = read_dir(&root.join(kind), |_| true);
    files.extend(read_dir(&root.join("regressions"), |name| {
        name.starts_with(&format!("{kind}-"))
    }));
    assert!(!files.is_empty(), "the {kind} corpus is empty");
    files
}

/// `functions/common/fuzz-corpus`, beside this crate in the workspace.
fn corpus_root() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions/common/fuzz-corpus")
}

fn read_dir(dir: &std::path::Path, keep: impl Fn(&str) -> bool) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .filter_map(Result::ok)
        .filter(|entry| entry.path().is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| keep(name) && !name.starts_with('.') && name != "README.md")
        .map(|name| {
            let bytes = std::fs::read(dir.join(&name)).unwrap();
            (name, bytes)
        })
        .collect();
    files.sort();
    files
}

/// Strings that tend to break parsers: empty, whitespace, quotes, escapes, control and
/// non-ASCII characters, numbers at the edges, our own prefixes and JWT-looking shapes.
pub const NASTY: &[&str] = &[
    "",
    " ",
    "\t\r\n",
    "\0",
    "\"",
    "\\",
    "\\u0000",
    "\u{feff}",
    "é",
    "🦀",
    "\u{202e}",
    "null",
    "true",
    "0",
    "-1",
    "1e309",
    "18446744073709551616",
    "-9223372036854775809",
    "{",
    "}",
    "[",
    "{}",
    "[]",
    "livestream-",
    "livestream-abc",
    "livestream-../x",
    "viewer-",
    "viewer-1",
    "presenter",
    "host",
    "Bearer",
    "Bearer ",
    "bearer x",
    "Basic YTpi",
    "a.b.c",
    "..",
    "eyJhbGciOiJub25lIn0..",
    "application/json",
    "text/plain",
    "application/json; charset=utf-8",
    "APPLICATION/JSON",
    "multipart/form-data; boundary=x",
    "%00",
    "../../etc/passwd",
    "https://video.twilio.com.evil.example/v1/Rooms",
    "RM0123456789abcdef0123456789abcdef",
    "AC0123456789abcdef0123456789abcdef",
    "in-progress",
    "completed",
];

/// A tiny generator (SplitMix64) that expands one drawn seed into many values: drawing each
/// byte through proptest costs microseconds apiece in a debug build, this costs nanoseconds.
pub struct Expand(Rng);

impl Expand {
    pub fn new(seed: u64) -> Expand {
        Expand(Rng::new(seed))
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        self.0.below(n as u64) as usize
    }
    /// A character: mostly printable ASCII, sometimes any scalar value or a JSON-significant one.
    pub fn char(&mut self) -> char {
        match self.below(10) {
            0 => char::from_u32(self.next_u64() as u32 % 0x11_0000).unwrap_or('\u{fffd}'),
            1 => [
                '"', '\\', '{', '}', '[', ']', ':', ',', '.', ' ', '\n', '\0',
            ][self.below(12)],
            _ => (0x20 + self.below(0x5f) as u8) as char,
        }
    }
}

/// Lengths: mostly short, sometimes up to `max`.
fn length(max: usize) -> BoxedStrategy<usize> {
    prop_oneof![4 => 0..=max.min(32), 1 => 0..=max].boxed()
}

/// Any bytes, mostly short.
pub fn bytes(max: usize) -> BoxedStrategy<Vec<u8>> {
    (length(max), any::<u64>())
        .prop_map(|(len, seed)| {
            let mut expand = Expand::new(seed);
            (0..len).map(|_| expand.next_u64() as u8).collect()
        })
        .boxed()
}

/// Text: a nasty string, or up to `max_chars` characters (mostly printable ASCII).
pub fn text(max_chars: usize) -> BoxedStrategy<String> {
    prop_oneof![
        1 => prop::sample::select(NASTY).prop_map(str::to_owned),
        3 => (length(max_chars), any::<u64>()).prop_map(|(len, seed)| {
            let mut expand = Expand::new(seed);
            (0..len).map(|_| expand.char()).collect()
        }),
    ]
    .boxed()
}

/// A long run of one character, around `limit` bytes (just under, at, just over, far over).
pub fn huge(limit: usize) -> BoxedStrategy<String> {
    (
        prop_oneof![
            8 => prop::sample::select(vec![limit - 1, limit, limit + 1]),
            1 => Just(limit * 4),
        ],
        prop::sample::select(vec!['a', ' ', '{', '"', 'é']),
    )
        .prop_map(|(len, c)| c.to_string().repeat(len / c.len_utf8()))
        .boxed()
}

/// JSON values whose object keys come from `keys` (so they hit the fields the parsers look for)
/// and whose leaves are nasty strings, numbers at the edges, booleans and nulls.
pub fn json_value(keys: &'static [&'static str]) -> BoxedStrategy<Value> {
    // Built from one seed: proptest's recursive strategies build their layers anew for every
    // case, which dominated a case's time in a debug build.
    any::<u64>()
        .prop_map(move |seed| Expand::new(seed).json(keys, 3))
        .boxed()
}

/// A JSON object whose keys come from `keys`.
pub fn json_object(keys: &'static [&'static str]) -> BoxedStrategy<Value> {
    any::<u64>()
        .prop_map(move |seed| Expand::new(seed).object(keys, 3))
        .boxed()
}

impl Expand {
    /// A JSON value at most `depth` levels deep.
    pub fn json(&mut self, keys: &[&str], depth: u32) -> Value {
        match self.below(if depth == 0 { 6 } else { 9 }) {
            0 => Value::Null,
            1 => Value::Bool(self.next_u64() & 1 == 1),
            2 => [0, -1, 1, i64::MIN, i64::MAX, self.next_u64() as i64][self.below(6)].into(),
            3 => [u64::MAX, 1 << 53, self.next_u64()][self.below(3)].into(),
            4 => Value::from(f64::from_bits(self.next_u64())),
            5 => Value::String(self.text(24)),
            6 => Value::Array(
                (0..self.below(4))
                    .map(|_| self.json(keys, depth - 1))
                    .collect(),
            ),
            _ => self.object(keys, depth - 1),
        }
    }

    /// A JSON object of up to four members, keys mostly from `keys`.
    pub fn object(&mut self, keys: &[&str], depth: u32) -> Value {
        let members = (0..self.below(5))
            .map(|_| {
                let key = match self.below(5) {
                    0 => self.text(8),
                    _ => keys[self.below(keys.len())].to_owned(),
                };
                (key, self.json(keys, depth))
            })
            .collect();
        Value::Object(members)
    }

    /// A nasty string or up to `max_chars` characters.
    pub fn text(&mut self, max_chars: usize) -> String {
        match self.below(4) {
            0 => NASTY[self.below(NASTY.len())].to_owned(),
            _ => {
                let len = self.below(max_chars + 1);
                (0..len).map(|_| self.char()).collect()
            }
        }
    }
}

/// One edit of a byte string.
#[derive(Debug, Clone)]
pub enum Mutation {
    FlipBit(Index, u8),
    Set(Index, u8),
    Insert(Index, Vec<u8>),
    Delete(Index, usize),
    Truncate(Index),
    Duplicate(Index, usize),
    Swap(Index, Index),
}

pub fn mutation() -> BoxedStrategy<Mutation> {
    prop_oneof![
        (any::<Index>(), 0u8..8).prop_map(|(i, bit)| Mutation::FlipBit(i, bit)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (
            any::<Index>(),
            prop_oneof![
                prop::sample::select(NASTY).prop_map(|s| s.as_bytes().to_vec()),
                prop::collection::vec(any::<u8>(), 1..8),
            ]
        )
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<Index>(), 1usize..16).prop_map(|(i, n)| Mutation::Delete(i, n)),
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), 1usize..32).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::Swap(a, b)),
    ]
    .boxed()
}

/// `base` with the `edits` applied in order.
pub fn apply(base: &[u8], edits: &[Mutation]) -> Vec<u8> {
    let mut out = base.to_vec();
    for edit in edits {
        let len = out.len();
        let at = |i: &Index| if len == 0 { 0 } else { i.index(len) };
        match edit {
            Mutation::FlipBit(i, bit) if len > 0 => out[at(i)] ^= 1 << bit,
            Mutation::Set(i, b) if len > 0 => out[at(i)] = *b,
            Mutation::Insert(i, b) => {
                let at = if len == 0 { 0 } else { i.index(len + 1) };
                out.splice(at..at, b.iter().copied());
            }
            Mutation::Delete(i, n) if len > 0 => {
                let from = at(i);
                out.drain(from..(from + n).min(len));
            }
            Mutation::Truncate(i) => out.truncate(at(i)),
            Mutation::Duplicate(i, n) if len > 0 => {
                let from = at(i);
                let chunk = out[from..(from + n).min(len)].to_vec();
                out.splice(from..from, chunk);
            }
            Mutation::Swap(a, b) if len > 0 => out.swap(at(a), at(b)),
            _ => {}
        }
    }
    out
}

/// One to four edits.
pub fn mutations() -> BoxedStrategy<Vec<Mutation>> {
    prop::collection::vec(mutation(), 1..5).boxed()
}
