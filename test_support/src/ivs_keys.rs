//! Throwaway EC key pairs for the IVS tests and benchmarks, made by the openssl CLI when asked
//! for and never stored: the private key as PKCS#8 PEM (what `IVS_PRIVATE_KEY` holds) and as
//! SEC1 PEM (the other form a key may come in), the public key as PEM (what the stand-in
//! imports, as the stack imports it into IVS).

use std::io::Write;
use std::process::{Command, Stdio};

pub struct KeyPair {
    /// The private key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub private_pem: String,
    /// The same private key as SEC1 PEM (`-----BEGIN EC PRIVATE KEY-----`).
    pub sec1_pem: String,
    /// The public key as SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`).
    pub public_pem: String,
}

/// A fresh key pair on `curve` (`secp384r1` for IVS; another curve to test a refusal).
pub fn key_pair(curve: &str) -> KeyPair {
    let sec1 = openssl(&["ecparam", "-name", curve, "-genkey", "-noout"], None);
    KeyPair {
        private_pem: openssl(&["pkcs8", "-topk8", "-nocrypt"], Some(&sec1)),
        public_pem: openssl(&["ec", "-pubout"], Some(&sec1)),
        sec1_pem: sec1,
    }
}

/// A fresh P-384 key pair, as IVS takes.
pub fn p384() -> KeyPair {
    key_pair("secp384r1")
}

fn openssl(args: &[&str], input: Option<&str>) -> String {
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl runs");
    if let Some(input) = input {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("openssl reads");
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("openssl finishes");
    assert!(out.status.success(), "openssl {args:?} failed");
    String::from_utf8(out.stdout).expect("PEM is text")
}
