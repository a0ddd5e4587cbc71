//! Fuzzing `token::verify`: arbitrary strings and forgeries made from valid tokens (edited bytes,
//! another `alg`, swapped segments, re-signed with another key, or with our key but a header or
//! claims we never write). `verify` never panics and accepts nothing but a token exactly as we
//! minted it; minting and verifying round-trip for any identity, room, grant and time.
//!
//! Cases: `ONAIR_FUZZ_CASES` for the target (default 100,000): 50% arbitrary strings, 40%
//! forgeries, 10% round trips.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use onair_common::config::Secrets;
use onair_common::ids::{Identity, RoomName};
use onair_common::token::{self, Grant, TWILIO_CTY, TokenError};
use onair_test_support::fuzz::*;
use onair_test_support::jwt::claims as claims_of;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use serde_json::{Value, json};

const OUR_KEY: &str = "our-api-key-secret-0123456789abcdef";
const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
const API_KEY_SID: &str = "SKfedcba9876543210fedcba9876543210";

fn secrets() -> Secrets {
    let source: HashMap<String, String> = [
        ("TWILIO_ACCOUNT_SID", ACCOUNT_SID),
        ("TWILIO_API_KEY_SID", API_KEY_SID),
        ("TWILIO_API_KEY_SECRET", OUR_KEY),
        ("HOST_PASSWORD", "unused"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    Secrets::from_source(&source).expect("test secrets parse")
}

/// A name of `len` characters from `A-Z a-z 0-9` and `punctuation`.
fn name(len: usize, seed: u64, punctuation: &[u8]) -> String {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut expand = Expand::new(seed);
    (0..len)
        .map(|_| {
            let i = expand.below(ALNUM.len() + punctuation.len());
            *ALNUM
                .get(i)
                .unwrap_or_else(|| &punctuation[i - ALNUM.len()]) as char
        })
        .collect()
}

fn identity() -> impl Strategy<Value = Identity> {
    (
        prop_oneof![3 => 1usize..=16, 1 => 1usize..=128],
        any::<u64>(),
    )
        .prop_map(|(len, seed)| {
            Identity::parse(&name(len, seed, b"-_.@+")).expect("a valid identity")
        })
}

fn room() -> impl Strategy<Value = RoomName> {
    (
        prop_oneof![3 => 1usize..=16, 1 => 1usize..=117],
        any::<u64>(),
    )
        .prop_map(|(len, seed)| {
            RoomName::parse(&format!("livestream-{}", name(len, seed, b"-_")))
                .expect("a valid room")
        })
}

fn grant() -> impl Strategy<Value = Grant> {
    prop_oneof![
        room().prop_map(Grant::VideoRoom),
        // Twilio's PlaybackGrant is always an object, of strings and integers: serde_json reads
        // a float back to the nearest value only within an ulp, so floats are left out.
        json_object(&[
            "playbackGrant",
            "requestCredentials",
            "playerStreamerSid",
            "expiration"
        ])
        .prop_map(|grant| Grant::Playback(without_floats(grant))),
    ]
}

fn without_floats(value: Value) -> Value {
    match value {
        Value::Number(n) if n.is_f64() => Value::from(n.as_f64().unwrap_or(0.0) as i64),
        Value::Array(items) => Value::Array(items.into_iter().map(without_floats).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, without_floats(v)))
                .collect(),
        ),
        other => other,
    }
}

/// A time anywhere, the edges of u64 included.
fn instant() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => 1_600_000_000u64..2_000_000_000,
        1 => any::<u64>(),
        1 => (u64::MAX - 100_000)..=u64::MAX,
    ]
}

/// What a minted token and its inputs look like.
#[derive(Debug, Clone)]
struct Minted {
    identity: Identity,
    grant: Grant,
    now: u64,
    ttl: u64,
}

