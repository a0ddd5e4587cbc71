//! The host password's guard: wrong passwords from one address turn into `429` with
//! `Retry-After` after the configured number, while the right password still works from
//! another address; and an argon2 `HOST_PASSWORD_HASH` replaces the plain password.

use onair_integration_tests::{Endpoint, HOST_PASSWORD, Stack, from_address, post_json};
use serde_json::json;

const ATTACKER: &str = "203.0.113.66";
const HOST: &str = "198.51.100.7";

fn login(password: &str, source_ip: &str) -> lambda_http::Request {
    from_address(post_json(json!({ "password": password })), source_ip)
}

/// The production defaults: five wrong passwords, then a minute's lock-out.
async fn guarded_stack() -> Stack {
    Stack::start(&[
        ("HOST_PASSWORD_MAX_ATTEMPTS", "5"),
        ("HOST_PASSWORD_LOCKOUT_SECONDS", "60"),
    ])
    .await
}

#[tokio::test]
async fn a_burst_of_wrong_passwords_is_locked_out_while_the_host_gets_in_from_elsewhere() {
    let stack = guarded_stack().await;
    for attempt in 1..=5 {
        let (status, body) = stack
            .call(
                Endpoint::HostToken,
                login(&format!("guess {attempt}"), ATTACKER),
            )
            .await;
        assert_eq!(status, 401, "attempt {attempt}: {body}");
    }
    for guess in ["guess 6", HOST_PASSWORD] {
        let (status, headers, body) = stack
            .call_with_headers(Endpoint::HostToken, login(guess, ATTACKER))
            .await;
        assert_eq!(status, 429, "{body}");
        assert_eq!(body["error"]["code"], "rate_limited");
        let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    }
    // The password paths of stream_start and stream_stop share the guard.
    for endpoint in [Endpoint::StreamStart, Endpoint::StreamStop] {
        let (status, body) = stack.call(endpoint, login(HOST_PASSWORD, ATTACKER)).await;
        assert_eq!(status, 429, "{endpoint:?}: {body}");
    }
    assert_eq!(stack.twilio_calls(), 0, "refusals cost no Twilio call");

    let (status, body) = stack
        .call(Endpoint::HostToken, login(HOST_PASSWORD, HOST))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["token"].is_string());
    assert_eq!(stack.calls_to("POST", "/v1/Rooms"), 1);
}

#[tokio::test]
async fn the_right_password_starts_the_count_again() {
    let stack = guarded_stack().await;
    for round in 0..3 {
        for attempt in 1..=4 {
            let (status, body) = stack.call(Endpoint::HostToken, login("a typo", HOST)).await;
            assert_eq!(status, 401, "round {round}, attempt {attempt}: {body}");
        }
        let (status, body) = stack
            .call(Endpoint::HostToken, login(HOST_PASSWORD, HOST))
            .await;
        assert_eq!(status, 200, "round {round}: {body}");
    }
}

#[tokio::test]
async fn an_argon2_hash_stands_in_for_the_plain_password() {
    let phc = onair_common::password::hash(HOST_PASSWORD, b"a salt for tests!").unwrap();
    // HOST_PASSWORD is set too, to something else: the hash wins.
    let stack = Stack::start(&[
        ("HOST_PASSWORD_HASH", phc.as_str()),
        ("HOST_PASSWORD", "not the password any more"),
    ])
    .await;
    let (status, body) = stack
        .call(Endpoint::HostToken, login(HOST_PASSWORD, HOST))
        .await;
    assert_eq!(status, 200, "{body}");
    for wrong in ["not the password any more", "", phc.as_str()] {
        let (status, body) = stack.call(Endpoint::HostToken, login(wrong, HOST)).await;
        assert_eq!(status, 401, "{wrong:?}: {body}");
    }
    assert_eq!(stack.calls_to("POST", "/v1/Rooms"), 1);
}
