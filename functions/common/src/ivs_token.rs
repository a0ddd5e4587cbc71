//! IVS real-time participant tokens, self-signed (docs/ARCHITECTURE.md, Audience modes): an
//! ES384 JWT signed with `IVS_PRIVATE_KEY`, whose public half the stack imported into IVS, so a
//! token costs no IVS call. The shape follows the IVS Real-Time User Guide, "Distribute
//! Participant Tokens" (creating tokens with a key pair):
//!
//! - header `{"alg": "ES384", "typ": "JWT", "kid": <the imported public key's ARN>}`;
//! - payload `exp`, `iat` (unix seconds), `jti` (the participant id: the id IVS lists the
//!   participant under), `resource` (the stage ARN), `topic` (the stage id), `events_url` and
//!   `whip_url` (the stage's endpoints), `user_id`, `attributes` (strings), `capabilities`
//!   (`allow_publish`, `allow_subscribe`) and `version` `"1.0"`.
//!
//! [`verify`] reads back a token this service signed (the host's, for `stream_start` and
//! `stream_stop`) with the same key's public half.

use std::collections::BTreeMap;

use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::ids::StageArn;
use crate::secret::SigningKey;

/// The token format version the guide names.
pub const VERSION: &str = "1.0";

/// How long IVS accepts a token's lifetime to be at most (14 days).
pub const MAX_TTL_SECS: u64 = 14 * 24 * 3600;

/// The characters of a participant id (`jti`): IVS allows `A-Z a-z 0-9 - _`, at most 64.
const JTI_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const JTI_LEN: usize = 24;

/// A stage and its endpoints: what a token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageEndpoints {
    pub arn: StageArn,
    pub events: String,
    pub whip: String,
}

/// What a participant may do on the stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    pub allow_publish: bool,
    pub allow_subscribe: bool,
}

impl Capabilities {
    /// The host: publishes (over WHIP), subscribes to nobody.
    pub const PUBLISH: Capabilities = Capabilities {
        allow_publish: true,
        allow_subscribe: false,
    };
    /// A viewer: subscribes only.
    pub const SUBSCRIBE: Capabilities = Capabilities {
        allow_publish: false,
        allow_subscribe: true,
    };
}

/// The payload, exactly the guide's claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub exp: u64,
    pub iat: u64,
    pub jti: String,
    pub resource: String,
    pub topic: String,
    pub events_url: String,
    pub whip_url: String,
    pub user_id: String,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    pub capabilities: Capabilities,
    pub version: String,
}

/// A minted participant token: the JWT, when it expires (unix seconds) and the participant id
/// IVS will list its holder under.
#[derive(Debug, Clone)]
pub struct ParticipantToken {
    pub jwt: String,
    pub expires_at: u64,
    pub participant_id: String,
}

/// What to mint: for whom, on which stage, with what.
pub struct Mint<'a> {
    pub key: &'a SigningKey,
    /// The `kid`: the imported public key's ARN.
    pub key_arn: &'a str,
    pub stage: &'a StageEndpoints,
    pub user_id: &'a str,
    pub capabilities: Capabilities,
    pub attributes: BTreeMap<String, String>,
    pub now: u64,
    /// Capped at [`MAX_TTL_SECS`].
    pub ttl_secs: u64,
}

/// Signs a participant token.
pub fn mint(request: Mint<'_>) -> ParticipantToken {
    let exp = request
        .now
        .saturating_add(request.ttl_secs.min(MAX_TTL_SECS));
    let jti = crate::random::from_alphabet(JTI_ALPHABET, JTI_LEN);
    let claims = Claims {
        exp,
        iat: request.now,
        jti: jti.clone(),
        resource: request.stage.arn.as_str().to_owned(),
        topic: request.stage.arn.id().to_owned(),
        events_url: request.stage.events.clone(),
        whip_url: request.stage.whip.clone(),
        user_id: request.user_id.to_owned(),
        attributes: request.attributes,
        capabilities: request.capabilities,
        version: VERSION.to_owned(),
    };
    let jwt = sign(request.key, request.key_arn, &claims);
    ParticipantToken {
        jwt,
        expires_at: exp,
        participant_id: jti,
    }
}

