//! The Twilio REST client (docs/ARCHITECTURE.md, Twilio REST): form-encoded requests with Basic
//! auth, Twilio's error bodies parsed into [`TwilioError`], lists paged through
//! `meta.next_page_url`, retries with jittered backoff on 429 and 5xx for calls that are safe to
//! repeat (unless the caller asked for [`Twilio::without_retries`]), and a request timeout well
//! under the Lambda timeout. Twilio's statuses are enums with an `Other` fallback. `video` and
//! `live` hold the calls themselves.

mod live;
mod video;

pub use live::{
    MediaProcessor, MediaProcessorStatus, PlaybackGrant, PlayerStreamer, PlayerStreamerStatus,
};
pub use video::{Participant, ParticipantStatus, Room, RoomBounds, RoomStatus};

use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::error::shortened;
use crate::secret::ExposeSecret;
use crate::secret_store::{SecretStore, SecretsError};

/// Attempts for a call that may be repeated (the first try included).
const MAX_ATTEMPTS: u32 = 3;
/// The first backoff step; each retry doubles it, with full jitter.
const BACKOFF_BASE: Duration = Duration::from_millis(100);
/// Pages followed at most when listing, so a runaway list cannot run out the clock.
pub const MAX_PAGES: usize = 10;
/// The most of Twilio's own text (an error message, a decode error) kept in a [`TwilioError`].
pub const MAX_MESSAGE_CHARS: usize = 300;

/// How a Twilio call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TwilioError {
    /// Twilio answered with an error body; `code` is Twilio's own (e.g. 20404, 53113).
    #[error("Twilio answered {status} (code {code:?}): {message}")]
    Api {
        status: u16,
        code: Option<u32>,
        message: String,
    },
    #[error("Twilio could not be reached: {0}")]
    Transport(String),
    #[error("Twilio's answer could not be read: {0}")]
    Decode(String),
    #[error("Twilio credentials are unavailable: {0}")]
    Secrets(#[from] SecretsError),
}

impl TwilioError {
    /// Twilio's error code, when it sent one.
    pub fn code(&self) -> Option<u32> {
        match self {
            TwilioError::Api { code, .. } => *code,
            _ => None,
        }
    }
    pub fn is_not_found(&self) -> bool {
        matches!(self, TwilioError::Api { status: 404, .. }) || self.code() == Some(20404)
    }
    /// Twilio's "room exists" (53113): a room of that unique name is already in progress.
    pub fn is_room_exists(&self) -> bool {
        self.code() == Some(ROOM_EXISTS)
    }
    /// Completing a room that is gone or not in progress (53112): it has already ended.
    pub fn is_room_over(&self) -> bool {
        self.is_not_found() || self.code() == Some(ROOM_NOT_IN_PROGRESS)
    }
}

/// Twilio's "Room exists": a create named a room that is in progress.
const ROOM_EXISTS: u32 = 53113;
/// Twilio's "Room is not in progress".
const ROOM_NOT_IN_PROGRESS: u32 = 53112;

/// Whether a call may be sent again after a 429, a 5xx or a timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repeat {
    /// Reads, and updates to a final status: repeating changes nothing.
    Safe,
    /// Creates: a repeat could create a second billable resource.
    Once,
}

#[derive(Debug, Clone, Copy)]
enum Api {
    Video,
    Media,
}