fn minted() -> impl Strategy<Value = Minted> {
    (identity(), grant(), instant(), 1u64..=u32::MAX as u64).prop_map(
        |(identity, grant, now, ttl)| Minted {
            identity,
            grant,
            now,
            ttl,
        },
    )
}

impl Minted {
    fn jwt(&self, secrets: &Secrets) -> token::MintedToken {
        token::mint(secrets, &self.identity, &self.grant, self.now, self.ttl)
    }
}

/// A forgery made from a valid token.
#[derive(Debug, Clone)]
enum Forgery {
    /// The token's text with bytes edited.
    Edited(Vec<Mutation>),
    /// Another header (alg, cty, typ), payload and signature kept.
    Header(Value),
    /// The three segments in another order, or some of them repeated.
    Segments([usize; 3]),
    /// The claims re-signed with another key.
    OtherKey(Vec<u8>),
    /// Re-signed with our key, but with a header or claims we never write.
    OurKeyOddly(OddSigning),
}

#[derive(Debug, Clone)]
enum OddSigning {
    NoCty,
    OtherCty(String),
    OtherAlg(Algorithm),
    Issuer(String),
    Subject(String),
}

fn forgery() -> impl Strategy<Value = Forgery> {
    let header = prop_oneof![
        prop::sample::select(vec![
            "none", "None", "NONE", "HS384", "HS512", "RS256", "ES256", "EdDSA", "", "hs256",
            "HS256 ",
        ])
        .prop_map(|alg| json!({ "alg": alg, "typ": "JWT", "cty": TWILIO_CTY })),
        json_object(&["alg", "typ", "cty", "kid", "jku", "x5u", "crit"]),
    ];
    let odd = prop_oneof![
        Just(OddSigning::NoCty),
        text(16)
            .prop_filter("another cty", |c| c != TWILIO_CTY)
            .prop_map(OddSigning::OtherCty),
        prop::sample::select(vec![Algorithm::HS384, Algorithm::HS512])
            .prop_map(OddSigning::OtherAlg),
        text(40)
            .prop_filter("another issuer", |s| s != API_KEY_SID)
            .prop_map(OddSigning::Issuer),
        text(40)
            .prop_filter("another subject", |s| s != ACCOUNT_SID)
            .prop_map(OddSigning::Subject),
    ];
    prop_oneof![
        4 => mutations().prop_map(Forgery::Edited),
        2 => header.prop_map(Forgery::Header),
        1 => [0usize..3, 0usize..3, 0usize..3].prop_map(Forgery::Segments),
        1 => prop::collection::vec(any::<u8>(), 1..48)
            .prop_filter("another key", |k| k != OUR_KEY.as_bytes())
            .prop_map(Forgery::OtherKey),
        2 => odd.prop_map(Forgery::OurKeyOddly),
    ]
}

fn segments(jwt: &str) -> Vec<String> {
    jwt.split('.').map(str::to_owned).collect()
}

fn sign(header: &Header, claims: &Value, key: &[u8]) -> String {
    jsonwebtoken::encode(header, claims, &EncodingKey::from_secret(key)).unwrap()
}

fn forge(jwt: &str, forgery: &Forgery) -> String {
    let parts = segments(jwt);
    let mut claims = claims_of(jwt);
    let mut header = Header::new(Algorithm::HS256);
    header.cty = Some(TWILIO_CTY.to_owned());
    match forgery {
        Forgery::Edited(edits) => {
            String::from_utf8_lossy(&apply(jwt.as_bytes(), edits)).into_owned()
        }
        Forgery::Header(value) => {
            let header = URL_SAFE_NO_PAD.encode(value.to_string());
            format!("{header}.{}.{}", parts[1], parts[2])
        }
        Forgery::Segments(order) => order
            .iter()
            .map(|&i| parts[i].as_str())
            .collect::<Vec<_>>()
            .join("."),
        Forgery::OtherKey(key) => sign(&header, &claims, key),
        Forgery::OurKeyOddly(odd) => {
            match odd {
                OddSigning::NoCty => header.cty = None,
                OddSigning::OtherCty(cty) => header.cty = Some(cty.clone()),
                OddSigning::OtherAlg(alg) => header.alg = *alg,
                OddSigning::Issuer(iss) => claims["iss"] = json!(iss),
                OddSigning::Subject(sub) => claims["sub"] = json!(sub),
            }
            sign(&header, &claims, OUR_KEY.as_bytes())
        }
    }
}

