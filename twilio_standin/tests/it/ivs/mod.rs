//! The IVS real-time API of the stand-in, driven by the real client (`aws-sdk-ivsrealtime`)
//! and checked against the model (`onair_test_support::ivs_contract`): the operations
//! (`api`), SigV4 (`auth`), faults (`faults`), the model validator itself (`contract`), the
//! binary's options and the call log's control route (`startup`), and the stages' WHIP endpoint
//! with real WebRTC publishers (`whip`). `keys` and the helpers here are
//! what they share.

mod api;
mod auth;
mod contract;
mod faults;
mod startup;
mod whip;

use std::sync::OnceLock;

use aws_sdk_ivsrealtime::Client;
use aws_sdk_ivsrealtime::config::retry::RetryConfig;
use aws_sdk_ivsrealtime::config::{BehaviorVersion, Credentials, Region};
use onair_test_support::ivs_contract;
use twilio_standin::{DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, StandIn};

/// A P-384 key pair made for this test run with openssl (never stored in the repository):
/// the private key as PKCS#8 PEM, the public key as PEM.
pub use onair_test_support::ivs_keys::{KeyPair, key_pair, p384};

/// One P-384 key pair for the whole test binary.
pub fn keys() -> &'static KeyPair {
    static KEYS: OnceLock<KeyPair> = OnceLock::new();
    KEYS.get_or_init(p384)
}

/// The SDK client against `standin`, with the stand-in's default key pair and no retries.
pub fn client(standin: &StandIn) -> Client {
    client_with(standin, DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY)
}

pub fn client_with(standin: &StandIn, access_key_id: &str, secret: &str) -> Client {
    client_at(&standin.base_url(), access_key_id, secret)
}

/// The SDK client against the stand-in at `base_url`, with this key pair and no retries.
pub fn client_at(base_url: &str, access_key_id: &str, secret: &str) -> Client {
    let config = aws_sdk_ivsrealtime::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(format!("{base_url}/ivs"))
        .credentials_provider(Credentials::new(access_key_id, secret, None, None, "test"))
        .retry_config(RetryConfig::disabled())
        .build();
    Client::from_conf(config)
}

/// A stage made with no name: its ARN.
pub async fn new_stage(ivs: &Client) -> String {
    ivs.create_stage()
        .send()
        .await
        .expect("CreateStage")
        .stage()
        .expect("a stage")
        .arn()
        .to_owned()
}

/// Every IVS call the stand-in logged fits the model.
pub fn assert_calls_fit_the_model(standin: &StandIn) {
    let calls = serde_json::to_value(standin.ivs_calls()).expect("calls as JSON");
    assert!(
        calls.as_array().is_some_and(|c| !c.is_empty()),
        "the stand-in logged IVS calls"
    );
    if let Err(report) = ivs_contract::check_calls(&calls) {
        panic!("IVS calls that do not fit the model:\n{report}\ncalls: {calls:#}");
    }
}
