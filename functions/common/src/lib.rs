//! What the OnAir functions share. Each endpoint crate is a short handler over these modules:
//! it authenticates and parses at the edge, acts through the domain, and responds at the edge.
//!
//! The modules are layered (docs/ARCHITECTURE.md, Layers). **The rule: a module imports only
//! modules of a layer below its own, or of its own layer listed before it.** Bottom to top:
//!
//! 1. Foundations, importing nothing above them:
//!    [`error`] (`ApiError`, the JSON error of an endpoint, and small helpers for its messages),
//!    [`secret`] (secret wrappers, the constant-time comparison, the IVS signing key),
//!    [`random`] (names and jitter), [`logging`] (JSON logs with the request id), [`ids`] (SIDs,
//!    identities, room names and stage ARNs; meeting ids, display names and the identities
//!    carrying them; checked once at the edge), [`aws_env`] (the AWS SDK configuration, loaded
//!    once when Secrets Manager or IVS needs it).
//! 2. Configuration: [`password`] (the host password, plain or argon2), [`attempts`]
//!    (wrong-password lock-outs), [`config`] (typed settings and secrets, parsed once at start-up;
//!    errors name the key), [`secret_store`] (secrets from the environment or Secrets Manager:
//!    TTL, refetch after 401).
//! 3. Pure protocol code: [`token`] (Twilio access tokens: minting and verifying), [`invite`]
//!    (meeting invites: signed, expiring, verified with no lookup), [`ivs_token`] (IVS
//!    participant tokens: ES384, self-signed), [`webhook`] (Twilio's webhook signature maths).
//! 4. [`twilio`]: the Twilio REST client (Video and Media) and its typed resources and statuses,
//!    retries, paging, typed errors; [`ivs`]: the IVS real-time client (`ivs` mode), typed
//!    stages and participants, one error. They know nothing of the requests made to us.
//! 5. The domain, taking what it uses (`&Twilio`, `&Ivs`, `&Settings`) and answering with its
//!    own errors (`TwilioError`, `IvsError`, `StreamError`, `StageError`, `LookupFailed`,
//!    `MeetingError`): [`stream`] (which room is live; starting and stopping a room's
//!    resources), [`stage`] (the same for IVS stages: a stream's stage, the host on air, ending
//!    a stage, the reaper's rules), [`audience`] (the remembered "what is live" answer, the
//!    shared PlaybackGrant, the listing of stages), [`meeting`] (a meeting's room: opened by the
//!    first join, once when joins race; full; its cost bounds; ended).
//! 6. The HTTP edge: [`request`] (method, size limit, content type, JSON, bearer tokens, what
//!    API Gateway says, the calling page's origin), [`response`] (JSON answers, and every lower
//!    error turned into an `ApiError`), [`auth`] (who is calling: the host, a viewer, a guest
//!    with a meeting invite, or Twilio's signed callback).
//! 7. On top: [`app`] (what a function builds once per container) and [`lambda`] (the shared
//!    `main`).

pub mod app;
pub mod attempts;
pub mod audience;
pub mod auth;
pub mod aws_env;
pub mod config;
pub mod error;
pub mod ids;
pub mod invite;
pub mod ivs;
pub mod ivs_token;
pub mod lambda;
pub mod logging;
pub mod meeting;
pub mod password;
pub mod random;
pub mod request;
pub mod response;
pub mod secret;
pub mod secret_store;
pub mod stage;
pub mod stream;
pub mod token;
pub mod twilio;
pub mod webhook;

pub use app::App;
pub use error::ApiError;
