//! The harness of the black-box tests in `tests/`: a Twilio stand-in on a free port and an App
//! against it ([`Stack`]), each endpoint's handler called in-process ([`Endpoint`]), the
//! `room_events` handler behind a real listener ([`events_server`]) and child processes that stop
//! with their test ([`process`]); with the request builders and JWT reading of
//! `onair-test-support`, so that a test file needs one `use onair_integration_tests::*`.
//!
//! Every test is in the one binary `tests/it/` (a module per area), but two that need a process
//! of their own: `secret_hygiene` installs the process's log subscriber to read every line, and
//! `secrets_manager` points the AWS SDK at moto through the process environment.

pub mod events_server;
pub mod process;
mod stack;

pub use onair_test_support::jwt::{claims, header};
pub use onair_test_support::request::*;
pub use stack::*;
