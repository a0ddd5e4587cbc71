//! A local, stateful stand-in for Twilio's Video v1 and Media v1 (Twilio Live) REST APIs, used by
//! every test of the project and by the local run. It serves rooms, participants, subscribe
//! rules, player streamers, playback grants and media processors on one listener, checks HTTP
//! Basic auth, answers with Twilio's JSON shapes and error bodies, expires resources on a clock
//! tests can advance, injects faults, and logs every call. Rooms created with a `StatusCallback`
//! get Twilio's signed room status callbacks. It carries the media too: a WebRTC
//! relay (WHIP to publish, WHEP to watch) for the rooms it knows. And it stands in for the
//! Amazon IVS real-time API (stages, public keys, participants; SigV4, the model's shapes) with
//! a WHIP endpoint per stage that checks self-signed participant tokens.
//!
//! How the stand-in fits the project: docs/ARCHITECTURE.md, "The stand-in"; the media relay's
//! contract and figures: docs/RELAY.md.
//!
//! Module map, in layers. The rule: a module imports only modules of lower layers, so no two
//! modules import each other and the state knows nothing of HTTP. The same holds between the
//! files inside `rest/`, `media/` and `ivs/` (their module maps list them).
//!
//! | layer | module | what it is for |
//! |---|---|---|
//! | 7 | `server` | [`StandIn`]: start, stop, the router of the four surfaces, and the Rust inspection/steering API |
//! | 6 | `control` | the `/__standin/...` control API for out-of-process users |
//! | 5 | `rest` | the `/v1/...` REST surface: axum routes (`rooms`, `participants`, `live`) behind the call log, the fault layer and the auth/parameter check |
//! | 5 | `media` | the media relay: WHIP/WHEP under `/media` (and IVS WHIP for stages), str0m sessions on one UDP socket, forwarding by subscribe rules |
//! | 4 | `ivs` | the IVS real-time API under `/ivs` (SigV4, the model's shapes, call log), its stages, public keys and participants, and participant-token checks for the relay |
//! | 3 | `layers` | what the HTTP surfaces are wrapped in: the fault layer (each surface with its own error bodies), late answers held back and one log line; Twilio errors as HTTP answers |
//! | 3 | `callbacks` | room status callbacks: takes the room events the state queued, signs them like Twilio ([`signature`]) and sends them in order to loopback URLs |
//! | 3 | `inspect` | read-only views of the state for the Rust and control APIs |
//! | 2 | `shared` | the state one server shares between REST, media, control API and Rust API: clock, resources, call and callback logs, faults |
//! | 2 | `render` | resources as Twilio's JSON |
//! | 2 | `paging` | Twilio list paging (`meta`, page URLs, page tokens) |
//! | 1 | `state` | rooms, participants, rules, streamers, grants, processors, their lifecycle rules, and the room events they queue |
//! | 1 | `params` | query/form parameters and their validation per operation |
//! | 0 | `account` | the one account and its two credential pairs |
//! | 0 | `clock` | real time plus a test-controlled offset; Twilio's date format |
//! | 0 | `error` | Twilio's error body and codes (a plain value) |
//! | 0 | `calls` | the call log and callback log entries ([`Call`], [`CallbackInfo`]) |
//! | 0 | `faults` | fault injection types and the faults in force |
//! | 0 | `sid` | random resource sids |
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use twilio_standin::{Account, StandIn};
//! let standin = StandIn::start(Account::for_tests()).await?;
//! // point TWILIO_VIDEO_BASE_URL and TWILIO_MEDIA_BASE_URL at standin.base_url()
//! standin.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod account;
mod callbacks;
mod calls;
mod clock;
mod control;
mod error;
mod faults;
mod inspect;
mod ivs;
mod layers;
mod media;
mod paging;
mod params;
mod render;
mod rest;
mod server;
mod shared;
mod sid;
mod state;

pub use account::Account;
pub use callbacks::signature;
pub use calls::{Call, CallbackInfo};
pub use faults::{Fault, FaultAction};
pub use inspect::{MediaProcessorInfo, ParticipantInfo, PlayerStreamerInfo, RoomInfo};
pub use ivs::{
    DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, IvsCall, IvsParticipantInfo, IvsSettings,
    IvsStageInfo, STARTUP_KEY_ARN,
};
pub use media::{
    AccessToken, MediaParticipantInfo, MediaRoomInfo, MediaSessionInfo, MediaSettings, MediaStats,
    Publication, PublicationKind,
};
pub use server::StandIn;
