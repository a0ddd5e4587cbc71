//! Typed configuration: plain settings from environment variables, secrets from the
//! environment (locally, with a `.env` file) or from one Secrets Manager secret. Every key is
//! in the README's Settings table; where configuration sits among the modules:
//! docs/ARCHITECTURE.md, Layers.
//!
//! Everything is parsed once at start-up; a missing or malformed key is an error that names
//! the key, so a misconfigured function fails loudly at cold start instead of per request.

use std::collections::HashMap;
use std::time::Duration;

use crate::attempts::AttemptPolicy;
use crate::ids::{Identity, Sid, ivs_arn_id};
use crate::password::HostPassword;
use crate::secret::{SecretString, SigningKey};

/// Which audience path the deployment uses (docs/ARCHITECTURE.md, Audience modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AudienceMode {
    /// Viewers join the host's group room subscribe-only.
    Room,
    /// Twilio Live: MediaProcessor + PlayerStreamer, viewers use the Live Player.
    Live,
    /// Amazon IVS real-time: a stage per stream, self-signed participant tokens.
    Ivs,
}

/// A configuration key that is missing or malformed; the message names the key, never its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration key {key}: {problem}")]
pub struct ConfigError {
    pub key: &'static str,
    pub problem: String,
}

impl ConfigError {
    fn new(key: &'static str, problem: impl Into<String>) -> Self {
        ConfigError {
            key,
            problem: problem.into(),
        }
    }
}

/// Plain (non-secret) settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub audience_mode: AudienceMode,
    pub host_identity: Identity,
    /// The longest a stream may run; bounds room, participant and Live resource lifetimes.
    pub stream_max: Duration,
    pub video_base_url: String,
    pub media_base_url: String,
    /// The Secrets Manager secret holding [`Secrets`]; `None` means secrets come from the environment.
    pub secret_id: Option<String>,
    /// How long a fetched secret is trusted before it is fetched again.
    pub secrets_ttl: Duration,
    /// How long `audience_token` and `stream_status` trust their answer to "what is on now".
    pub audience_cache_ttl: Duration,
    /// `STUDIO_MAX_MINUTES`: how long a room may wait for its host to connect for the first time
    /// (the studio) before the reaper completes it; also its `UnusedRoomTimeout`.
    pub studio_max: Duration,
    /// The Media Extension that feeds the PlayerStreamer in `live` mode.
    pub live_extension: String,
    /// Seconds a PlaybackGrant is valid (Twilio allows at most 60).
    pub playback_grant_ttl: Duration,
    /// How the pages carry media: Twilio's SDKs, or the stand-in's WHIP/WHEP relay.
    pub media_path: MediaPath,
    /// The longest one Twilio request may take (kept well under the functions' 15 s timeout).
    pub twilio_timeout: Duration,
    /// `ROOM_EVENTS_URL`: the URL Twilio posts room status callbacks to, exactly as it signs it;
    /// `None`: derived from the API's own domain name (see [`crate::webhook::callback_url`]).
    pub room_events_url: Option<String>,
    /// Wrong host passwords one address may send before a short lock-out.
    pub host_password_attempts: AttemptPolicy,
    pub meetings: MeetingSettings,
    /// `AUDIENCE_MODE=ivs` only: the IVS settings (docs/ARCHITECTURE.md, Audience modes).
    pub ivs: Option<IvsSettings>,
}

/// The IVS real-time settings, present exactly when `AUDIENCE_MODE=ivs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IvsSettings {
    /// `IVS_ENDPOINT_URL`: the API's base URL instead of the SDK's (dev and tests: the stand-in).
    pub endpoint_url: Option<String>,
    /// `IVS_PUBLIC_KEY_ARN`: the imported public key of `IVS_PRIVATE_KEY`; the tokens' `kid`.
    pub public_key_arn: String,
    /// `IVS_TIMEOUT_MS`: the longest one IVS call may take.
    pub timeout: Duration,
    /// `IVS_LOOKUP_SECONDS`: how long the listing of stages ("what is live") is trusted.
    pub lookup_ttl: Duration,
}