/// A Twilio status enum: its lowercase wire values, read with serde and written by `as_str`
/// from one list, and an `Other` variant for whatever Twilio adds later.
macro_rules! twilio_status {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
        pub enum $name {
            $(#[serde(rename = $wire)] $variant,)+
            /// A status this client does not know (one Twilio added later).
            #[serde(other)]
            Other,
        }

        impl $name {
            /// The status as Twilio writes it; [`Self::Other`] as `other`, which Twilio never sends.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)+
                    $name::Other => "other",
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use twilio_status;

/// The client; cheap to share, built once per container.
#[derive(Clone)]
pub struct Twilio {
    http: reqwest::Client,
    video_base: String,
    media_base: String,
    secrets: Arc<SecretStore>,
    /// Attempts for a call that may be repeated (the first try included).
    max_attempts: u32,
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    code: Option<u32>,
    message: Option<String>,
    detail: Option<String>,
    title: Option<String>,
}

#[derive(serde::Deserialize)]
struct Meta {
    next_page_url: Option<String>,
}

impl Twilio {
    /// A client for the two base URLs; each request gives up after `timeout`.
    pub fn new(
        video_base: &str,
        media_base: &str,
        timeout: Duration,
        secrets: Arc<SecretStore>,
    ) -> Twilio {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(2)))
            .user_agent(concat!("onair/", env!("CARGO_PKG_VERSION")))
            // Mozilla's roots, compiled in: loading the system's trust store (a bundle and a
            // directory of certificates) added milliseconds to every cold start
            // (docs/PERFORMANCE.md). Only Twilio's public API is called with this client.
            .tls_certs_only(
                webpki_root_certs::TLS_SERVER_ROOT_CERTS
                    .iter()
                    .filter_map(|der| reqwest::Certificate::from_der(der).ok()),
            )
            .build()
            // Building fails only if the TLS backend cannot initialise: nothing would work then.
            .expect("the HTTP client could not be built");
        Twilio {
            http,
            video_base: video_base.trim_end_matches('/').to_owned(),
            media_base: media_base.trim_end_matches('/').to_owned(),
            secrets,
            max_attempts: MAX_ATTEMPTS,
        }
    }

    /// The same client making one attempt per call, for callers that retry by themselves: a
    /// crowd of viewers asks again anyway, and retries would multiply its load on a Twilio that
    /// is already failing. (A 401 is still retried once with fresh secrets.)
    pub fn without_retries(&self) -> Twilio {
        Twilio {
            max_attempts: 1,
            ..self.clone()
        }
    }

    fn url(&self, api: Api, path: &str) -> String {
        let base = match api {
            Api::Video => &self.video_base,
            Api::Media => &self.media_base,
        };
        format!("{base}{path}")
    }

    async fn get<T: DeserializeOwned>(
        &self,
        api: Api,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, TwilioError> {
        self.send(
            reqwest::Method::GET,
            self.url(api, path),
            query,
            &[],
            Repeat::Safe,
        )
        .await
    }

    async fn post<T: DeserializeOwned>(
        &self,
        api: Api,
        path: &str,
        form: &[(&str, String)],
        repeat: Repeat,
    ) -> Result<T, TwilioError> {
        self.send(
            reqwest::Method::POST,
            self.url(api, path),
            &[],
            form,
            repeat,
        )
        .await
    }

    /// Every item of a list, following `meta.next_page_url` for at most [`MAX_PAGES`] pages.
    async fn list<T: DeserializeOwned>(
        &self,
        api: Api,
        path: &str,
        key: &str,
        query: &[(&str, String)],
    ) -> Result<Vec<T>, TwilioError> {
        let mut items = Vec::new();
        let mut url = self.url(api, path);
        let mut query = query.to_vec();
        for _ in 0..MAX_PAGES {
            let page: serde_json::Map<String, serde_json::Value> = self
                .send(reqwest::Method::GET, url.clone(), &query, &[], Repeat::Safe)
                .await?;
            let page = Page::<T>::from_map(page, key)?;
            items.extend(page.items);
            match page.next_page_url {
                Some(next) => {
                    url = same_base(self.url(api, ""), next)?;
                    query.clear();
                }
                None => return Ok(items),
            }
        }
        tracing::warn!(path, pages = MAX_PAGES, "list truncated at the page bound");
        Ok(items)
    }

    /// Sends one call: Basic auth with the API key, retries per `repeat`, and one retry with
    /// freshly fetched secrets after a 401 (the key may have been rotated).
    async fn send<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        url: String,
        query: &[(&str, String)],
        form: &[(&str, String)],
        repeat: Repeat,
    ) -> Result<T, TwilioError> {
        let mut secrets = self.secrets.current().await?;
        let mut refreshed = false;
        let mut attempt = 1;
        loop {
            let mut request = self.http.request(method.clone(), &url).basic_auth(
                secrets.api_key_sid.as_str(),
                Some(secrets.api_key_secret.expose_secret()),
            );
            if !query.is_empty() {
                request = request.query(query);
            }
            if method == reqwest::Method::POST {
                request = request.form(form);
            }
            let outcome = match request.send().await {
                Ok(response) => read_response(response).await,
                Err(err) => Err(TwilioError::Transport(describe_transport(&err))),
            };
            let retryable = match &outcome {
                Ok(_) => false,
                Err(TwilioError::Api { status: 401, .. })
                    if !refreshed && self.secrets.can_refresh() =>
                {
                    refreshed = true;
                    secrets = self.secrets.refresh().await?;
                    continue;
                }
                Err(TwilioError::Api { status, .. }) => *status == 429 || *status >= 500,
                Err(TwilioError::Transport(_)) => true,
                Err(_) => false,
            };
            if !retryable || repeat == Repeat::Once || attempt >= self.max_attempts {
                if let Err(err) = &outcome {
                    tracing::warn!(method = %method, path = path_of(&url), error = %err, attempt, "Twilio call failed");
                }
                return outcome;
            }
            let ceiling = BACKOFF_BASE * 2u32.pow(attempt - 1);
            let pause = Duration::from_millis(crate::random::below(ceiling.as_millis() as u64 + 1));
            tracing::info!(method = %method, path = path_of(&url), attempt, pause_ms = pause.as_millis() as u64, "retrying Twilio call");
            tokio::time::sleep(pause).await;
            attempt += 1;
        }
    }
}

async fn read_response<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, TwilioError> {
    let status = response.status().as_u16();
    let bytes = response
        .bytes()
        .await
        .map_err(|err| TwilioError::Transport(describe_transport(&err)))?;
    decode(status, &bytes)
}

/// Reads one Twilio answer: a 2xx body as `T`, anything else as [`TwilioError::Api`] with
/// Twilio's code and message. Twilio's text is kept to [`MAX_MESSAGE_CHARS`] characters, so a
/// runaway answer cannot flood a log line.
pub fn decode<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<T, TwilioError> {
    if (200..300).contains(&status) {
        // 204 and friends: decode `null` so `()` and `Option` work.
        let body: &[u8] = if body.is_empty() { b"null" } else { body };
        return serde_json::from_slice(body).map_err(decode_error);
    }
    let body: Option<ErrorBody> = serde_json::from_slice(body).ok();
    let (code, message) = match body {
        Some(body) => (
            body.code,
            body.message
                .or(body.detail)
                .or(body.title)
                .unwrap_or_default(),
        ),
        None => (None, String::new()),
    };
    let message = if message.is_empty() {
        http::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("error")
            .to_owned()
    } else {
        shortened(&message, MAX_MESSAGE_CHARS)
    };
    Err(TwilioError::Api {
        status,
        code,
        message,
    })
}

/// serde's message can quote the answer (an unknown variant, a bad string): bounded.
fn decode_error(err: serde_json::Error) -> TwilioError {
    TwilioError::Decode(shortened(&err.to_string(), MAX_MESSAGE_CHARS))
}

/// One page of a Twilio list: the items under the list's key and the next page, if any.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_page_url: Option<String>,
}

