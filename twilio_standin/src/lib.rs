//! A local, stateful stand-in for Twilio's Video v1 and Media v1 (Twilio Live) REST APIs, used by
//! every test of the project and by the local run. It serves rooms, participants, subscribe
//! rules, player streamers, playback grants and media processors on one listener, checks HTTP
//! Basic auth, answers with Twilio's JSON shapes and error bodies, expires resources on a clock
//! tests can advance, injects faults, and logs every call. Rooms created with a `StatusCallback`
//! get Twilio's signed room status callbacks. It carries the media too: a WebRTC
//! relay (WHIP to publish, WHEP to watch) for the rooms it knows.
//!
//! Module map:
//!
//! | module | what it is for |
//! |---|---|
//! | `account` | the one account and its two credential pairs |
//! | `server` | [`StandIn`]: start, stop, and the Rust inspection/steering API |
//! | `shared` | the state one server shares between REST, control API and Rust API |
//! | `state` | rooms, participants, rules, streamers, grants, processors and their lifecycle rules |
//! | `clock` | real time plus a test-controlled offset; Twilio's date format |
//! | `rest` | the `/v1/...` REST surface: auth, faults, call log, routing (`rooms`, `participants`, `live`) |
//! | `params` | query/form parameters and their validation per operation |
//! | `paging` | Twilio list paging (`meta`, page URLs, page tokens) |
//! | `render` | resources as Twilio's JSON |
//! | `error` | Twilio's error body and codes |
//! | `media` | the media relay: WHIP/WHEP under `/media`, str0m sessions on one UDP socket, forwarding by subscribe rules |
//! | `control` | the `/__standin/...` control API for out-of-process users |
//! | `calls` | the call log entry type |
//! | `callbacks` | room status callbacks: queued by `state`, signed like Twilio's ([`signature`]) and delivered in order to loopback URLs |
//! | `faults` | fault injection types |
//! | `inspect` | read-only views returned by the inspection API |
//! | `sid` | random resource sids |
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
pub use media::{AccessToken, MediaSessionInfo, MediaSettings, MediaStats};
pub use server::StandIn;
