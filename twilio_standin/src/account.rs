//! The stand-in's one Twilio account: the credential pairs REST callers must present.

use std::fmt;

/// The single account the stand-in serves. REST calls must authenticate with HTTP Basic using
/// either (`account_sid`, `auth_token`) or (`api_key_sid`, `api_key_secret`).
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    pub account_sid: String,
    pub auth_token: String,
    pub api_key_sid: String,
    pub api_key_secret: String,
}

const TEST_ACCOUNT_SID: &str = "AC5a7e1d0f5a7e1d0f5a7e1d0f5a7e1d0f";
const TEST_AUTH_TOKEN: &str = "0a0b0c0d0e0f0a0b0c0d0e0f0a0b0c0d";
const TEST_API_KEY_SID: &str = "SKc0ffee00c0ffee00c0ffee00c0ffee00";
const TEST_API_KEY_SECRET: &str = "standinApiKeySecret0123456789abc";

impl Account {
    /// Fixed, valid-looking credentials: `AC` + 32 hex, `SK` + 32 hex, 32-character secrets.
    pub fn for_tests() -> Account {
        Account {
            account_sid: TEST_ACCOUNT_SID.to_owned(),
            auth_token: TEST_AUTH_TOKEN.to_owned(),
            api_key_sid: TEST_API_KEY_SID.to_owned(),
            api_key_secret: TEST_API_KEY_SECRET.to_owned(),
        }
    }

    /// `STANDIN_ACCOUNT_SID`, `STANDIN_AUTH_TOKEN`, `STANDIN_API_KEY_SID` and
    /// `STANDIN_API_KEY_SECRET`, each defaulting to the [`Account::for_tests`] value.
    pub fn from_env() -> Account {
        let var = |name: &str, default: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| default.to_owned())
        };
        Account {
            account_sid: var("STANDIN_ACCOUNT_SID", TEST_ACCOUNT_SID),
            auth_token: var("STANDIN_AUTH_TOKEN", TEST_AUTH_TOKEN),
            api_key_sid: var("STANDIN_API_KEY_SID", TEST_API_KEY_SID),
            api_key_secret: var("STANDIN_API_KEY_SECRET", TEST_API_KEY_SECRET),
        }
    }

    /// Whether `user`/`password` is one of the account's two credential pairs.
    pub(crate) fn accepts(&self, user: &str, password: &str) -> bool {
        let pair = |u: &str, p: &str| {
            same(user.as_bytes(), u.as_bytes()) & same(password.as_bytes(), p.as_bytes())
        };
        pair(&self.account_sid, &self.auth_token) | pair(&self.api_key_sid, &self.api_key_secret)
    }
}

/// Compares without stopping at the first differing byte.
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (x, y) in a.iter().zip(b.iter()) {
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

/// Secrets never reach a log line through `{:?}`.
impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"<redacted>")
            .field("api_key_sid", &self.api_key_sid)
            .field("api_key_secret", &"<redacted>")
            .finish()
    }
}