impl<T: DeserializeOwned> Page<T> {
    /// Reads a page answer (status and body) whose items are under `key`.
    pub fn decode(status: u16, body: &[u8], key: &str) -> Result<Page<T>, TwilioError> {
        Page::from_map(decode(status, body)?, key)
    }

    fn from_map(
        mut page: serde_json::Map<String, serde_json::Value>,
        key: &str,
    ) -> Result<Page<T>, TwilioError> {
        let items = page
            .remove(key)
            .ok_or_else(|| TwilioError::Decode(format!("the list has no `{key}`")))?;
        let items: Vec<T> = serde_json::from_value(items).map_err(decode_error)?;
        let next_page_url = page
            .remove("meta")
            .and_then(|meta| serde_json::from_value::<Meta>(meta).ok())
            .and_then(|meta| meta.next_page_url);
        Ok(Page {
            items,
            next_page_url,
        })
    }
}

/// `next` if it is on `base` (scheme, host and port, then a path): the client sends its API key
/// with every page, so a next page elsewhere is refused rather than followed.
fn same_base(base: String, next: String) -> Result<String, TwilioError> {
    let on_base = next
        .strip_prefix(base.as_str())
        .is_some_and(|rest| rest.starts_with('/'));
    if on_base {
        Ok(next)
    } else {
        Err(TwilioError::Decode(
            "the next page is not on the API's base URL".into(),
        ))
    }
}

