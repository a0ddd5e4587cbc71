//! How the IVS API is set up: the binary's `--ivs-public-key-file` and `--ivs-whip-base` (and
//! the AWS key pair from the environment), the control route of the call log, and
//! `StandIn::reset`, which keeps the key imported at start.
#![cfg(unix)]

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Stdio;

use aws_sdk_ivsrealtime::error::ProvideErrorMetadata;
use onair_test_support::ivs_contract::Model;
use serde_json::Value;
use twilio_standin::{
    Account, DEFAULT_ACCESS_KEY_ID, IvsSettings, MediaSettings, STARTUP_KEY_ARN, StandIn,
};

use super::{client, client_at, client_with, keys, p384};
use crate::binary::{listening, refused_with_status_2};

/// A file holding the test's public key, removed when dropped.
struct PemFile(std::path::PathBuf);

impl PemFile {
    fn new(name: &str, text: &str) -> PemFile {
        let path =
            std::env::temp_dir().join(format!("onair-ivs-{}-{name}.pem", std::process::id()));
        std::fs::write(&path, text).expect("a temporary file");
        PemFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("a UTF-8 path")
    }
}

impl Drop for PemFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[tokio::test]
async fn the_binary_imports_a_key_at_start_and_names_the_whip_base() {
    let pem = PemFile::new("binary", &keys().public_pem);
    let (_running, base) = listening(
        &[
            "--port",
            "0",
            "--ivs-public-key-file",
            pem.path(),
            "--ivs-whip-base",
            "http://127.0.0.1:3000/media/",
        ],
        |command| {
            command
                .env("STANDIN_AWS_SECRET_ACCESS_KEY", "another-secret")
                .stderr(Stdio::null());
        },
    );
    let ivs = client_at(&base, DEFAULT_ACCESS_KEY_ID, "another-secret");
    let key = ivs
        .get_public_key()
        .arn(STARTUP_KEY_ARN)
        .send()
        .await
        .expect("the key imported at start");
    assert_eq!(
        key.public_key().and_then(|k| k.public_key_material()),
        Some(keys().public_pem.as_str())
    );
    let stage = ivs.create_stage().send().await.expect("CreateStage");
    let stage = stage.stage().expect("a stage");
    let id = stage.arn().rsplit('/').next().unwrap_or_default();
    assert_eq!(
        stage.endpoints().and_then(|e| e.whip()),
        Some(format!("http://127.0.0.1:3000/media/ivs/whip/{id}").as_str())
    );

    let http = reqwest::Client::new();
    let calls: Value = http
        .get(format!("{base}/__standin/ivs/calls"))
        .send()
        .await
        .expect("the control API answers")
        .json()
        .await
        .expect("a JSON call log");
    let list = calls.as_array().expect("a list");
    assert_eq!(list.len(), 2);
    assert_eq!(list[1]["operation"], "CreateStage");
    assert_eq!(list[1]["request"], serde_json::json!({}));
    assert_eq!(list[1]["status"], 200);
    assert_eq!(list[1]["response"]["stage"]["arn"], stage.arn());
    assert_eq!(list[1]["error_type"], Value::Null);
    Model::from_repo()
        .check_calls(&calls)
        .unwrap_or_else(|e| panic!("{e}"));
    let joined = http
        .post(format!("{base}/__standin/ivs/participants"))
        .json(&serde_json::json!({ "stage_arn": stage.arn(), "user_id": "host" }))
        .send()
        .await
        .expect("the control API answers");
    assert_eq!(joined.status().as_u16(), 201);
    let joined: Value = joined.json().await.expect("a JSON answer");
    let participant = joined["participant_id"].as_str().expect("a participant id");
    let state: Value = http
        .get(format!("{base}/__standin/ivs/state"))
        .send()
        .await
        .expect("the control API answers")
        .json()
        .await
        .expect("a JSON state");
    assert_eq!(state["stages"][0]["arn"], stage.arn());
    assert!(
        state["stages"][0]["active_session_id"].is_string(),
        "{state}"
    );
    assert_eq!(
        state["stages"][0]["participants"][0]["participant_id"],
        participant
    );
    assert_eq!(state["stages"][0]["participants"][0]["connected"], true);
    let cleared = http
        .delete(format!("{base}/__standin/ivs/calls"))
        .send()
        .await
        .expect("the control API answers");
    assert_eq!(cleared.status().as_u16(), 204);

    // Unreadable or wrong key files stop the binary with status 2.
    let p256 = PemFile::new("p256", &super::key_pair("prime256v1").public_pem);
    for bad in ["/nonexistent/key.pem", p256.path()] {
        refused_with_status_2(&["--port", "0", "--ivs-public-key-file", bad]);
    }
}

#[tokio::test]
async fn reset_forgets_stages_and_keys_but_the_one_imported_at_start() {
    let settings = IvsSettings {
        public_key_pem: Some(keys().public_pem.clone()),
        ..IvsSettings::default()
    };
    let standin = StandIn::start_with_ivs(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        Account::for_tests(),
        MediaSettings::default(),
        settings,
    )
    .await
    .expect("the stand-in starts");
    let ivs = client(&standin);
    ivs.create_stage().send().await.expect("CreateStage");
    let other = p384();
    let imported = ivs
        .import_public_key()
        .public_key_material(&other.public_pem)
        .send()
        .await
        .expect("ImportPublicKey");
    let imported_arn = imported.public_key().and_then(|k| k.arn()).expect("an ARN");

    standin.reset();
    assert!(standin.ivs_calls().is_empty());
    assert!(
        ivs.list_stages()
            .send()
            .await
            .expect("ListStages")
            .stages()
            .is_empty()
    );
    ivs.get_public_key()
        .arn(STARTUP_KEY_ARN)
        .send()
        .await
        .expect("the key imported at start stays");
    let gone = ivs
        .get_public_key()
        .arn(imported_arn)
        .send()
        .await
        .expect_err("an imported key is forgotten");
    assert_eq!(gone.code(), Some("ResourceNotFoundException"));
    // The stand-in's default key pair still signs.
    let wrong = client_with(&standin, "AKIDOTHER00000000000", "x")
        .list_stages()
        .send()
        .await
        .expect_err("another key id");
    assert_eq!(wrong.code(), Some("AccessDeniedException"));
}
