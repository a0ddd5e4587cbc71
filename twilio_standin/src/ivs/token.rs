//! Participant tokens as IVS checks them when a participant joins a stage: an ES384 JWT signed
//! by the private half of an imported public key (the one the header's `kid` names, if it names
//! one), not expired, for this stage (`resource` = the stage ARN), with the claims the IVS
//! Real-Time User Guide lists ("Distribute Participant Tokens"): `exp`, `iat`, `jti`,
//! `resource`, `topic`, `events_url`, `whip_url`, `user_id`, `attributes`, `capabilities`
//! (`allow_publish`, `allow_subscribe`) and `version`.

use std::collections::{BTreeMap, HashSet};
use std::sync::LazyLock;

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::state::PublicKey;

/// The DER encoding of the secp384r1 (P-384) OID, 1.3.132.0.34.
const P384_OID: [u8; 7] = [0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Capabilities {
    allow_publish: bool,
    allow_subscribe: bool,
}

#[derive(Debug, Deserialize)]
struct Claims {
    exp: i64,
    #[serde(default)]
    jti: Option<String>,
    resource: String,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    capabilities: Capabilities,
    #[serde(default)]
    #[allow(dead_code)]
    attributes: Option<BTreeMap<String, String>>,
}

/// A verified token's participant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verified {
    /// `jti`: the participant id.
    pub(crate) participant_id: String,
    pub(crate) user_id: String,
    pub(crate) publish: bool,
    pub(crate) subscribe: bool,
}

impl Verified {
    /// Who the participant is in the relay: its `user_id`, or its participant id if that is
    /// empty.
    pub(crate) fn identity(&self) -> &str {
        if self.user_id.is_empty() {
            &self.participant_id
        } else {
            &self.user_id
        }
    }
}

/// The DER body of a PEM `PUBLIC KEY`, if the text is one.
fn pem_der(pem: &str) -> Option<Vec<u8>> {
    let start = pem.find("-----BEGIN PUBLIC KEY-----")? + "-----BEGIN PUBLIC KEY-----".len();
    let end = pem[start..].find("-----END PUBLIC KEY-----")? + start;
    let b64: String = pem[start..end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

/// Checks that `pem` is a P-384 public key (SubjectPublicKeyInfo, PEM); its fingerprint (the
/// MD5-like colon-separated form IVS shows, here the first 16 bytes of the DER's SHA-256) and
/// the key as [`verify`] uses it.
pub(crate) fn check_public_key(pem: &str) -> Result<(String, DecodingKey), String> {
    let der = pem_der(pem).ok_or("publicKeyMaterial is not a PEM public key")?;
    if !der.windows(P384_OID.len()).any(|w| w == P384_OID) {
        return Err("publicKeyMaterial must be an ECDSA P-384 (secp384r1) public key".into());
    }
    let decoding = DecodingKey::from_ec_pem(pem.as_bytes())
        .map_err(|e| format!("publicKeyMaterial cannot be read: {e}"))?;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(&der);
    let fingerprint = digest[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":");
    Ok((fingerprint, decoding))
}

/// ES384 only; `exp` is checked by [`verify`] itself (to say why), nothing else is required.
static VALIDATION: LazyLock<Validation> = LazyLock::new(|| {
    let mut validation = Validation::new(Algorithm::ES384);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims = HashSet::new();
    validation
});

/// Verifies `token` for the stage `stage_arn` at unix time `now` with the imported `keys`.
/// The error says why (the caller answers 401).
pub(crate) fn verify(
    token: &str,
    keys: &[PublicKey],
    stage_arn: &str,
    now: i64,
) -> Result<Verified, String> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| format!("Malformed token: {e}"))?;
    if header.alg != Algorithm::ES384 {
        return Err("The token must be signed with ES384".into());
    }
    let candidates: Vec<&PublicKey> = match &header.kid {
        Some(kid) => keys.iter().filter(|k| &k.arn == kid).collect(),
        None => keys.iter().collect(),
    };
    if candidates.is_empty() {
        return Err(match header.kid {
            Some(kid) => format!("No imported public key {kid}"),
            None => "No public key is imported".into(),
        });
    }
    let mut last = String::from("Bad signature");
    let claims = candidates.iter().find_map(|key| {
        match jsonwebtoken::decode::<Claims>(token, &key.decoding, &VALIDATION) {
            Ok(data) => Some(data.claims),
            Err(e) => {
                last = format!("The token does not verify with an imported key: {e}");
                None
            }
        }
    });
    let claims = claims.ok_or(last)?;
    if claims.exp <= now {
        return Err("The token has expired".into());
    }
    if claims.resource != stage_arn {
        return Err(format!(
            "The token is for {}, not this stage",
            claims.resource
        ));
    }
    let participant_id = claims.jti.filter(|j| {
        !j.is_empty()
            && j.len() <= 64
            && j.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    let participant_id = participant_id
        .ok_or("The token needs a jti of 1 to 64 [a-zA-Z0-9-_] (the participant id)")?;
    Ok(Verified {
        participant_id,
        user_id: claims.user_id.unwrap_or_default(),
        publish: claims.capabilities.allow_publish,
        subscribe: claims.capabilities.allow_subscribe,
    })
}