#[test]
fn the_token_corpus_is_refused_without_panicking() {
    let secrets = secrets();
    for (name, bytes) in corpus("token") {
        let text = String::from_utf8_lossy(&bytes);
        for now in [0, 1_700_000_000, u64::MAX - 30, u64::MAX] {
            let outcome = token::verify(&secrets, text.trim_end_matches('\n'), now);
            assert!(outcome.is_err(), "{name} was accepted at {now}");
        }
    }
}

#[test]
fn arbitrary_strings_are_never_tokens() {
    let secrets = secrets();
    // Text, and JWT-shaped text: three base64url segments of JSON-ish values.
    let shaped = (
        json_object(&["alg", "typ", "cty"]),
        json_object(&[
            "iss", "sub", "exp", "nbf", "jti", "grants", "identity", "video", "room",
        ]),
        bytes(48),
    )
        .prop_map(|(h, c, sig)| {
            format!(
                "{}.{}.{}",
                URL_SAFE_NO_PAD.encode(h.to_string()),
                URL_SAFE_NO_PAD.encode(c.to_string()),
                URL_SAFE_NO_PAD.encode(sig)
            )
        });
    let strategy = (prop_oneof![text(200), shaped], instant());
    run(
        "fuzz_token arbitrary",
        target_share(50),
        strategy,
        |(jwt, now)| {
            prop_assert!(token::verify(&secrets, &jwt, now).is_err());
            Ok(())
        },
    );
}

#[test]
fn forgeries_of_valid_tokens_are_refused() {
    let secrets = secrets();
    // Forged from a pool of tokens minted once: minting for every case doubled its time.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let pool: Vec<(u64, String)> = (0..256)
        .map(|_| {
            let minted = minted().new_tree(&mut runner).unwrap().current();
            (minted.now, minted.jwt(&secrets).jwt)
        })
        .collect();
    run(
        "fuzz_token forgeries",
        target_share(40),
        (prop::sample::select(pool), forgery()),
        |((now, original), forgery)| {
            let forged = forge(&original, &forgery);
            // Checked while the original is valid, so only the forgery can make it fail.
            if let Ok(verified) = token::verify(&secrets, &forged, now) {
                prop_assert_eq!(&forged, &original, "a forgery was accepted: {:?}", verified);
            }
            Ok(())
        },
    );
}

#[test]
fn minted_tokens_verify_until_they_expire() {
    let secrets = secrets();
    run(
        "fuzz_token round trip",
        target_share(10),
        (minted(), any::<prop::sample::Index>()),
        |(minted, at)| {
            let jwt = minted.jwt(&secrets);
            prop_assert_eq!(jwt.expires_at, minted.now.saturating_add(minted.ttl));
            if jwt.expires_at > minted.now {
                // Any instant from minting until just before expiry.
                let span = (jwt.expires_at - minted.now) as usize;
                let now = minted.now + at.index(span.max(1)) as u64;
                let verified = token::verify(&secrets, &jwt.jwt, now)
                    .map_err(|err| TestCaseError::fail(format!("refused at {now}: {err}")))?;
                prop_assert_eq!(&verified.identity, &minted.identity);
                prop_assert_eq!(&verified.grant, &minted.grant);
                prop_assert_eq!(verified.expires_at, jwt.expires_at);
            }
            prop_assert_eq!(
                token::verify(&secrets, &jwt.jwt, jwt.expires_at),
                Err(TokenError::Expired)
            );
            Ok(())
        },
    );
}
