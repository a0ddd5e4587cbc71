//! Twilio access tokens (docs/ARCHITECTURE.md, Access tokens): minting them as Twilio's helper libraries do, and
//! verifying the ones this service signed.
//!
//! Header `{"alg":"HS256","typ":"JWT","cty":"twilio-fpa;v=1"}`; claims `jti`, `iss` (API key SID),
//! `sub` (account SID), `nbf`, `exp` and `grants` with the identity and a video room or a Live
//! PlaybackGrant. Signed with the API key secret. Meeting tokens ([`mint_meeting`]) are the same
//! with a meeting's room; [`verify`] never accepts them, so they cannot stand in for a host's or
//! a viewer's token.
//!
//! The host's session (`host_session`, the studio's sign-in) is a token of the same kind that
//! only this service reads: its grant is `"onair_host_session": true`, with no room and no
//! player, so it opens no Twilio room and no room token is taken for it.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::Secrets;
use crate::ids::{Identity, MeetingIdentity, MeetingRoom, RoomName};
use crate::secret::ExposeSecret;

/// The content type Twilio expects in the header of its access tokens.
pub const TWILIO_CTY: &str = "twilio-fpa;v=1";

/// What a token grants besides the identity.
#[derive(Debug, Clone, PartialEq)]
pub enum Grant {
    /// Join this Video room.
    VideoRoom(RoomName),
    /// Watch a Twilio Live stream: Twilio's PlaybackGrant object, verbatim.
    Playback(serde_json::Value),
    /// The host signed in (OnAir's own grant): may open studio rooms, joins none.
    HostSession,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    jti: String,
    iss: String,
    sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<u64>,
    exp: u64,
    grants: Grants,
}

#[derive(Debug, Serialize, Deserialize)]
struct Grants {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    identity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    video: Option<VideoGrant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    player: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    onair_host_session: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct VideoGrant {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    room: Option<String>,
}

/// A minted token and when it stops being valid (unix seconds).
pub struct MintedToken {
    pub jwt: String,
    pub expires_at: u64,
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Mints an access token valid from `now` for `ttl_secs`.
pub fn mint(
    secrets: &Secrets,
    identity: &Identity,
    grant: &Grant,
    now: u64,
    ttl_secs: u64,
) -> MintedToken {
    let grants = match grant {
        Grant::VideoRoom(room) => Grants::video(identity.as_str(), room.as_str()),
        Grant::Playback(grant) => Grants {
            identity: Some(identity.as_str().to_owned()),
            video: None,
            player: Some(grant.clone()),
            onair_host_session: false,
        },
        Grant::HostSession => Grants {
            identity: Some(identity.as_str().to_owned()),
            video: None,
            player: None,
            onair_host_session: true,
        },
    };
    sign(secrets, grants, now, ttl_secs)
}

/// Mints a meeting participant's token: join the meeting's `room` as `identity`.
pub fn mint_meeting(
    secrets: &Secrets,
    identity: &MeetingIdentity,
    room: &MeetingRoom,
    now: u64,
    ttl_secs: u64,
) -> MintedToken {
    sign(
        secrets,
        Grants::video(identity.as_str(), room.as_str()),
        now,
        ttl_secs,
    )
}

impl Grants {
    fn video(identity: &str, room: &str) -> Grants {
        Grants {
            identity: Some(identity.to_owned()),
            video: Some(VideoGrant {
                room: Some(room.to_owned()),
            }),
            player: None,
            onair_host_session: false,
        }
    }
}

fn sign(secrets: &Secrets, grants: Grants, now: u64, ttl_secs: u64) -> MintedToken {
    let claims = Claims {
        jti: format!("{}-{now}", secrets.api_key_sid),
        iss: secrets.api_key_sid.as_str().to_owned(),
        sub: secrets.account_sid.as_str().to_owned(),
        iat: None,
        nbf: Some(now),
        exp: now.saturating_add(ttl_secs),
        grants,
    };
    let mut header = Header::new(Algorithm::HS256);
    header.cty = Some(TWILIO_CTY.to_owned());
    let key = EncodingKey::from_secret(secrets.api_key_secret.expose_secret().as_bytes());
    // Encoding claims made of strings and numbers with an HMAC key cannot fail.
    let jwt = jsonwebtoken::encode(&header, &claims, &key).unwrap_or_default();
    MintedToken {
        jwt,
        expires_at: claims.exp,
    }
}

/// A token this service signed, checked and taken apart.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedToken {
    pub identity: Identity,
    pub grant: Grant,
    pub expires_at: u64,
}

/// Why a token was refused. Deliberately coarse: callers answer 401 without detail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed or its signature is wrong")]
    Invalid,
    #[error("the token has expired")]
    Expired,
    #[error("the token does not grant access to a room or stream")]
    NoGrant,
}

