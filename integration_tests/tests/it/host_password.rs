//! The host password's guard: wrong passwords from one address turn into `429` with
//! `Retry-After` after the configured number, while the right password still works from
//! another address; and an argon2 `HOST_PASSWORD_HASH` replaces the plain password. The
//! studio's sign-in (`host_session`) is behind the same guard, and its session opens studio
//! rooms in place of the password, but nothing else.

use onair_integration_tests::{
    Endpoint, HOST_PASSWORD, Stack, bearer, claims, from_address, post_json, signed_token,
    with_bearer,
};
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
    // The sign-in and the password paths of stream_start and stream_stop share the guard.
    for endpoint in [
        Endpoint::HostSession,
        Endpoint::StreamStart,
        Endpoint::StreamStop,
    ] {
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

#[tokio::test]
async fn a_host_session_signs_in_once_and_opens_studios_but_nothing_else() {
    let stack = guarded_stack().await;
    let (status, signed_in) = stack
        .call(Endpoint::HostSession, login(HOST_PASSWORD, HOST))
        .await;
    assert_eq!(status, 200, "{signed_in}");
    assert_eq!(signed_in["identity"], "presenter");
    let session = signed_in["session"].as_str().unwrap();
    let claims = claims(session);
    assert_eq!(
        claims["grants"],
        json!({ "identity": "presenter", "onair_host_session": true })
    );
    assert_eq!(claims["exp"], signed_in["expires_at"]);
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["nbf"].as_u64().unwrap(),
        12 * 3600
    );
    assert_eq!(stack.twilio_calls(), 0, "signing in costs no Twilio call");

    // The session opens a studio room, any number of times, for any stream.
    for stream in ["main", "talk"] {
        let req = with_bearer(post_json(json!({ "stream": stream })), session);
        let (status, studio) = stack.call(Endpoint::HostToken, req).await;
        assert_eq!(
            (status, &studio["stream"]),
            (200, &json!(stream)),
            "{studio}"
        );
    }

    // It is not a room token, nor a viewer's: start, stop and subscribe refuse it.
    stack.standin.clear_calls();
    for endpoint in [
        Endpoint::StreamStart,
        Endpoint::StreamStop,
        Endpoint::Subscribe,
    ] {
        let (status, body) = stack.call(endpoint, bearer(session)).await;
        assert_eq!(status, 401, "{endpoint:?}: {body}");
    }
    // A room token, an expired session and a session for someone else open no studio.
    let key = stack.standin.account().api_key_secret.clone();
    let studio_key = |grants| signed_token(&stack, grants, 600, &key);
    for refused in [
        studio_key(
            json!({ "identity": "presenter", "video": { "room": "livestream-main-0123456789" } }),
        ),
        signed_token(
            &stack,
            json!({ "identity": "presenter", "onair_host_session": true }),
            -1,
            &key,
        ),
        studio_key(json!({ "identity": "viewer-1", "onair_host_session": true })),
        studio_key(
            json!({ "identity": "presenter", "onair_host_session": true, "video": { "room": "livestream-main-0123456789" } }),
        ),
    ] {
        let req = with_bearer(post_json(json!({ "stream": "main" })), &refused);
        let (status, body) = stack.call(Endpoint::HostToken, req).await;
        assert_eq!(status, 401, "{body}");
    }
    assert_eq!(stack.twilio_calls(), 0, "refusals cost no Twilio call");
}

#[tokio::test]
async fn wrong_passwords_at_the_sign_in_lock_the_address_out_with_a_countdown() {
    let stack = guarded_stack().await;
    for attempt in 1..=5 {
        let (status, body) = stack
            .call(
                Endpoint::HostSession,
                login(&format!("guess {attempt}"), ATTACKER),
            )
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("unauthorized")),
            "attempt {attempt}: {body}"
        );
    }
    let (status, headers, body) = stack
        .call_with_headers(Endpoint::HostSession, login(HOST_PASSWORD, ATTACKER))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("rate_limited"))
    );
    let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(
        (59..=60).contains(&retry_after),
        "Retry-After {retry_after}"
    );
    // The lock-out covers opening the studio with the password too; the host elsewhere is fine.
    let (status, _) = stack
        .call(Endpoint::HostToken, login(HOST_PASSWORD, ATTACKER))
        .await;
    assert_eq!(status, 429);
    let (status, _) = stack
        .call(Endpoint::HostSession, login(HOST_PASSWORD, HOST))
        .await;
    assert_eq!(status, 200);
}
