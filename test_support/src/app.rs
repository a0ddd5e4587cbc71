//! An [`App`] against the Twilio stand-in, configured as a deployed function is: settings and
//! secrets read from a key-value [`Source`] holding what the function's environment would (the
//! same names), the secrets then fixed as they are once read from Secrets Manager.

use std::collections::HashMap;

use onair_common::App;
use onair_common::config::{Secrets, Settings};
use onair_common::secret_store::SecretStore;
use twilio_standin::{Account, StandIn};

/// A function's configuration: environment variable names and their values.
pub type Source = HashMap<String, String>;

/// The account's credentials under the names a function reads them from.
pub fn credentials(account: &Account) -> Source {
    [
        ("TWILIO_ACCOUNT_SID", &account.account_sid),
        ("TWILIO_API_KEY_SID", &account.api_key_sid),
        ("TWILIO_API_KEY_SECRET", &account.api_key_secret),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value.clone()))
    .collect()
}

/// Twilio at `standin`: its base URLs and its account's credentials. A function also needs
/// `HOST_PASSWORD` (see [`with`]).
pub fn standin_source(standin: &StandIn) -> Source {
    let mut source = credentials(standin.account());
    for key in ["TWILIO_VIDEO_BASE_URL", "TWILIO_MEDIA_BASE_URL"] {
        source.insert(key.to_owned(), standin.base_url());
    }
    source
}

/// `source` with `extra` on top (a later pair wins).
pub fn with(mut source: Source, extra: &[(&str, &str)]) -> Source {
    source.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    source
}

/// The App a function builds from `source`; panics if the settings or secrets do not parse.
pub fn app(source: &Source) -> App {
    let settings = Settings::from_source(source).expect("the settings parse");
    let secrets = Secrets::from_source(source).expect("the secrets parse");
    App::new(settings, SecretStore::fixed(secrets))
}
