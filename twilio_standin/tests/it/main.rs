//! The stand-in's tests, one module per area, in one test binary so that the stand-in is linked
//! once: the REST side (`api`), the contract with Twilio's OpenAPI specs (`contract`), the media
//! relay with real WebRTC peers (`relay`), the IVS real-time API and its WHIP endpoint driven by
//! the AWS SDK (`ivs`) and the `twilio-standin` binary itself (`binary`).
//! `common` is what they share.

mod api;
mod binary;
mod common;
mod contract;
mod ivs;
mod relay;
