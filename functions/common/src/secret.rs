//! Secret values: wrapped so that `Debug`, `Display` and log lines cannot print them.
//!
//! `secrecy::SecretString` already redacts `Debug`; this module adds the constant-time
//! comparison the host password needs, and [`SigningKey`], the P-384 private key that signs IVS
//! participant tokens (`IVS_PRIVATE_KEY`), parsed once and never printed.

pub use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

/// Compares a candidate with a secret in time that depends only on their lengths, never on
/// where they first differ.
pub fn constant_time_eq(candidate: &str, secret: &SecretString) -> bool {
    candidate
        .as_bytes()
        .ct_eq(secret.expose_secret().as_bytes())
        .into()
}

/// A P-384 private key for ES384 signatures, parsed from PEM (PKCS#8 `PRIVATE KEY` or SEC1
/// `EC PRIVATE KEY`) once: the parsed key pair signs (parsing it again per signature, as
/// `jsonwebtoken`'s own signer does, costs more than the signature itself), and the public
/// point verifies what it signed without the private half. `Debug` shows neither.
pub struct SigningKey {
    pair: aws_lc_rs::signature::EcdsaKeyPair,
    decoding: jsonwebtoken::DecodingKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

/// Why a PEM is not a usable P-384 private key; says nothing of its content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error(
        "is not a PEM private key (`-----BEGIN PRIVATE KEY-----` or `-----BEGIN EC PRIVATE KEY-----`)"
    )]
    NotPem,
    #[error("is not a P-384 (secp384r1) private key")]
    NotP384,
}

impl SigningKey {
    /// Parses a PEM private key. Environment variables often carry PEM with `\n` written out: those
    /// are read as line breaks.
    pub fn from_pem(pem: &str) -> Result<SigningKey, KeyError> {
        use aws_lc_rs::signature::{ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
        use base64::Engine;

        let pem = pem.replace("\\n", "\n");
        let (label, body) = pem_body(&pem).ok_or(KeyError::NotPem)?;
        let der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|_| KeyError::NotPem)?;
        let alg = &ECDSA_P384_SHA384_FIXED_SIGNING;
        let pair = match label {
            "PRIVATE KEY" => EcdsaKeyPair::from_pkcs8(alg, &der),
            "EC PRIVATE KEY" => EcdsaKeyPair::from_private_key_der(alg, &der),
            _ => return Err(KeyError::NotPem),
        }
        .map_err(|_| KeyError::NotP384)?;
        Ok(SigningKey {
            decoding: jsonwebtoken::DecodingKey::from_ec_der(pair.public_key().as_ref()),
            pair,
        })
    }

    /// The ES384 signature of `message`: ECDSA P-384 over SHA-384, `r || s` (96 bytes), as a
    /// JWT carries it.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        // With a parsed key, signing fails only if the system's random source does, which a
        // running Lambda does not survive either.
        self.pair
            .sign(&rng, message)
            .expect("an ECDSA signature with a parsed P-384 key")
            .as_ref()
            .to_vec()
    }

    /// The public half, to verify what this key signed.
    pub fn decoding_key(&self) -> &jsonwebtoken::DecodingKey {
        &self.decoding
    }
}

/// The label and the base64 body (line breaks removed) of the first PEM block in `text`.
fn pem_body(text: &str) -> Option<(&str, String)> {
    let start = text.find("-----BEGIN ")?;
    let rest = &text[start + "-----BEGIN ".len()..];
    let (label, rest) = rest.split_once("-----")?;
    let end = rest.find(&format!("-----END {label}-----"))?;
    let body: String = rest[..end].chars().filter(|c| !c.is_whitespace()).collect();
    (!body.is_empty()).then_some((label, body))
}

#[cfg(test)]
mod tests {
    use onair_test_support::ivs_keys;

    use super::*;

    #[test]
    fn equal_and_unequal_values() {
        let secret = SecretString::from("correct horse");
        assert!(constant_time_eq("correct horse", &secret));
        assert!(!constant_time_eq("correct hors", &secret));
        assert!(!constant_time_eq("correct horsE", &secret));
        assert!(!constant_time_eq("", &secret));
    }

    #[test]
    fn debug_never_prints_the_value() {
        let secret = SecretString::from("hunter2-very-secret");
        assert!(!format!("{secret:?}").contains("hunter2"));
    }

    #[test]
    fn p384_keys_parse_from_pkcs8_and_sec1_and_never_print() {
        let keys = ivs_keys::p384();
        let key = SigningKey::from_pem(&keys.private_pem).unwrap();
        assert_eq!(format!("{key:?}"), "SigningKey(..)");
        SigningKey::from_pem(&keys.sec1_pem).unwrap();
        SigningKey::from_pem(&keys.private_pem.replace('\n', "\\n")).unwrap();
    }

    #[test]
    fn other_keys_are_refused_without_showing_them() {
        assert_eq!(
            SigningKey::from_pem("hunter2").unwrap_err(),
            KeyError::NotPem
        );
        let p256 = ivs_keys::key_pair("prime256v1").sec1_pem;
        assert_eq!(SigningKey::from_pem(&p256).unwrap_err(), KeyError::NotP384);
        let broken = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert_eq!(SigningKey::from_pem(broken).unwrap_err(), KeyError::NotP384);
        let err = KeyError::NotP384.to_string();
        assert!(!err.contains("AAAA"));
    }
}
