//! Twilio access tokens as the relay checks them (and, for tests and the load harness, mints
//! them): a JWT with header `{"alg":"HS256","typ":"JWT","cty":"twilio-fpa;v=1"}`, signed with
//! HMAC-SHA256 and the account's API key secret, `iss` = the API key SID, `sub` = the account
//! SID, `exp` compared with the stand-in's clock, and `grants.identity` plus either
//! `grants.video.room` or `grants.player` (a Live PlaybackGrant with `playerStreamerSid`).
//!
//! Refusals carry Twilio's access-token error codes (20101 to 20107), so a page sees what the
//! real Twilio SDK would report.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::account::Account;

type HmacSha256 = Hmac<Sha256>;

/// The content type Twilio puts in the header of its access tokens.
pub const TWILIO_CTY: &str = "twilio-fpa;v=1";

/// Seconds of clock skew tolerated for `nbf`, as Twilio's own checks allow.
const NBF_LEEWAY_SECS: i64 = 60;

/// Twilio's access-token error codes.
pub(crate) const INVALID_TOKEN: u32 = 20101;
pub(crate) const INVALID_HEADER: u32 = 20102;
pub(crate) const INVALID_ISSUER: u32 = 20103;
pub(crate) const EXPIRED: u32 = 20104;
pub(crate) const NOT_YET_VALID: u32 = 20105;
pub(crate) const INVALID_GRANTS: u32 = 20106;
pub(crate) const INVALID_SIGNATURE: u32 = 20107;

/// Why a token was refused: a Twilio error code and a message for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenError {
    pub(crate) code: u32,
    pub(crate) message: &'static str,
}

const fn refuse(code: u32, message: &'static str) -> TokenError {
    TokenError { code, message }
}

/// What a verified token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claims {
    pub(crate) identity: String,
    /// `grants.video.room`: a room unique name or RM sid.
    pub(crate) video_room: Option<String>,
    /// `grants.player.playerStreamerSid`.
    pub(crate) player_streamer: Option<String>,
}

/// Checks `jwt` as Twilio would for `account` at unix time `now`.
pub(crate) fn verify(account: &Account, jwt: &str, now: i64) -> Result<Claims, TokenError> {
    let malformed = refuse(INVALID_TOKEN, "Invalid Access Token");
    let mut parts = jwt.trim().split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed);
    };
    let header = decode_json(header_b64).ok_or(malformed.clone())?;
    let bad_header = refuse(INVALID_HEADER, "Invalid Access Token header");
    if header.get("alg").and_then(Value::as_str) != Some("HS256")
        || header.get("cty").and_then(Value::as_str) != Some(TWILIO_CTY)
        || header.get("typ").is_some_and(|t| t.as_str() != Some("JWT"))
    {
        return Err(bad_header);
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .map_err(|_| malformed.clone())?;
    let mut mac = HmacSha256::new_from_slice(account.api_key_secret.as_bytes())
        .map_err(|_| malformed.clone())?;
    mac.update(header_b64.as_bytes());
    mac.update(b".");
    mac.update(payload_b64.as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| refuse(INVALID_SIGNATURE, "Invalid Access Token signature"))?;

    let claims = decode_json(payload_b64).ok_or(malformed)?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("iss") != Some(account.api_key_sid.as_str())
        || text("sub") != Some(account.account_sid.as_str())
    {
        return Err(refuse(
            INVALID_ISSUER,
            "Invalid Access Token issuer/subject",
        ));
    }
    let exp = claims.get("exp").and_then(Value::as_i64).ok_or(refuse(
        EXPIRED,
        "Access Token expired or expiration date invalid",
    ))?;
    if exp <= now {
        return Err(refuse(
            EXPIRED,
            "Access Token expired or expiration date invalid",
        ));
    }
    if let Some(nbf) = claims.get("nbf") {
        match nbf.as_i64() {
            Some(nbf) if nbf <= now + NBF_LEEWAY_SECS => {}
            _ => return Err(refuse(NOT_YET_VALID, "Access Token not yet valid")),
        }
    }
    let grants = claims.get("grants").filter(|g| g.is_object());
    let grant_text = |path: &[&str]| {
        let mut v = grants?;
        for key in path {
            v = v.get(key)?;
        }
        v.as_str().filter(|s| !s.is_empty()).map(ToOwned::to_owned)
    };
    let identity = grant_text(&["identity"]).ok_or(refuse(
        INVALID_GRANTS,
        "Invalid Access Token grants: an identity is required",
    ))?;
    Ok(Claims {
        identity,
        video_room: grant_text(&["video", "room"]),
        player_streamer: grant_text(&["player", "playerStreamerSid"]),
    })
}

fn decode_json(part: &str) -> Option<Value> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    serde_json::from_slice::<Value>(&bytes)
        .ok()
        .filter(Value::is_object)
}

/// An access token as Twilio's helper libraries make them, for tests, the load harness and
/// local tools that talk to the relay without the product's back end.
///
/// ```
/// use twilio_standin::{Account, AccessToken};
/// let account = Account::for_tests();
/// let jwt = AccessToken::video("host", "livestream-0123", 1_700_000_000, 3600).sign(&account);
/// assert_eq!(jwt.split('.').count(), 3);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct AccessToken {
    pub identity: String,
    /// `grants.video.room`.
    pub video_room: Option<String>,
    /// `grants.player`: a PlaybackGrant object, verbatim.
    pub player: Option<Value>,
    /// `nbf` (unix seconds).
    pub not_before: i64,
    /// `exp` (unix seconds).
    pub expires_at: i64,
}

