//! The black-box tests of the functions, one module per area, in one test binary so that the
//! workspace is linked once rather than once per area. The harness is this crate's library.
//! Two tests need a process of their own and are binaries beside this one: `secret_hygiene`
//! (it installs the process's log subscriber) and `secrets_manager` (it sets the AWS SDK's
//! environment).

// The bad-input table is one large async test; its future's layout needs more than the default 128.
#![recursion_limit = "256"]

mod bad_input;
mod fault_campaign;
mod forgery;
mod fuzz_handlers;
mod host_password;
mod ivs_mode;
mod lambda_watch;
mod live_mode;
mod meetings;
mod paging;
mod reaper;
mod room_events;
mod room_mode;
mod streams;
mod twilio_faults;