impl IvsSettings {
    fn from_source(source: &dyn Source) -> Result<IvsSettings, ConfigError> {
        let arn = required(source, "IVS_PUBLIC_KEY_ARN")?;
        if !public_key_arn(&arn) {
            return Err(ConfigError::new(
                "IVS_PUBLIC_KEY_ARN",
                "must be an IVS public key ARN (arn:aws:ivs:<region>:<account>:public-key/<id>)",
            ));
        }
        Ok(IvsSettings {
            endpoint_url: match read(source, "IVS_ENDPOINT_URL") {
                Some(_) => Some(base_url(source, "IVS_ENDPOINT_URL", "")?),
                None => None,
            },
            public_key_arn: arn,
            timeout: Duration::from_millis(number(source, "IVS_TIMEOUT_MS", 4000, 100..=10_000)?),
            lookup_ttl: Duration::from_secs(number(source, "IVS_LOOKUP_SECONDS", 5, 1..=60)?),
        })
    }
}

/// The model's pattern for a public key ARN: `arn:aws:ivs:[a-z0-9-]+:[0-9]+:public-key/[a-zA-Z0-9-]+`.
fn public_key_arn(value: &str) -> bool {
    ivs_arn_id(value, "public-key").is_some_and(|id| {
        !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    }) && value.len() <= 128
}

/// Meetings (docs/ARCHITECTURE.md, Meetings): how long an invite lasts, and how long and how
/// large a meeting's room may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingSettings {
    /// `MEETING_INVITE_HOURS`: how long an invite link works.
    pub invite_lifetime: Duration,
    /// `MEETING_MAX_MINUTES`: the longest a participant stays, and a meeting room lasts.
    pub max_duration: Duration,
    /// `MEETING_MAX_PARTICIPANTS`: people connected at once (a group room holds at most 50).
    pub max_participants: u32,
}

impl MeetingSettings {
    fn from_source(source: &dyn Source) -> Result<MeetingSettings, ConfigError> {
        Ok(MeetingSettings {
            invite_lifetime: Duration::from_secs(
                number(source, "MEETING_INVITE_HOURS", 24, 1..=168)? * 3600,
            ),
            // Twilio bounds MaxParticipantDuration to 10 minutes .. 24 hours.
            max_duration: Duration::from_secs(
                number(source, "MEETING_MAX_MINUTES", 240, 10..=1440)? * 60,
            ),
            max_participants: number(source, "MEETING_MAX_PARTICIPANTS", 50, 2..=50)? as u32,
        })
    }
}

/// How the pages send and receive media; told to them in every token response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaPath {
    Twilio,
    /// WHIP/WHEP on the local stand-in's relay under this base: an absolute URL, or a path on
    /// the pages' own origin such as `/media` (development only).
    Whip {
        base_url: String,
    },
}

/// The relay's routes a token response may name: (the `media` key, the route under the base).
const PUBLISH: (&str, &str) = ("publish_url", "whip");
const WATCH: (&str, &str) = ("watch_url", "whep");
const STATUS: (&str, &str) = ("status_url", "rooms");

impl MediaPath {
    /// The `media` object of the host token response: how to publish into `room`.
    pub fn for_host(&self, room: &crate::ids::RoomName) -> serde_json::Value {
        self.media(room, &[PUBLISH, STATUS])
    }

    /// The `media` object of the meeting token response: how to publish into and watch the
    /// meeting's `room` (on the relay: `?kind=screen` and `?publisher=` are the page's to add).
    pub fn for_meeting(&self, room: &crate::ids::MeetingRoom) -> serde_json::Value {
        self.media(room, &[PUBLISH, WATCH, STATUS])
    }

