//! What the OnAir functions share. Each endpoint crate is a short handler over these modules:
//!
//! - [`config`]: typed settings and secrets, parsed once at start-up; errors name the key.
//! - [`secret_store`]: secrets from the environment or Secrets Manager (TTL, refetch after 401).
//! - [`secret`]: secret wrappers and the constant-time comparison.
//! - [`ids`]: SIDs, identities and room names, checked once at the edge.
//! - [`request`]: the HTTP edge: method, size limit, content type, JSON and bearer tokens.
//! - [`auth`]: who is calling: the host (token or password) or a viewer (audience token).
//! - [`password`]: the host password, plain or argon2; [`attempts`]: wrong-password lock-outs.
//! - [`token`]: Twilio access tokens: minting and verifying.
//! - [`twilio`]: the Twilio REST client (Video and Media), retries, paging, typed errors.
//! - [`stream`]: which room is live; starting and stopping a room's resources.
//! - [`audience`]: the cached live-stream lookup and the shared PlaybackGrant.
//! - [`webhook`]: Twilio's webhook signatures and the room status callback URL.
//! - [`error`], [`response`]: the JSON errors and responses of DESIGN §3.
//! - [`app`]: what a function builds once per container; [`lambda`]: the shared `main`.
//! - [`logging`]: JSON logs with the request id; [`random`]: names and jitter.

pub mod app;
pub mod attempts;
pub mod audience;
pub mod auth;
pub mod config;
pub mod error;
pub mod ids;
pub mod lambda;
pub mod logging;
pub mod password;
pub mod random;
pub mod request;
pub mod response;
pub mod secret;
pub mod secret_store;
pub mod stream;
pub mod token;
pub mod twilio;
pub mod webhook;

pub use app::App;
pub use error::ApiError;