/// A transport error without the URL's query (reqwest's `Display` includes the URL).
fn describe_transport(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        "timed out".to_owned()
    } else if err.is_connect() {
        "connection failed".to_owned()
    } else {
        "request failed".to_owned()
    }
}

/// Seconds from an ISO 8601 date (Twilio's `date_created`) to `now_unix`.
pub fn age_secs(date: Option<&str>, now_unix: u64) -> Option<u64> {
    Some(now_unix.saturating_sub(unix_secs(date)?))
}

/// An ISO 8601 date (Twilio's `date_created`) in seconds since the Unix epoch.
pub fn unix_secs(date: Option<&str>) -> Option<u64> {
    let date =
        time::OffsetDateTime::parse(date?, &time::format_description::well_known::Rfc3339).ok()?;
    Some(date.unix_timestamp().max(0) as u64)
}

/// The path of a URL, for logs.
fn path_of(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
    path.split('?').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_pages_are_followed_only_on_the_api_base_url() {
        let base = || "https://video.twilio.com".to_owned();
        for good in [
            "https://video.twilio.com/v1/Rooms?PageSize=50&Page=1&PageToken=PAabc",
            "https://video.twilio.com/",
        ] {
            assert_eq!(same_base(base(), good.into()).unwrap(), good);
        }
        for bad in [
            "https://video.twilio.com.evil.example/v1/Rooms",
            "https://video.twilio.com@evil.example/v1/Rooms",
            "https://video.twilio.com:444/v1/Rooms",
            "http://video.twilio.com/v1/Rooms",
            "https://evil.example/https://video.twilio.com/v1/Rooms",
            "/v1/Rooms?Page=1",
            "https://video.twilio.com",
            "",
        ] {
            assert!(
                matches!(same_base(base(), bad.into()), Err(TwilioError::Decode(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn decode_errors_keep_twilio_text_bounded() {
        let long = "x".repeat(10_000);
        // serde quotes a string of the wrong type in its message.
        let body = serde_json::json!(long).to_string();
        let err = decode::<u32>(200, body.as_bytes()).unwrap_err();
        assert!(matches!(err, TwilioError::Decode(_)));
        assert!(err.to_string().len() < MAX_MESSAGE_CHARS + 100, "{err}");
        let body = serde_json::json!({ "code": 20404, "message": long }).to_string();
        let err = decode::<Room>(404, body.as_bytes()).unwrap_err();
        assert!(err.is_not_found());
        assert!(err.to_string().len() < MAX_MESSAGE_CHARS + 100, "{err}");
    }

    /// Every status value of Twilio's OpenAPI specs (`specs/twilio/`) reads as a known variant
    /// and is written back as it came; an unknown value reads as `Other`.
    #[test]
    fn statuses_match_twilios_specs() {
        fn spec_values(file: &str, schema: &str) -> Vec<String> {
            let path = format!("{}/../../specs/twilio/{file}", env!("CARGO_MANIFEST_DIR"));
            let spec: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let values = &spec["components"]["schemas"][schema]["enum"];
            serde_json::from_value(values.clone()).unwrap_or_else(|_| panic!("{schema}"))
        }
        fn check<T>(values: Vec<String>, as_str: fn(T) -> &'static str)
        where
            T: serde::de::DeserializeOwned + std::fmt::Debug + Copy,
        {
            assert!(!values.is_empty());
            for value in values {
                let status: T = serde_json::from_value(serde_json::json!(value)).unwrap();
                assert_eq!(as_str(status), value, "{status:?}");
            }
            let later: T = serde_json::from_value(serde_json::json!("added-later")).unwrap();
            assert_eq!(as_str(later), "other");
        }
        let video = "twilio_video_v1.json";
        let media = "twilio_media_v1.json";
        check(
            spec_values(video, "room_enum_room_status"),
            RoomStatus::as_str,
        );
        check(
            spec_values(video, "room_participant_enum_status"),
            ParticipantStatus::as_str,
        );
        check(
            spec_values(media, "player_streamer_enum_status"),
            PlayerStreamerStatus::as_str,
        );
        check(
            spec_values(media, "media_processor_enum_status"),
            MediaProcessorStatus::as_str,
        );
    }
}