    /// The `media` object of the audience token response: how to watch `room`.
    pub fn for_viewer(&self, room: &crate::ids::RoomName) -> serde_json::Value {
        self.media(room, &[WATCH, STATUS])
    }

    /// `ivs` mode, the host: `{"kind": "ivs", "publish_url": <the stage's WHIP endpoint>}`,
    /// whatever the media path (locally the stand-in's stage endpoint is on the relay).
    pub fn for_stage_host(&self, whip_url: &str) -> serde_json::Value {
        serde_json::json!({ "kind": "ivs", "publish_url": whip_url })
    }

    /// `ivs` mode, a viewer of the stage whose room is `room` (`ivs-<stage id>`): with Twilio's
    /// path (production) `{"kind": "ivs"}` (the IVS SDK, with the token); locally the relay's
    /// WHEP for that room.
    pub fn for_stage_viewer(&self, room: &str) -> serde_json::Value {
        match self {
            MediaPath::Twilio => serde_json::json!({ "kind": "ivs" }),
            MediaPath::Whip { .. } => self.media(&room, &[WATCH, STATUS]),
        }
    }

    /// `{"kind": "twilio"}`, or `{"kind": "whip"}` with the URL of each of `routes` for `room`.
    fn media(&self, room: &dyn std::fmt::Display, routes: &[(&str, &str)]) -> serde_json::Value {
        match self {
            MediaPath::Twilio => serde_json::json!({ "kind": "twilio" }),
            MediaPath::Whip { base_url } => {
                let mut media = serde_json::Map::new();
                media.insert("kind".into(), "whip".into());
                for (key, route) in routes {
                    media.insert((*key).into(), format!("{base_url}/{route}/{room}").into());
                }
                serde_json::Value::Object(media)
            }
        }
    }
}

/// Secret values, from the environment or from the one Secrets Manager secret.
pub struct Secrets {
    pub account_sid: Sid,
    pub api_key_sid: Sid,
    pub api_key_secret: SecretString,
    pub host_password: HostPassword,
    /// Only needed to verify Twilio's webhook signatures.
    pub auth_token: Option<SecretString>,
    /// `IVS_PRIVATE_KEY`: signs IVS participant tokens (required in `ivs` mode: see
    /// [`Secrets::require_ivs_key`]).
    pub ivs_private_key: Option<SigningKey>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("account_sid", &self.account_sid)
            .field("api_key_sid", &self.api_key_sid)
            .finish_non_exhaustive()
    }
}

/// Where configuration values are read from: a lookup by key.
pub trait Source {
    fn get(&self, key: &str) -> Option<String>;
}

/// The process environment, after loading `.env` from the working directory if there is one.
pub struct Environment;

impl Environment {
    pub fn load() -> Environment {
        // A missing .env is normal (Lambda, CI); a malformed one should not pass silently.
        if let Err(err) = dotenvy::dotenv()
            && !err.not_found()
        {
            tracing::warn!(error = %err, "ignoring unreadable .env file");
        }
        Environment
    }
}

impl Source for Environment {
    fn get(&self, key: &str) -> Option<String> {
        std::env::var(key).ok()
    }
}

impl Source for HashMap<String, String> {
    fn get(&self, key: &str) -> Option<String> {
        HashMap::get(self, key).cloned()
    }
}