/// Checks signature (HS256 with our API key secret only), issuer, subject, expiry at `now`,
/// the `cty` header and the grants.
pub fn verify(secrets: &Secrets, jwt: &str, now: u64) -> Result<VerifiedToken, TokenError> {
    let header = jsonwebtoken::decode_header(jwt).map_err(|_| TokenError::Invalid)?;
    if header.alg != Algorithm::HS256 || header.cty.as_deref() != Some(TWILIO_CTY) {
        return Err(TokenError::Invalid);
    }
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[secrets.api_key_sid.as_str()]);
    validation.sub = Some(secrets.account_sid.as_str().to_owned());
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    // Expiry is checked below against `now`, so tests can move the clock.
    validation.validate_exp = false;
    validation.validate_aud = false;
    let key = DecodingKey::from_secret(secrets.api_key_secret.expose_secret().as_bytes());
    let claims = jsonwebtoken::decode::<Claims>(jwt, &key, &validation)
        .map_err(|_| TokenError::Invalid)?
        .claims;
    if claims.exp <= now {
        return Err(TokenError::Expired);
    }
    // A minute of clock skew is allowed; `now` near u64::MAX must not overflow.
    if claims.nbf.is_some_and(|nbf| nbf > now.saturating_add(60)) {
        return Err(TokenError::Invalid);
    }
    let identity = claims
        .grants
        .identity
        .as_deref()
        .and_then(Identity::parse)
        .ok_or(TokenError::NoGrant)?;
    let grants = claims.grants;
    let grant = match (grants.video, grants.player, grants.onair_host_session) {
        (Some(VideoGrant { room: Some(room) }), None, false) => {
            Grant::VideoRoom(RoomName::parse(&room).ok_or(TokenError::NoGrant)?)
        }
        (None, Some(player), false) => Grant::Playback(player),
        (None, None, true) => Grant::HostSession,
        _ => return Err(TokenError::NoGrant),
    };
    Ok(VerifiedToken {
        identity,
        grant,
        expires_at: claims.exp,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::Secrets;
    use crate::ids::{RoomName, Sid};
    use base64::Engine;
    use serde_json::{Value, json};

    const VECTORS: &str = include_str!("../../../specs/twilio/access-token-vectors.json");

    fn vector_secrets(doc: &Value) -> Secrets {
        Secrets {
            account_sid: Sid::parse("AC", doc["account_sid"].as_str().unwrap()).unwrap(),
            api_key_sid: Sid::parse("SK", doc["api_key_sid"].as_str().unwrap()).unwrap(),
            api_key_secret: doc["api_key_secret"].as_str().unwrap().into(),
            host_password: crate::password::HostPassword::Plain("unused".into()),
            auth_token: None,
            ivs_private_key: None,
        }
    }

    fn decode_part(part: &str) -> Value {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    /// Mints a token for every vector Twilio's libraries made and compares header and claims.
    /// twilio-node writes `iat` where twilio-python and OnAir write `nbf` (same instant).
    #[test]
    fn tokens_match_twilios_helper_libraries_claim_by_claim() {
        let doc: Value = serde_json::from_str(VECTORS).unwrap();
        let secrets = vector_secrets(&doc);
        let now = doc["now"].as_u64().unwrap();
        let mut compared = 0;
        for vector in doc["vectors"].as_array().unwrap() {
            let inputs = &vector["inputs"];
            if inputs.get("region").is_some() {
                continue; // OnAir never pins a region; the `twr` header is not used.
            }
            let identity = Identity::parse(inputs["identity"].as_str().unwrap()).unwrap();
            let grant = if let Some(video) = inputs.get("video") {
                Grant::VideoRoom(RoomName::unchecked(video["room"].as_str().unwrap()))
            } else {
                Grant::Playback(inputs["player"].clone())
            };
            let minted = mint(
                &secrets,
                &identity,
                &grant,
                now,
                inputs["ttl"].as_u64().unwrap(),
            );
            let parts: Vec<&str> = minted.jwt.split('.').collect();
            assert_eq!(parts.len(), 3);
            assert_eq!(
                decode_part(parts[0]),
                vector["header"],
                "{}",
                vector["made_by"]
            );
            let mut expected = vector["payload"].clone();
            if let Some(iat) = expected.as_object_mut().unwrap().remove("iat") {
                expected["nbf"] = iat;
            }
            assert_eq!(
                decode_part(parts[1]),
                expected,
                "{} {}",
                vector["made_by"],
                vector["name"]
            );
            assert_eq!(minted.expires_at, expected["exp"].as_u64().unwrap());
            // The libraries' own tokens verify with our verifier where they carry a room we own
            // or a playback grant; and ours verify too.
            assert!(matches!(
                verify(&secrets, &minted.jwt, now),
                Ok(_) | Err(TokenError::NoGrant)
            ));
            compared += 1;
        }
        assert!(compared >= 4, "only {compared} vectors compared");
    }

    /// The python library's token (same inputs, same key) is byte-for-byte what we make.
    #[test]
    fn python_vector_is_reproduced_exactly() {
        let doc: Value = serde_json::from_str(VECTORS).unwrap();
        let secrets = vector_secrets(&doc);
        let vector = doc["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| {
                v["made_by"].as_str().unwrap().starts_with("twilio-python")
                    && v["name"] == "live-playback"
            })
            .unwrap();
        let identity = Identity::parse("viewer-bob").unwrap();
        let minted = mint(
            &secrets,
            &identity,
            &Grant::Playback(vector["inputs"]["player"].clone()),
            1_700_000_000,
            600,
        );
        let ours: Vec<&str> = minted.jwt.split('.').collect();
        let theirs: Vec<&str> = vector["jwt"].as_str().unwrap().split('.').collect();
        assert_eq!(decode_part(ours[1]), decode_part(theirs[1]));
        // And the library's token passes our verifier, with its grant intact.
        let verified = verify(&secrets, vector["jwt"].as_str().unwrap(), 1_700_000_001).unwrap();
        assert_eq!(verified.identity.as_str(), "viewer-bob");
        assert_eq!(
            verified.grant,
            Grant::Playback(vector["inputs"]["player"].clone())
        );
    }

    /// Secrets for unit tests, with `key` as the API key secret.
    pub(crate) fn test_secrets(key: &str) -> Secrets {
        Secrets {
            account_sid: Sid::parse("AC", "AC0123456789abcdef0123456789abcdef").unwrap(),
            api_key_sid: Sid::parse("SK", "SKfedcba9876543210fedcba9876543210").unwrap(),
            api_key_secret: key.into(),
            host_password: crate::password::HostPassword::Plain("unused".into()),
            auth_token: None,
            ivs_private_key: None,
        }
    }

    /// A meeting token names the meeting's room and the identity with the display name, and is
    /// never taken for a host's or a viewer's token.
    #[test]
    fn meeting_tokens_join_the_meeting_room_only() {
        use crate::ids::{DisplayName, MeetingId};
        let secrets = test_secrets("our-key");
        let room = MeetingRoom::of(&MeetingId::parse("abcdefghijkl").unwrap());
        let identity = MeetingIdentity::new(&DisplayName::parse("Ana").unwrap());
        let minted = mint_meeting(&secrets, &identity, &room, 1000, 600);
        let claims = decode_part(minted.jwt.split('.').nth(1).unwrap());
        assert_eq!(claims["grants"]["identity"], identity.as_str());
        assert_eq!(claims["grants"]["video"]["room"], "meeting-abcdefghijkl");
        assert_eq!(
            (claims["nbf"].as_u64(), minted.expires_at),
            (Some(1000), 1600)
        );
        assert_eq!(
            verify(&secrets, &minted.jwt, 1030),
            Err(TokenError::NoGrant)
        );
    }

    /// A host session names no room and no player; it comes back as itself, and a token that
    /// mixes it with a room or a player is no grant at all.
    #[test]
    fn a_host_session_is_its_own_grant_and_mixes_with_no_other() {
        let secrets = test_secrets("our-key");
        let host = Identity::parse("host").unwrap();
        let session = mint(&secrets, &host, &Grant::HostSession, 1000, 43_200);
        let claims = decode_part(session.jwt.split('.').nth(1).unwrap());
        assert_eq!(
            claims["grants"],
            json!({ "identity": "host", "onair_host_session": true })
        );
        let verified = verify(&secrets, &session.jwt, 2000).unwrap();
        assert_eq!(
            (verified.identity, verified.grant),
            (host, Grant::HostSession)
        );

        // A room token says nothing of a session.
        let room = RoomName::parse("livestream-abc").unwrap();
        let room_token = mint(
            &secrets,
            &Identity::parse("host").unwrap(),
            &Grant::VideoRoom(room),
            1000,
            60,
        );
        let claims = decode_part(room_token.jwt.split('.').nth(1).unwrap());
        assert!(claims["grants"].get("onair_host_session").is_none());

        let key = jsonwebtoken::EncodingKey::from_secret(b"our-key");
        let mut header = Header::new(Algorithm::HS256);
        header.cty = Some(TWILIO_CTY.to_owned());
        for grants in [
            json!({ "identity": "host", "onair_host_session": true, "video": { "room": "livestream-abc" } }),
            json!({ "identity": "host", "onair_host_session": true, "player": {} }),
            json!({ "identity": "host", "onair_host_session": false }),
        ] {
            let claims = json!({
                "jti": "SK-1000", "iss": "SKfedcba9876543210fedcba9876543210",
                "sub": "AC0123456789abcdef0123456789abcdef", "nbf": 1000, "exp": 5000, "grants": grants,
            });
            let jwt = jsonwebtoken::encode(&header, &claims, &key).unwrap();
            assert_eq!(
                verify(&secrets, &jwt, 2000),
                Err(TokenError::NoGrant),
                "{grants}"
            );
        }
    }

    /// Times at the end of u64 neither overflow (a panic in debug builds) nor wrap around.
    #[test]
    fn times_near_the_end_of_u64_saturate() {
        let secrets = test_secrets("our-key");
        let room = RoomName::parse("livestream-abc").unwrap();
        let viewer = Identity::parse("viewer-1").unwrap();
        let late = mint(
            &secrets,
            &viewer,
            &Grant::VideoRoom(room),
            u64::MAX - 10,
            600,
        );
        assert_eq!(late.expires_at, u64::MAX);
        assert!(verify(&secrets, &late.jwt, u64::MAX - 5).is_ok());
        assert_eq!(
            verify(&secrets, &late.jwt, u64::MAX),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn verifier_refuses_what_we_did_not_sign_or_no_longer_honour() {
        let secrets = test_secrets("our-key");
        let room = RoomName::parse("livestream-abc").unwrap();
        let viewer = Identity::parse("viewer-1").unwrap();
        let good = mint(&secrets, &viewer, &Grant::VideoRoom(room.clone()), 1000, 60);
        let ok = verify(&secrets, &good.jwt, 1030).unwrap();
        assert_eq!(ok.grant, Grant::VideoRoom(room.clone()));
        assert_eq!(verify(&secrets, &good.jwt, 1060), Err(TokenError::Expired));

        let other_key = mint(
            &test_secrets("their-key"),
            &viewer,
            &Grant::VideoRoom(room.clone()),
            1000,
            60,
        );
        assert_eq!(
            verify(&secrets, &other_key.jwt, 1030),
            Err(TokenError::Invalid)
        );

        let mut other_account = test_secrets("our-key");
        other_account.account_sid = Sid::parse("AC", "ACffffffffffffffffffffffffffffffff").unwrap();
        let foreign = mint(
            &other_account,
            &viewer,
            &Grant::VideoRoom(room.clone()),
            1000,
            60,
        );
        assert_eq!(
            verify(&secrets, &foreign.jwt, 1030),
            Err(TokenError::Invalid)
        );

        // alg none, with the claims of a valid token.
        let payload = good.jwt.split('.').nth(1).unwrap();
        let none_header = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(json!({"alg": "none", "typ": "JWT", "cty": TWILIO_CTY}).to_string());
        assert_eq!(
            verify(&secrets, &format!("{none_header}.{payload}."), 1030),
            Err(TokenError::Invalid)
        );

        // A tampered payload keeps the old signature.
        let mut claims = decode_part(payload);
        claims["grants"]["identity"] = json!("host");
        let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string());
        let parts: Vec<&str> = good.jwt.split('.').collect();
        assert_eq!(
            verify(
                &secrets,
                &format!("{}.{forged}.{}", parts[0], parts[2]),
                1030
            ),
            Err(TokenError::Invalid)
        );

        for junk in ["", "a.b.c", "not a token", "....."] {
            assert_eq!(
                verify(&secrets, junk, 1030),
                Err(TokenError::Invalid),
                "{junk:?}"
            );
        }
    }
}
