//! The host password as configured: the plain password (`HOST_PASSWORD`), compared in constant
//! time, or an argon2 PHC string (`HOST_PASSWORD_HASH`), so the password itself need not be
//! stored anywhere. `examples/hash_password.rs` makes such a string.

use argon2::{Argon2, PasswordVerifier, password_hash::phc::PasswordHash};

use crate::secret::{SecretString, constant_time_eq};

/// The argon2 parameters `hash_password` uses: argon2id with 7 MiB and 5 passes, one of OWASP's
/// recommended settings, chosen over the 19 MiB one so a function checking it stays small.
pub const HASH_MEMORY_KIB: u32 = 7 * 1024;
pub const HASH_PASSES: u32 = 5;

/// The most memory a configured hash may ask for (a typo must not make every login take a GiB).
const MAX_HASH_MEMORY_KIB: u32 = 64 * 1024;

pub enum HostPassword {
    Plain(SecretString),
    Argon2(Box<PasswordHash>),
}

impl std::fmt::Debug for HostPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HostPassword::Plain(_) => "HostPassword::Plain(..)",
            HostPassword::Argon2(_) => "HostPassword::Argon2(..)",
        })
    }
}

/// Why a `HOST_PASSWORD_HASH` was refused; says nothing of its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    #[error("must be an argon2 PHC string ($argon2id$v=19$m=...,t=...,p=...$salt$hash)")]
    Malformed,
    #[error("asks for more than 64 MiB of memory")]
    TooCostly,
}

impl HostPassword {
    /// Parses an argon2 PHC string.
    pub fn from_hash(phc: &str) -> Result<HostPassword, HashError> {
        let hash = PasswordHash::new(phc.trim()).map_err(|_| HashError::Malformed)?;
        if !hash.algorithm.as_str().starts_with("argon2") || hash.hash.is_none() {
            return Err(HashError::Malformed);
        }
        let memory = argon2::Params::try_from(&hash).map_err(|_| HashError::Malformed)?;
        if memory.m_cost() > MAX_HASH_MEMORY_KIB {
            return Err(HashError::TooCostly);
        }
        Ok(HostPassword::Argon2(Box::new(hash)))
    }

    /// Whether `candidate` is the host password. The plain comparison takes time that depends
    /// only on the lengths; argon2's does not depend on the candidate at all.
    pub fn matches(&self, candidate: &str) -> bool {
        match self {
            HostPassword::Plain(secret) => constant_time_eq(candidate, secret),
            HostPassword::Argon2(hash) => Argon2::default()
                .verify_password(candidate.as_bytes(), hash.as_ref())
                .is_ok(),
        }
    }
}

/// Hashes `password` with `salt` (at least 16 random bytes) into the PHC string
/// `HOST_PASSWORD_HASH` takes.
pub fn hash(password: &str, salt: &[u8]) -> Result<String, HashError> {
    use argon2::PasswordHasher;
    let params = argon2::Params::new(HASH_MEMORY_KIB, HASH_PASSES, 1, None)
        .map_err(|_| HashError::Malformed)?;
    Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password_with_salt(password.as_bytes(), salt)
        .map(|hash| hash.to_string())
        .map_err(|_| HashError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SALT: &[u8] = b"sixteen byte salt";

    #[test]
    fn a_hash_matches_its_password_only() {
        let phc = hash("correct horse", SALT).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"), "{phc}");
        let password = HostPassword::from_hash(&phc).unwrap();
        assert!(password.matches("correct horse"));
        assert!(!password.matches("correct hors"));
        assert!(!password.matches(""));
    }

    #[test]
    fn malformed_or_costly_hashes_are_refused() {
        for bad in [
            "",
            "correct horse",
            "$argon2id$v=19$m=7168,t=5,p=1$c2FsdA",
            "$pbkdf2$x",
        ] {
            assert_eq!(
                HostPassword::from_hash(bad).err(),
                Some(HashError::Malformed),
                "{bad}"
            );
        }
        let phc = hash("x", SALT).unwrap().replace("m=7168", "m=1048576");
        assert_eq!(
            HostPassword::from_hash(&phc).err(),
            Some(HashError::TooCostly)
        );
    }

    #[test]
    fn debug_shows_neither_password_nor_hash() {
        let plain = HostPassword::Plain(SecretString::from("hunter2"));
        let phc = hash("hunter2", SALT).unwrap();
        let hashed = HostPassword::from_hash(&phc).unwrap();
        for shown in [format!("{plain:?}"), format!("{hashed:?}")] {
            assert!(
                !shown.contains("hunter2") && !shown.contains("argon2id$"),
                "{shown}"
            );
        }
    }
}