/// Reads `key`, treating an empty value like a missing one.
fn read(source: &dyn Source, key: &str) -> Option<String> {
    source
        .get(key)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn required(source: &dyn Source, key: &'static str) -> Result<String, ConfigError> {
    read(source, key).ok_or_else(|| ConfigError::new(key, "is missing"))
}

fn number(
    source: &dyn Source,
    key: &'static str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ConfigError> {
    let Some(raw) = read(source, key) else {
        return Ok(default);
    };
    let value: u64 = raw
        .parse()
        .map_err(|_| ConfigError::new(key, "must be a whole number"))?;
    if !range.contains(&value) {
        return Err(ConfigError::new(
            key,
            format!("must be between {} and {}", range.start(), range.end()),
        ));
    }
    Ok(value)
}

fn base_url(source: &dyn Source, key: &'static str, default: &str) -> Result<String, ConfigError> {
    let url = read(source, key).unwrap_or_else(|| default.to_owned());
    let url = url.trim_end_matches('/').to_owned();
    if url.starts_with("https://") || url.starts_with("http://") {
        Ok(url)
    } else {
        Err(ConfigError::new(key, "must be an http:// or https:// URL"))
    }
}

/// `WHIP_BASE_URL`: an http(s) URL or an absolute path on the pages' origin; default `/media`.
fn whip_base(source: &dyn Source) -> Result<String, ConfigError> {
    let base = read(source, "WHIP_BASE_URL").unwrap_or_else(|| "/media".to_owned());
    let base = base.trim_end_matches('/').to_owned();
    let ok = base.starts_with("https://")
        || base.starts_with("http://")
        || (base.starts_with('/') && !base.starts_with("//"));
    if ok && !base.is_empty() {
        Ok(base)
    } else {
        Err(ConfigError::new(
            "WHIP_BASE_URL",
            "must be an http(s) URL or a path starting with /",
        ))
    }
}

impl Settings {
    pub fn from_source(source: &dyn Source) -> Result<Settings, ConfigError> {
        let audience_mode = match read(source, "AUDIENCE_MODE").as_deref() {
            None | Some("room") => AudienceMode::Room,
            Some("live") => AudienceMode::Live,
            Some("ivs") => AudienceMode::Ivs,
            Some(_) => {
                return Err(ConfigError::new(
                    "AUDIENCE_MODE",
                    "must be `room`, `live` or `ivs`",
                ));
            }
        };
        let host_identity = read(source, "HOST_IDENTITY").unwrap_or_else(|| "host".to_owned());
        let host_identity = Identity::parse(&host_identity)
            .filter(|id| !id.is_viewer())
            .ok_or_else(|| {
                ConfigError::new(
                    "HOST_IDENTITY",
                    "must be 1 to 128 printable characters without spaces, not starting with `viewer-`",
                )
            })?;
        // Twilio bounds MaxParticipantDuration to 10 minutes .. 24 hours.
        let stream_max_minutes = number(source, "STREAM_MAX_MINUTES", 120, 10..=1440)?;
        let media_path = match read(source, "MEDIA_PATH").as_deref() {
            None | Some("twilio") => MediaPath::Twilio,
            Some("whip") => MediaPath::Whip {
                base_url: whip_base(source)?,
            },
            Some(_) => return Err(ConfigError::new("MEDIA_PATH", "must be `twilio` or `whip`")),
        };
        Ok(Settings {
            audience_mode,
            host_identity,
            stream_max: Duration::from_secs(stream_max_minutes * 60),
            video_base_url: base_url(source, "TWILIO_VIDEO_BASE_URL", "https://video.twilio.com")?,
            media_base_url: base_url(source, "TWILIO_MEDIA_BASE_URL", "https://media.twilio.com")?,
            secret_id: read(source, "SECRET_ID"),
            secrets_ttl: Duration::from_secs(number(
                source,
                "SECRETS_TTL_SECONDS",
                300,
                0..=86_400,
            )?),
            audience_cache_ttl: Duration::from_secs(number(
                source,
                "AUDIENCE_CACHE_SECONDS",
                1,
                0..=60,
            )?),
            // Twilio bounds UnusedRoomTimeout to 1 .. 60 minutes.
            studio_max: Duration::from_secs(60 * number(source, "STUDIO_MAX_MINUTES", 15, 1..=60)?),
            live_extension: read(source, "LIVE_EXTENSION")
                .unwrap_or_else(|| "video-composer-v2".to_owned()),
            playback_grant_ttl: Duration::from_secs(number(
                source,
                "PLAYBACK_GRANT_TTL_SECONDS",
                60,
                10..=60,
            )?),
            media_path,
            twilio_timeout: Duration::from_millis(number(
                source,
                "TWILIO_TIMEOUT_MS",
                4000,
                100..=10_000,
            )?),
            room_events_url: match read(source, "ROOM_EVENTS_URL") {
                Some(_) => Some(base_url(source, "ROOM_EVENTS_URL", "")?),
                None => None,
            },
            host_password_attempts: AttemptPolicy {
                max_failures: number(source, "HOST_PASSWORD_MAX_ATTEMPTS", 5, 1..=1_000_000)?
                    as u32,
                lockout: Duration::from_secs(number(
                    source,
                    "HOST_PASSWORD_LOCKOUT_SECONDS",
                    60,
                    1..=3600,
                )?),
            },
            meetings: MeetingSettings::from_source(source)?,
            ivs: match audience_mode {
                AudienceMode::Ivs => Some(IvsSettings::from_source(source)?),
                AudienceMode::Room | AudienceMode::Live => None,
            },
        })
    }
}

/// `HOST_PASSWORD_HASH` (an argon2 PHC string) if it is set, else `HOST_PASSWORD`.
fn host_password(source: &dyn Source) -> Result<HostPassword, ConfigError> {
    match read(source, "HOST_PASSWORD_HASH") {
        Some(phc) => HostPassword::from_hash(&phc)
            .map_err(|err| ConfigError::new("HOST_PASSWORD_HASH", err.to_string())),
        None => read(source, "HOST_PASSWORD")
            .map(|plain| HostPassword::Plain(plain.into()))
            .ok_or_else(|| {
                ConfigError::new(
                    "HOST_PASSWORD",
                    "is missing (set it, or HOST_PASSWORD_HASH to an argon2 hash of it)",
                )
            }),
    }
}

impl Secrets {
    pub fn from_source(source: &dyn Source) -> Result<Secrets, ConfigError> {
        let sid = |key: &'static str, prefix: &str| {
            Sid::parse(prefix, &required(source, key)?).ok_or_else(|| {
                ConfigError::new(key, format!("must be `{prefix}` followed by 32 hex digits"))
            })
        };
        Ok(Secrets {
            account_sid: sid("TWILIO_ACCOUNT_SID", "AC")?,
            api_key_sid: sid("TWILIO_API_KEY_SID", "SK")?,
            api_key_secret: required(source, "TWILIO_API_KEY_SECRET")?.into(),
            host_password: host_password(source)?,
            auth_token: read(source, "TWILIO_AUTH_TOKEN").map(SecretString::from),
            ivs_private_key: match read(source, "IVS_PRIVATE_KEY") {
                Some(pem) => Some(
                    SigningKey::from_pem(&pem)
                        .map_err(|err| ConfigError::new("IVS_PRIVATE_KEY", err.to_string()))?,
                ),
                None => None,
            },
        })
    }

    /// The IVS signing key, which `AUDIENCE_MODE=ivs` needs: an error naming the key without it.
    pub fn require_ivs_key(&self) -> Result<&SigningKey, ConfigError> {
        self.ivs_private_key.as_ref().ok_or_else(|| {
            ConfigError::new(
                "IVS_PRIVATE_KEY",
                "is missing (AUDIENCE_MODE=ivs needs the P-384 private key in PEM)",
            )
        })
    }

    /// Parses the Secrets Manager secret: a JSON object with the same keys as the environment.
    pub fn from_json(json: &str) -> Result<Secrets, ConfigError> {
        let object: HashMap<String, serde_json::Value> = serde_json::from_str(json)
            .map_err(|_| ConfigError::new("SECRET_ID", "the secret is not a JSON object"))?;
        let strings: HashMap<String, String> = object
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned())))
            .collect();
        Secrets::from_source(&strings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::ExposeSecret;

    fn source(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const GOOD: &[(&str, &str)] = &[
        ("TWILIO_ACCOUNT_SID", "AC0123456789abcdef0123456789abcdef"),
        ("TWILIO_API_KEY_SID", "SKfedcba9876543210fedcba9876543210"),
        ("TWILIO_API_KEY_SECRET", "key-secret-value"),
        ("HOST_PASSWORD", "pw-value"),
    ];

    #[test]
    fn defaults_apply_when_settings_are_absent() {
        let settings = Settings::from_source(&source(&[])).unwrap();
        assert_eq!(settings.audience_mode, AudienceMode::Room);
        assert_eq!(settings.host_identity.as_str(), "host");
        assert_eq!(settings.stream_max, Duration::from_secs(7200));
        assert_eq!(settings.video_base_url, "https://video.twilio.com");
        assert_eq!(settings.media_base_url, "https://media.twilio.com");
        assert_eq!(settings.media_path, MediaPath::Twilio);
        assert_eq!(settings.room_events_url, None);
        assert_eq!(
            settings.meetings,
            MeetingSettings {
                invite_lifetime: Duration::from_secs(24 * 3600),
                max_duration: Duration::from_secs(240 * 60),
                max_participants: 50,
            }
        );
        assert_eq!(settings.audience_cache_ttl, Duration::from_secs(1));
        assert_eq!(settings.studio_max, Duration::from_secs(15 * 60));
    }

    #[test]
    fn malformed_settings_name_their_key() {
        for (key, value) in [
            ("AUDIENCE_MODE", "broadcast"),
            ("HOST_IDENTITY", "viewer-sneaky"),
            ("HOST_IDENTITY", "two words"),
            ("STREAM_MAX_MINUTES", "5"),
            ("STREAM_MAX_MINUTES", "ten"),
            ("STUDIO_MAX_MINUTES", "0"),
            ("STUDIO_MAX_MINUTES", "61"),
            ("TWILIO_VIDEO_BASE_URL", "video.twilio.com"),
            ("MEDIA_PATH", "pigeon"),
            ("ROOM_EVENTS_URL", "example.com/room_events"),
            ("MEETING_INVITE_HOURS", "0"),
            ("MEETING_INVITE_HOURS", "169"),
            ("MEETING_MAX_MINUTES", "9"),
            ("MEETING_MAX_MINUTES", "1441"),
            ("MEETING_MAX_PARTICIPANTS", "51"),
            ("MEETING_MAX_PARTICIPANTS", "1"),
        ] {
            let err = Settings::from_source(&source(&[(key, value)])).unwrap_err();
            assert_eq!(err.key, key, "{key}={value}");
        }
    }

    #[test]
    fn the_whip_media_path_names_publish_and_watch_urls() {
        let room = crate::ids::RoomName::parse("livestream-abc").unwrap();
        let settings = Settings::from_source(&source(&[("MEDIA_PATH", "whip")])).unwrap();
        assert_eq!(
            settings.media_path.for_host(&room),
            serde_json::json!({
                "kind": "whip",
                "publish_url": "/media/whip/livestream-abc",
                "status_url": "/media/rooms/livestream-abc",
            })
        );
        assert_eq!(
            settings.media_path.for_viewer(&room),
            serde_json::json!({
                "kind": "whip",
                "watch_url": "/media/whep/livestream-abc",
                "status_url": "/media/rooms/livestream-abc",
            })
        );
        assert_eq!(
            MediaPath::Twilio
                .for_meeting(&crate::ids::MeetingRoom::parse("meeting-abcdefghijkl").unwrap()),
            serde_json::json!({ "kind": "twilio" })
        );
        let meeting = crate::ids::MeetingRoom::parse("meeting-abcdefghijkl").unwrap();
        assert_eq!(
            settings.media_path.for_meeting(&meeting),
            serde_json::json!({
                "kind": "whip",
                "publish_url": "/media/whip/meeting-abcdefghijkl",
                "watch_url": "/media/whep/meeting-abcdefghijkl",
                "status_url": "/media/rooms/meeting-abcdefghijkl",
            })
        );
        let settings = Settings::from_source(&source(&[
            ("MEDIA_PATH", "whip"),
            ("WHIP_BASE_URL", "http://127.0.0.1:4010/media/"),
        ]))
        .unwrap();
        assert_eq!(
            settings.media_path,
            MediaPath::Whip {
                base_url: "http://127.0.0.1:4010/media".into()
            }
        );
        for bad in ["media", "//evil.example", "ftp://x"] {
            let err =
                Settings::from_source(&source(&[("MEDIA_PATH", "whip"), ("WHIP_BASE_URL", bad)]))
                    .unwrap_err();
            assert_eq!(err.key, "WHIP_BASE_URL", "{bad}");
        }
    }

    #[test]
    fn ivs_media_names_the_stage_endpoint_or_the_relay_room() {
        let whip = MediaPath::Whip {
            base_url: "/media".into(),
        };
        assert_eq!(
            whip.for_stage_host("http://127.0.0.1:1/media/ivs/whip/abc"),
            serde_json::json!({ "kind": "ivs", "publish_url": "http://127.0.0.1:1/media/ivs/whip/abc" })
        );
        assert_eq!(
            whip.for_stage_viewer("ivs-abc"),
            serde_json::json!({
                "kind": "whip",
                "watch_url": "/media/whep/ivs-abc",
                "status_url": "/media/rooms/ivs-abc",
            })
        );
        assert_eq!(
            MediaPath::Twilio.for_stage_viewer("ivs-abc"),
            serde_json::json!({ "kind": "ivs" })
        );
    }

    #[test]
    fn secrets_parse_and_name_the_missing_key() {
        assert!(Secrets::from_source(&source(GOOD)).is_ok());
        for missing in [
            "TWILIO_ACCOUNT_SID",
            "TWILIO_API_KEY_SID",
            "TWILIO_API_KEY_SECRET",
            "HOST_PASSWORD",
        ] {
            let pairs: Vec<_> = GOOD
                .iter()
                .copied()
                .filter(|(k, _)| *k != missing)
                .collect();
            assert_eq!(
                Secrets::from_source(&source(&pairs)).unwrap_err().key,
                missing
            );
        }
        let mut bad = GOOD.to_vec();
        bad[0] = ("TWILIO_ACCOUNT_SID", "SK0123456789abcdef0123456789abcdef");
        assert_eq!(
            Secrets::from_source(&source(&bad)).unwrap_err().key,
            "TWILIO_ACCOUNT_SID"
        );
    }

    #[test]
    fn the_auth_token_is_optional() {
        assert!(
            Secrets::from_source(&source(GOOD))
                .unwrap()
                .auth_token
                .is_none()
        );
        let mut with_token = GOOD.to_vec();
        with_token.push(("TWILIO_AUTH_TOKEN", "auth-token-value"));
        let secrets = Secrets::from_source(&source(&with_token)).unwrap();
        assert_eq!(
            secrets.auth_token.as_ref().map(|t| t.expose_secret()),
            Some("auth-token-value")
        );
        assert!(!format!("{secrets:?}").contains("auth-token-value"));
    }

    #[test]
    fn a_host_password_hash_replaces_the_password_and_a_bad_one_is_named_not_shown() {
        let phc = crate::password::hash("pw-value", b"sixteen byte salt").unwrap();
        let mut pairs: Vec<_> = GOOD
            .iter()
            .copied()
            .filter(|(k, _)| *k != "HOST_PASSWORD")
            .collect();
        pairs.push(("HOST_PASSWORD_HASH", &phc));
        let secrets = Secrets::from_source(&source(&pairs)).unwrap();
        assert!(secrets.host_password.matches("pw-value"));
        pairs.pop();
        pairs.push(("HOST_PASSWORD_HASH", "pw-value-pasted-by-mistake"));
        let err = Secrets::from_source(&source(&pairs)).unwrap_err();
        assert_eq!(err.key, "HOST_PASSWORD_HASH");
        assert!(!err.to_string().contains("pasted"), "{err}");
    }

    #[test]
    fn errors_and_debug_never_show_secret_values() {
        let secrets = Secrets::from_source(&source(GOOD)).unwrap();
        let shown = format!("{secrets:?}");
        assert!(!shown.contains("key-secret-value") && !shown.contains("pw-value"));
        let json = r#"{"TWILIO_ACCOUNT_SID":"nonsense-value","TWILIO_API_KEY_SID":"x","TWILIO_API_KEY_SECRET":"s","HOST_PASSWORD":"p"}"#;
        let err = Secrets::from_json(json).unwrap_err();
        assert!(!err.to_string().contains("nonsense-value"));
        assert!(Secrets::from_json("not json").is_err());
    }

    const KEY_ARN: &str = "arn:aws:ivs:us-east-1:123456789012:public-key/standin0000";

    #[test]
    fn ivs_mode_reads_its_settings_and_names_a_bad_one() {
        let settings = Settings::from_source(&source(&[])).unwrap();
        assert_eq!(settings.ivs, None);
        let settings = Settings::from_source(&source(&[
            ("AUDIENCE_MODE", "ivs"),
            ("IVS_PUBLIC_KEY_ARN", KEY_ARN),
            ("IVS_ENDPOINT_URL", "http://127.0.0.1:4010/ivs/"),
        ]))
        .unwrap();
        assert_eq!(settings.audience_mode, AudienceMode::Ivs);
        assert_eq!(
            settings.ivs,
            Some(IvsSettings {
                endpoint_url: Some("http://127.0.0.1:4010/ivs".into()),
                public_key_arn: KEY_ARN.into(),
                timeout: Duration::from_millis(4000),
                lookup_ttl: Duration::from_secs(5),
            })
        );
        let ivs = [("AUDIENCE_MODE", "ivs"), ("IVS_PUBLIC_KEY_ARN", KEY_ARN)];
        assert_eq!(
            Settings::from_source(&source(&ivs[..1])).unwrap_err().key,
            "IVS_PUBLIC_KEY_ARN"
        );
        for (key, value) in [
            (
                "IVS_PUBLIC_KEY_ARN",
                "arn:aws:ivs:us-east-1:123456789012:stage/abc",
            ),
            ("IVS_PUBLIC_KEY_ARN", "standin0000"),
            ("IVS_ENDPOINT_URL", "127.0.0.1:4010"),
            ("IVS_TIMEOUT_MS", "50"),
            ("IVS_LOOKUP_SECONDS", "0"),
        ] {
            let mut pairs = ivs.to_vec();
            pairs.retain(|(k, _)| *k != key);
            pairs.push((key, value));
            assert_eq!(
                Settings::from_source(&source(&pairs)).unwrap_err().key,
                key,
                "{key}={value}"
            );
        }
    }

    #[test]
    fn the_ivs_private_key_is_parsed_once_named_when_bad_and_never_shown() {
        let secrets = Secrets::from_source(&source(GOOD)).unwrap();
        assert_eq!(
            secrets.require_ivs_key().unwrap_err().key,
            "IVS_PRIVATE_KEY"
        );
        let pem = onair_test_support::ivs_keys::p384().private_pem;
        let mut pairs = GOOD.to_vec();
        pairs.push(("IVS_PRIVATE_KEY", &pem));
        let secrets = Secrets::from_source(&source(&pairs)).unwrap();
        assert!(secrets.require_ivs_key().is_ok());
        assert!(!format!("{secrets:?}").contains("PRIVATE"));
        let bad = pem.replace("MI", "XX");
        pairs.pop();
        pairs.push(("IVS_PRIVATE_KEY", &bad));
        let err = Secrets::from_source(&source(&pairs)).unwrap_err();
        assert_eq!(err.key, "IVS_PRIVATE_KEY");
        assert!(!err.to_string().contains("XX"), "{err}");
    }
}
