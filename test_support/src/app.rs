//! An [`App`] against the Twilio stand-in, configured as a deployed function is: settings and
//! secrets read from a key-value [`Source`] holding what the function's environment would (the
//! same names), the secrets then fixed as they are once read from Secrets Manager; in `ivs` mode
//! with an IVS client against the stand-in ([`ivs_app`]), which [`start_ivs_standin`] starts with
//! its IVS API and [`ivs_source`] names.

use std::collections::HashMap;

use onair_common::App;
use onair_common::config::{Secrets, Settings};
use onair_common::secret_store::SecretStore;
use twilio_standin::{Account, IvsSettings, MediaSettings, StandIn};

use crate::ivs_keys::KeyPair;

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

/// A stand-in on an ephemeral port of 127.0.0.1 with the test account and its IVS API, the public
/// half of `keys` imported at start as `twilio_standin::STARTUP_KEY_ARN` (as the stack imports
/// it into IVS).
pub async fn start_ivs_standin(keys: &KeyPair) -> std::io::Result<StandIn> {
    StandIn::start_with_ivs(
        std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0)),
        Account::for_tests(),
        MediaSettings::default(),
        IvsSettings {
            public_key_pem: Some(keys.public_pem.clone()),
            ..IvsSettings::default()
        },
    )
    .await
}

/// IVS at `standin` (started by [`start_ivs_standin`]): `AUDIENCE_MODE=ivs`, its IVS API's URL,
/// the imported key's ARN and `private_key` (the key pair's private half as the environment
/// holds it) as `IVS_PRIVATE_KEY`. A function also needs Twilio's settings ([`standin_source`]).
pub fn ivs_source(standin: &StandIn, private_key: &str) -> Source {
    [
        ("AUDIENCE_MODE", "ivs".to_owned()),
        ("IVS_ENDPOINT_URL", format!("{}/ivs", standin.base_url())),
        (
            "IVS_PUBLIC_KEY_ARN",
            twilio_standin::STARTUP_KEY_ARN.to_owned(),
        ),
        ("IVS_PRIVATE_KEY", private_key.to_owned()),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect()
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

/// An `ivs` mode App from `source` (which names `IVS_ENDPOINT_URL`, `IVS_PUBLIC_KEY_ARN` and
/// `IVS_PRIVATE_KEY`), its IVS client signing with the stand-in's default AWS key pair rather
/// than the process environment, which tests share.
pub fn ivs_app(source: &Source) -> App {
    let settings = Settings::from_source(source).expect("the settings parse");
    let secrets = Secrets::from_source(source).expect("the secrets parse");
    secrets.require_ivs_key().expect("an IVS key");
    let ivs = onair_common::ivs::Ivs::with_static_credentials(
        settings.ivs.as_ref().expect("ivs settings"),
        "us-east-1",
        twilio_standin::DEFAULT_ACCESS_KEY_ID,
        twilio_standin::DEFAULT_SECRET_ACCESS_KEY,
    );
    App::with_ivs(settings, SecretStore::fixed(secrets), Some(ivs))
}
