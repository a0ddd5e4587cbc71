//! Behaviour tests of the stand-in's REST side over HTTP and through its Rust API, one module
//! per area.

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
