//! The HTTP functions as Lambda binaries under `cargo lambda watch`, routed at their
//! production paths by `[workspace.metadata.lambda.watch.router]`, against the stand-in: each
//! answers a real request with the answer its handler gives.

use std::time::Duration;

use onair_integration_tests::process::{ChildGuard, free_port};
use onair_integration_tests::*;
use serde_json::{Value, json};

async fn post(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = client.post(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|err| panic!("POST {url}: {err}"));
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A client patient enough for a function that compiles on its first request (if the build did
/// not make it yet), and the host's login at `base`'s `host_token` (asserted to be a 200).
async fn log_in_as_host(base: &str) -> (reqwest::Client, Value) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()
        .unwrap();
    let (status, login) = post(
        &client,
        &format!("{base}/host_token"),
        None,
        Some(json!({ "password": HOST_PASSWORD })),
    )
    .await;
    assert_eq!(status, 200, "{login}");
    (client, login)
}

/// `cargo lambda watch` of the workspace's functions on `port`, with `settings` as their
/// environment (an env file `target/test-logs/<name>.env`) and nothing of this process's
/// cargo or AWS environment; stopped when the guard drops.
fn watch_functions(
    name: &str,
    port: u16,
    settings: std::collections::HashMap<String, String>,
) -> ChildGuard {
    let env_file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../target/test-logs/{name}.env"));
    std::fs::create_dir_all(env_file.parent().unwrap()).unwrap();
    let lines: Vec<String> = settings
        .into_iter()
        .map(|(k, v)| format!("{k}=\"{v}\""))
        .collect();
    std::fs::write(&env_file, lines.join("\n")).unwrap();
    let mut command =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .args([
            "lambda",
            "watch",
            "--disable-cors",
            "-A",
            "127.0.0.1",
            "-P",
            &port.to_string(),
        ])
        .arg("--env-file")
        .arg(&env_file);
    for (key, _) in std::env::vars() {
        if (key.starts_with("CARGO_") && key != "CARGO_HOME" && key != "CARGO_TARGET_DIR")
            || key.starts_with("AWS_")
        {
            command.env_remove(key);
        }
    }
    let mut watch = ChildGuard::spawn(name, &mut command);
    watch.wait_for_port(([127, 0, 0, 1], port).into(), Duration::from_secs(120));
    watch
}

#[tokio::test(flavor = "multi_thread")]
async fn every_function_answers_at_its_production_path() {
    let standin = twilio_standin::StandIn::start(twilio_standin::Account::for_tests())
        .await
        .unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let events_url = format!("{base}/room_events");
    let auth_token = standin.account().auth_token.clone();
    let settings = config(
        &standin,
        &[
            ("TWILIO_TIMEOUT_MS", "4000"),
            ("TWILIO_AUTH_TOKEN", &auth_token),
            ("ROOM_EVENTS_URL", &events_url),
        ],
    );
    let watch = watch_functions("lambda-watch", port, settings);

    let (client, login) = log_in_as_host(&base).await;
    let token = login["token"].as_str().unwrap();
    assert_eq!(header(token)["cty"], "twilio-fpa;v=1");
    assert_eq!(claims(token)["grants"]["video"]["room"], login["room"]);

    let (status, body) = post(&client, &format!("{base}/stream_start"), Some(token), None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("conflict")),
        "not connected yet: {body}"
    );
    standin
        .connect_participant(login["room"].as_str().unwrap(), "presenter")
        .unwrap();
    let (status, body) = post(&client, &format!("{base}/stream_start"), Some(token), None).await;
    assert_eq!(status, 200, "{body}");

    let (status, viewer) = post(&client, &format!("{base}/audience_token"), None, None).await;
    assert_eq!(
        (status, viewer["live"].as_bool()),
        (200, Some(true)),
        "{viewer}"
    );

    let (status, body) = post(
        &client,
        &format!("{base}/subscribe"),
        viewer["token"].as_str(),
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found")),
        "viewer not connected: {body}"
    );

    let (status, body) = post(&client, &format!("{base}/stream_stop"), Some(token), None).await;
    assert_eq!(
        (status, body["stopped"].as_bool()),
        (200, Some(true)),
        "{body}"
    );
    assert!(standin.rooms().iter().all(|r| r.status == "completed"));

    // room_events: only Twilio's signature opens it.
    let callback: Vec<(String, String)> = [
        ("RoomName", login["room"].as_str().unwrap()),
        ("StatusCallbackEvent", "room-ended"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let send = |signature: Option<String>| {
        let mut request = client.post(&events_url).form(&callback);
        if let Some(signature) = signature {
            request = request.header("X-Twilio-Signature", signature);
        }
        request.send()
    };
    let response = send(None).await.unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let signature = twilio_standin::signature(&auth_token, &events_url, &callback);
    let response = send(Some(signature)).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["room"], login["room"], "{body}");

    // Meetings: the host opens one, a guest joins with its invite.
    let (status, meeting) = post(
        &client,
        &format!("{base}/meeting_create"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(status, 200, "{meeting}");
    let invite = meeting["invite"].as_str().unwrap();
    let (status, joined) = post(
        &client,
        &format!("{base}/meeting_token"),
        None,
        Some(json!({ "invite": invite, "name": "Ana" })),
    )
    .await;
    assert_eq!(status, 200, "{joined}");
    assert_eq!(
        claims(joined["token"].as_str().unwrap())["grants"]["video"]["room"],
        joined["room"]
    );
    assert!(
        standin
            .rooms()
            .iter()
            .any(|r| r.unique_name == joined["room"] && r.status == "in-progress")
    );
    drop(watch);
    standin.shutdown().await;
}

/// `AUDIENCE_MODE=ivs` as deployed: the functions read the IVS settings, the private key and
/// the AWS credentials (the SDK's default chain) from their environment, and a stream runs end
/// to end on the stand-in's IVS API and WHIP endpoint.
#[tokio::test(flavor = "multi_thread")]
async fn ivs_mode_runs_from_the_environment() {
    let keys = ivs_key_pair();
    let standin = onair_test_support::app::start_ivs_standin(&keys)
        .await
        .unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    // One line per key: the PEM's line breaks written as `\n`, as an environment often holds it.
    let private_key = keys.private_pem.trim().replace('\n', "\\n");
    let mut settings = config(
        &standin,
        &[
            ("TWILIO_TIMEOUT_MS", "4000"),
            ("AWS_ACCESS_KEY_ID", twilio_standin::DEFAULT_ACCESS_KEY_ID),
            (
                "AWS_SECRET_ACCESS_KEY",
                twilio_standin::DEFAULT_SECRET_ACCESS_KEY,
            ),
            ("AWS_REGION", "us-east-1"),
        ],
    );
    settings.extend(onair_test_support::app::ivs_source(&standin, &private_key));
    let watch = watch_functions("lambda-watch-ivs", port, settings);
    let (client, login) = log_in_as_host(&base).await;
    assert_eq!(login["mode"], "ivs");
    let token = login["token"].as_str().unwrap();
    assert_eq!(header(token)["alg"], "ES384");
    let publisher = onair_test_support::relay_peer::Peer::publish(
        &client,
        login["media"]["publish_url"].as_str().unwrap(),
        token,
        onair_test_support::relay_peer::Load {
            webcam: false,
            ..Default::default()
        },
    )
    .await
    .expect("the stage takes the host's publish");
    let (status, body) = post(&client, &format!("{base}/stream_start"), Some(token), None).await;
    assert_eq!(status, 200, "{body}");
    let (status, viewer) = post(&client, &format!("{base}/audience_token"), None, None).await;
    assert_eq!(status, 200, "{viewer}");
    assert_eq!(viewer["mode"], "ivs");
    let (status, body) = post(&client, &format!("{base}/stream_stop"), Some(token), None).await;
    assert_eq!(
        (status, body["stopped"].as_bool()),
        (200, Some(true)),
        "{body}"
    );
    let operations: Vec<String> = standin
        .ivs_calls()
        .into_iter()
        .map(|c| c.operation)
        .collect();
    assert!(
        operations.contains(&"CreateStage".to_owned()),
        "{operations:?}"
    );
    assert!(
        operations.contains(&"DeleteStage".to_owned()),
        "{operations:?}"
    );
    assert!(
        standin.ivs_calls().iter().all(|c| c.status < 300),
        "SigV4 from the default chain was accepted: {operations:?}"
    );
    publisher.close().await;
    drop(watch);
    standin.shutdown().await;
}