impl AccessToken {
    /// A token with a VideoGrant for `room`, valid from `now` for `ttl_secs`.
    pub fn video(identity: &str, room: &str, now: i64, ttl_secs: i64) -> AccessToken {
        AccessToken {
            identity: identity.to_owned(),
            video_room: Some(room.to_owned()),
            player: None,
            not_before: now,
            expires_at: now + ttl_secs,
        }
    }

    /// A token with a Live PlaybackGrant (`{"playbackUrl", "playerStreamerSid", ...}`).
    pub fn playback(identity: &str, grant: Value, now: i64, ttl_secs: i64) -> AccessToken {
        AccessToken {
            identity: identity.to_owned(),
            video_room: None,
            player: Some(grant),
            not_before: now,
            expires_at: now + ttl_secs,
        }
    }

    /// Signs with the account's API key (as the product does).
    pub fn sign(&self, account: &Account) -> String {
        self.sign_with(
            &account.api_key_sid,
            &account.account_sid,
            &account.api_key_secret,
        )
    }

    /// Signs with any key, e.g. a wrong one in a test.
    pub fn sign_with(&self, api_key_sid: &str, account_sid: &str, secret: &str) -> String {
        let header = json!({"alg": "HS256", "typ": "JWT", "cty": TWILIO_CTY});
        let mut grants = json!({ "identity": self.identity });
        if let Some(room) = &self.video_room {
            grants["video"] = json!({ "room": room });
        }
        if let Some(player) = &self.player {
            grants["player"] = player.clone();
        }
        let claims = json!({
            "jti": format!("{api_key_sid}-{}", self.not_before),
            "iss": api_key_sid,
            "sub": account_sid,
            "nbf": self.not_before,
            "exp": self.expires_at,
            "grants": grants,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        // An HMAC accepts keys of any length, so this cannot fail.
        let signature = HmacSha256::new_from_slice(secret.as_bytes())
            .map(|mut mac| {
                mac.update(signing_input.as_bytes());
                mac.finalize().into_bytes().to_vec()
            })
            .unwrap_or_default();
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    #[test]
    fn accepts_what_the_account_signed_and_reads_the_grants() {
        let account = Account::for_tests();
        let jwt = AccessToken::video("host", "livestream-ab", NOW, 60).sign(&account);
        let claims = verify(&account, &jwt, NOW + 30).unwrap();
        assert_eq!(claims.identity, "host");
        assert_eq!(claims.video_room.as_deref(), Some("livestream-ab"));
        assert_eq!(claims.player_streamer, None);

        let grant =
            json!({"playbackUrl": "x", "playerStreamerSid": "VJ1", "requestCredentials": null});
        let jwt = AccessToken::playback("viewer", grant, NOW, 60).sign(&account);
        let claims = verify(&account, &jwt, NOW).unwrap();
        assert_eq!(claims.player_streamer.as_deref(), Some("VJ1"));
    }

    #[test]
    fn refuses_expired_forged_foreign_and_malformed_tokens() {
        let account = Account::for_tests();
        let token = AccessToken::video("host", "r", NOW, 60);
        let code = |jwt: &str, now: i64| verify(&account, jwt, now).unwrap_err().code;

        assert_eq!(code(&token.sign(&account), NOW + 60), EXPIRED);
        let wrong_key = token.sign_with(&account.api_key_sid, &account.account_sid, "other");
        assert_eq!(code(&wrong_key, NOW), INVALID_SIGNATURE);
        let foreign = token.sign_with(
            "SKffffffffffffffffffffffffffffffff",
            &account.account_sid,
            &account.api_key_secret,
        );
        assert_eq!(code(&foreign, NOW), INVALID_ISSUER);
        let mut future = token.clone();
        future.not_before = NOW + 3600;
        assert_eq!(code(&future.sign(&account), NOW), NOT_YET_VALID);
        let mut anonymous = token.clone();
        anonymous.identity = String::new();
        assert_eq!(code(&anonymous.sign(&account), NOW), INVALID_GRANTS);

        // alg none with the claims of a valid token; a tampered payload.
        let good = token.sign(&account);
        let parts: Vec<&str> = good.split('.').collect();
        let none = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "cty": TWILIO_CTY}).to_string());
        assert_eq!(code(&format!("{none}.{}.", parts[1]), NOW), INVALID_HEADER);
        let tampered = URL_SAFE_NO_PAD.encode(
            json!({"iss": account.api_key_sid, "sub": account.account_sid, "exp": NOW + 99,
                   "grants": {"identity": "host", "video": {"room": "other"}}})
            .to_string(),
        );
        assert_eq!(
            code(&format!("{}.{tampered}.{}", parts[0], parts[2]), NOW),
            INVALID_SIGNATURE
        );
        for junk in ["", "a.b.c", "not a token", "....."] {
            assert_eq!(code(junk, NOW), INVALID_TOKEN, "{junk:?}");
        }
    }
}