/// `header.payload.signature`, each base64url without padding: the header
/// `{"alg":"ES384","typ":"JWT","kid":<key ARN>}`, the claims, and their ES384 signature made
/// with the key parsed once at start.
fn sign(key: &SigningKey, key_arn: &str, claims: &Claims) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut header = Header::new(Algorithm::ES384);
    header.typ = Some("JWT".to_owned());
    header.kid = Some(key_arn.to_owned());
    // Plain strings and numbers: serialising them cannot fail.
    let header = serde_json::to_vec(&header).expect("a JWT header serialises");
    let claims = serde_json::to_vec(claims).expect("the claims serialise");
    let mut jwt = format!("{}.{}", b64.encode(header), b64.encode(claims));
    let signature = key.sign(jwt.as_bytes());
    jwt.push('.');
    jwt.push_str(&b64.encode(signature));
    jwt
}

/// Why a participant token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid")]
    Invalid,
}

/// A participant token this service signed, with a stage ARN that parses.
#[derive(Debug, Clone)]
pub struct Verified {
    pub stage: StageArn,
    pub claims: Claims,
}

/// Verifies `jwt` against `key`'s public half, ES384 only, not expired at `now`.
pub fn verify(key: &SigningKey, jwt: &str, now: u64) -> Result<Verified, TokenError> {
    let mut validation = Validation::new(Algorithm::ES384);
    // Expiry is checked below against `now`, so tests and callers agree on the time.
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    validation.leeway = 0;
    let data = jsonwebtoken::decode::<Claims>(jwt, key.decoding_key(), &validation)
        .map_err(|_| TokenError::Invalid)?;
    let claims = data.claims;
    if claims.version != VERSION {
        return Err(TokenError::Invalid);
    }
    if claims.exp <= now {
        return Err(TokenError::Expired);
    }
    let stage = StageArn::parse(&claims.resource)
        .filter(|arn| arn.id() == claims.topic)
        .ok_or(TokenError::Invalid)?;
    Ok(Verified { stage, claims })
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use onair_test_support::{ivs_keys, jwt};
    use p384::ecdsa::signature::Verifier;
    use p384::pkcs8::DecodePublicKey;

    use super::*;

    const KEY_ARN: &str = "arn:aws:ivs:us-east-1:123456789012:public-key/standin0000";

    fn stage() -> StageEndpoints {
        StageEndpoints {
            arn: StageArn::parse("arn:aws:ivs:us-east-1:123456789012:stage/AbCdEf123456").unwrap(),
            events: "wss://global.events.live-video.net".into(),
            whip: "https://f99084460c35.global-bm.whip.live-video.net".into(),
        }
    }

    /// A fresh key pair from the openssl CLI: the private key parsed as the function parses
    /// it, the public key as PEM, read by the independent verifier.
    fn key_pair() -> (SigningKey, String) {
        let keys = ivs_keys::p384();
        (
            SigningKey::from_pem(&keys.private_pem).unwrap(),
            keys.public_pem,
        )
    }

    fn mint_for(key: &SigningKey, capabilities: Capabilities, now: u64) -> ParticipantToken {
        mint(Mint {
            key,
            key_arn: KEY_ARN,
            stage: &stage(),
            user_id: "host",
            capabilities,
            attributes: BTreeMap::from([("stream".to_owned(), "main".to_owned())]),
            now,
            ttl_secs: 7200,
        })
    }

    #[test]
    fn the_signature_verifies_with_an_independent_es384_implementation() {
        let (key, public_pem) = key_pair();
        let token = mint_for(&key, Capabilities::PUBLISH, 1_700_000_000);
        let verifying = p384::ecdsa::VerifyingKey::from_public_key_pem(&public_pem).unwrap();
        let (signed, _) = token.jwt.rsplit_once('.').unwrap();
        // The signature's bytes, which `jwt` (JSON segments only) does not read.
        let (_, signature) = token.jwt.rsplit_once('.').unwrap();
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        let signature = p384::ecdsa::Signature::from_slice(&signature).unwrap();
        verifying.verify(signed.as_bytes(), &signature).unwrap();
        // A changed payload, or another key, does not verify.
        let tampered = format!("{signed}x");
        assert!(verifying.verify(tampered.as_bytes(), &signature).is_err());
        let (_, other_public) = key_pair();
        let other = p384::ecdsa::VerifyingKey::from_public_key_pem(&other_public).unwrap();
        assert!(other.verify(signed.as_bytes(), &signature).is_err());
    }

    #[test]
    fn header_and_claims_are_the_guides_claim_by_claim() {
        let (key, _) = key_pair();
        let token = mint_for(&key, Capabilities::PUBLISH, 1_700_000_000);
        let header = jwt::header(&token.jwt);
        assert_eq!(
            header,
            serde_json::json!({ "alg": "ES384", "typ": "JWT", "kid": KEY_ARN })
        );
        let payload = jwt::claims(&token.jwt);
        let object = payload.as_object().unwrap();
        let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "attributes",
                "capabilities",
                "events_url",
                "exp",
                "iat",
                "jti",
                "resource",
                "topic",
                "user_id",
                "version",
                "whip_url"
            ]
        );
        assert_eq!(payload["iat"], 1_700_000_000);
        assert_eq!(payload["exp"], 1_700_000_000 + 7200);
        assert_eq!(token.expires_at, 1_700_000_000 + 7200);
        assert_eq!(
            payload["resource"],
            "arn:aws:ivs:us-east-1:123456789012:stage/AbCdEf123456"
        );
        assert_eq!(payload["topic"], "AbCdEf123456");
        assert_eq!(payload["events_url"], stage().events);
        assert_eq!(payload["whip_url"], stage().whip);
        assert_eq!(payload["user_id"], "host");
        assert_eq!(
            payload["attributes"],
            serde_json::json!({ "stream": "main" })
        );
        assert_eq!(
            payload["capabilities"],
            serde_json::json!({ "allow_publish": true, "allow_subscribe": false })
        );
        assert_eq!(payload["version"], "1.0");
        let jti = payload["jti"].as_str().unwrap();
        assert_eq!(jti, token.participant_id);
        assert!(jti.len() <= 64 && jti.bytes().all(|b| b.is_ascii_alphanumeric()));
        // Every token is its own participant.
        assert_ne!(
            mint_for(&key, Capabilities::PUBLISH, 1).participant_id,
            token.participant_id
        );
    }

    #[test]
    fn viewers_subscribe_only_and_lifetimes_are_capped() {
        let (key, _) = key_pair();
        let token = mint(Mint {
            key: &key,
            key_arn: KEY_ARN,
            stage: &stage(),
            user_id: "viewer-abc",
            capabilities: Capabilities::SUBSCRIBE,
            attributes: BTreeMap::new(),
            now: 100,
            ttl_secs: u64::MAX,
        });
        let payload = jwt::claims(&token.jwt);
        assert_eq!(
            payload["capabilities"],
            serde_json::json!({ "allow_publish": false, "allow_subscribe": true })
        );
        assert_eq!(token.expires_at, 100 + MAX_TTL_SECS);
    }

    #[test]
    fn verify_reads_back_our_tokens_and_refuses_others() {
        let (key, _) = key_pair();
        let token = mint_for(&key, Capabilities::PUBLISH, 1_000);
        let verified = verify(&key, &token.jwt, 1_001).unwrap();
        assert_eq!(verified.stage, stage().arn);
        assert_eq!(verified.claims.user_id, "host");
        assert_eq!(verified.claims.jti, token.participant_id);
        assert_eq!(
            verify(&key, &token.jwt, 1_000 + 7200).unwrap_err(),
            TokenError::Expired
        );
        let (other, _) = key_pair();
        assert_eq!(
            verify(&other, &token.jwt, 1_001).unwrap_err(),
            TokenError::Invalid
        );
        assert_eq!(verify(&key, "a.b.c", 0).unwrap_err(), TokenError::Invalid);
        // An HS256 token with the same claims is not ours.
        let claims: Claims = serde_json::from_value(jwt::claims(&token.jwt)).unwrap();
        let hs = jsonwebtoken::encode(
            &Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(b"secret"),
        )
        .unwrap();
        assert_eq!(verify(&key, &hs, 1_001).unwrap_err(), TokenError::Invalid);
    }
}
