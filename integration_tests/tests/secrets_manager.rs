//! The Secrets Manager path against moto: secrets fetched at start, a malformed secret failing
//! the start with the key named, and a rotated API key picked up after Twilio answers 401.

use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use onair_integration_tests::process::{ChildGuard, free_port};
use onair_integration_tests::*;
use serde_json::json;

fn secret_json(account: &twilio_standin::Account, key_secret: &str) -> String {
    json!({
        "TWILIO_ACCOUNT_SID": account.account_sid,
        "TWILIO_API_KEY_SID": account.api_key_sid,
        "TWILIO_API_KEY_SECRET": key_secret,
        "HOST_PASSWORD": HOST_PASSWORD,
    })
    .to_string()
}

/// One test in this binary, because the AWS SDK reads its endpoint and credentials from the
/// process environment.
#[tokio::test(flavor = "multi_thread")]
async fn secrets_come_from_secrets_manager_and_rotation_is_picked_up() {
    let port = free_port();
    let moto_bin = std::env::var("MOTO_SERVER").unwrap_or_else(|_| "moto_server".into());
    let mut moto = ChildGuard::spawn(
        "moto",
        std::process::Command::new(moto_bin).args(["-H", "127.0.0.1", "-p", &port.to_string()]),
    );
    moto.wait_for_port(([127, 0, 0, 1], port).into(), Duration::from_secs(60));
    // SAFETY: set before any other thread of this test binary reads the environment.
    unsafe {
        std::env::set_var("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"));
        std::env::set_var("AWS_REGION", "eu-west-1");
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    }
    let aws = aws_config::load_from_env().await;
    let client = Client::new(&aws);

    let standin = twilio_standin::StandIn::start(twilio_standin::Account::for_tests())
        .await
        .unwrap();
    let account = standin.account().clone();
    let mut settings = config(&standin, &[("SECRET_ID", "onair/test")]);
    for key in [
        "TWILIO_ACCOUNT_SID",
        "TWILIO_API_KEY_SID",
        "TWILIO_API_KEY_SECRET",
        "HOST_PASSWORD",
    ] {
        settings.remove(key);
    }

    // No such secret: the start fails.
    assert!(onair_common::App::from_source(&settings).await.is_err());

    // A secret without the host password: the start fails naming the key, not a value.
    let mut incomplete: serde_json::Value =
        serde_json::from_str(&secret_json(&account, &account.api_key_secret)).unwrap();
    incomplete.as_object_mut().unwrap().remove("HOST_PASSWORD");
    client
        .create_secret()
        .name("onair/test")
        .secret_string(incomplete.to_string())
        .send()
        .await
        .unwrap();
    let err = onair_common::App::from_source(&settings)
        .await
        .err()
        .expect("start fails")
        .to_string();
    assert!(
        err.contains("HOST_PASSWORD") && !err.contains(&account.api_key_secret),
        "{err}"
    );

    // A secret holding a key Twilio no longer accepts: the app starts (the secret parses).
    client
        .put_secret_value()
        .secret_id("onair/test")
        .secret_string(secret_json(&account, "an-old-rotated-secret"))
        .send()
        .await
        .unwrap();
    let app = onair_common::App::from_source(&settings)
        .await
        .expect("starts from Secrets Manager");
    assert!(matches!(
        &*app.secrets,
        onair_common::secret_store::SecretStore::Manager(_)
    ));

    // The key is rotated in Secrets Manager; the next Twilio call gets 401, the function
    // fetches the secret again and succeeds on the second try.
    client
        .put_secret_value()
        .secret_id("onair/test")
        .secret_string(secret_json(&account, &account.api_key_secret))
        .send()
        .await
        .unwrap();
    let response = host_token::handle(&app, post_json(json!({ "password": HOST_PASSWORD }))).await;
    assert_eq!(response.status(), 200, "{:?}", response.body());
    let statuses: Vec<u16> = standin.calls().iter().map(|c| c.status).collect();
    assert_eq!(
        statuses,
        vec![401, 201],
        "one refused call, then the room was created"
    );
    standin.shutdown().await;
}
