//! Behaviour tests of the stand-in over HTTP and through its Rust API, one module per area.
//! (One test binary rather than one per area keeps linking cheap.)

#[path = "../common/mod.rs"]
mod common;

mod auth;
mod callbacks;
mod clock;
mod control;
mod faults;
mod live;
mod paging;
mod robustness;
mod rooms;
mod subscribe_rules;
