//! Secret values: wrapped so that `Debug`, `Display` and log lines cannot print them.
//!
//! `secrecy::SecretString` already redacts `Debug`; this module adds the constant-time
//! comparison the host password needs.

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

#[cfg(test)]
mod tests {
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
}
