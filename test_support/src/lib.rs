//! What the tests, the benchmarks and the relay's load harness share, so none of them includes
//! another crate's files by path or keeps its own copy:
//!
//! - [`jwt`]: a token's header and claims as JSON, [`rng`]: a seeded PRNG, and [`ivs_keys`]:
//!   throwaway P-384 key pairs from the openssl CLI (always there);
//! - `app` and `request` (feature `app`): an `App` configured against the Twilio stand-in as a
//!   deployed function is (in `ivs` mode too, the stand-in started with its IVS API), and
//!   requests as API Gateway hands them to a handler, with the answer read back; used by
//!   `integration_tests` and `bench/rust`;
//! - `fuzz` (feature `fuzz`): the runner, corpus and generators of the property-based fuzz
//!   targets of `functions/common/tests` and `integration_tests`;
//! - `relay_peer` (feature `relay-peer`): a WebRTC peer for the stand-in's relay, used by its
//!   tests and by `twilio_standin/examples/relay_load.rs`;
//! - `ivs_contract` (feature `ivs-contract`): the IVS real-time API model
//!   (`specs/aws/`) as a validator of request and response bodies, run over the stand-in's
//!   IVS call log by its tests and the integration tests.

#[cfg(feature = "app")]
pub mod app;
#[cfg(feature = "fuzz")]
pub mod fuzz;
#[cfg(feature = "ivs-contract")]
pub mod ivs_contract;
pub mod ivs_keys;
pub mod jwt;
#[cfg(feature = "relay-peer")]
pub mod relay_peer;
#[cfg(feature = "app")]
pub mod request;
pub mod rng;
