//! Refused callers and bad input: every case gets a 4xx JSON error with the right code, and
//! none costs a Twilio call. Forged and misused tokens are in `forgery.rs`.

use lambda_http::Body;
use onair_integration_tests::*;
use serde_json::json;

#[tokio::test]
async fn wrong_or_missing_credentials_are_401_and_cost_nothing() {
    let stack = Stack::room().await;
    stack.host_connected().await;
    let secret = stack.standin.account().api_key_secret.clone();
    // A live-mode grant offered to the room-mode `subscribe`.
    let playback_on_subscribe = signed_token(
        &stack,
        json!({ "identity": "viewer-x", "player": {"a": 1} }),
        600,
        &secret,
    );
    stack.standin.clear_calls();

    let cases: Vec<(Endpoint, lambda_http::Request)> = vec![
        (
            Endpoint::HostToken,
            post_json(json!({ "password": "wrong" })),
        ),
        (Endpoint::HostToken, post_json(json!({ "password": "" }))),
        (
            Endpoint::HostToken,
            post_json(json!({ "password": format!("{HOST_PASSWORD}x") })),
        ),
        (Endpoint::StreamStart, post_empty()),
        (Endpoint::StreamStart, bearer("not.a.token")),
        (
            Endpoint::StreamStart,
            post_json(json!({ "password": "wrong" })),
        ),
        (Endpoint::StreamStop, with_bearer(post_empty(), "")),
        (Endpoint::Subscribe, post_empty()),
        (Endpoint::Subscribe, bearer(&playback_on_subscribe)),
    ];
    for (i, (endpoint, req)) in cases.into_iter().enumerate() {
        let (status, body) = stack.call(endpoint, req).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("unauthorized")),
            "case {i} {endpoint:?}: {body}"
        );
        assert!(!body.to_string().contains(&secret) && !body.to_string().contains(HOST_PASSWORD));
    }
    assert_eq!(stack.twilio_calls(), 0, "{:?}", stack.standin.calls());
    assert_eq!(stack.active_rooms(), 1);
}

#[tokio::test]
async fn bad_input_is_a_4xx_json_error_and_costs_nothing() {
    let stack = Stack::room().await;
    let login = stack.host_connected().await;
    let host = login["token"].as_str().unwrap().to_owned();
    stack.standin.clear_calls();
    let oversized = json!({ "password": "x".repeat(17 * 1024) }).to_string();

    let mut cases: Vec<(Endpoint, lambda_http::Request, u16, &str)> = vec![
        (
            Endpoint::HostToken,
            request(
                "POST",
                Some("application/json"),
                Body::Text("{not json".into()),
            ),
            400,
            "bad_request",
        ),
        (
            Endpoint::HostToken,
            post_json(json!({ "password": 42 })),
            400,
            "bad_request",
        ),
        (
            Endpoint::HostToken,
            post_json(json!({ "pass": HOST_PASSWORD })),
            400,
            "bad_request",
        ),
        (
            Endpoint::HostToken,
            post_json(json!([HOST_PASSWORD])),
            400,
            "bad_request",
        ),
        (Endpoint::HostToken, post_empty(), 400, "bad_request"),
        (
            Endpoint::HostToken,
            request(
                "POST",
                Some("application/json"),
                Body::Text(oversized.clone()),
            ),
            413,
            "too_large",
        ),
        (
            Endpoint::HostToken,
            request(
                "POST",
                Some("application/x-www-form-urlencoded"),
                Body::Text(format!("password={HOST_PASSWORD}")),
            ),
            415,
            "unsupported_media_type",
        ),
        (
            Endpoint::HostToken,
            request(
                "POST",
                None,
                Body::Text(json!({ "password": HOST_PASSWORD }).to_string()),
            ),
            415,
            "unsupported_media_type",
        ),
        (
            Endpoint::HostToken,
            request("POST", Some("text/plain"), Body::Text(HOST_PASSWORD.into())),
            415,
            "unsupported_media_type",
        ),
        (
            Endpoint::StreamStart,
            request(
                "POST",
                Some("application/json"),
                Body::Text("{\"password\":".into()),
            ),
            400,
            "bad_request",
        ),
        (
            Endpoint::StreamStart,
            post_json(json!({ "password": HOST_PASSWORD, "room": "someone-elses-room" })),
            400,
            "bad_request",
        ),
        (
            Endpoint::StreamStart,
            post_json(json!({ "password": HOST_PASSWORD, "room": 7 })),
            400,
            "bad_request",
        ),
        (
            Endpoint::StreamStop,
            request(
                "POST",
                Some("text/plain"),
                Body::Binary(vec![0xff, 0xfe, 0x00]),
            ),
            400,
            "bad_request",
        ),
        (
            Endpoint::StreamStop,
            request(
                "POST",
                Some("application/json"),
                Body::Text(oversized.clone()),
            ),
            413,
            "too_large",
        ),
        (
            Endpoint::AudienceToken,
            request(
                "POST",
                Some("application/json"),
                Body::Text(oversized.clone()),
            ),
            413,
            "too_large",
        ),
        (
            Endpoint::AudienceToken,
            request("POST", Some("image/png"), Body::Binary(vec![1, 2, 3])),
            415,
            "unsupported_media_type",
        ),
        (
            Endpoint::Subscribe,
            with_bearer(
                request("POST", Some("application/json"), Body::Text(oversized)),
                &host,
            ),
            413,
            "too_large",
        ),
        (
            Endpoint::Subscribe,
            request("POST", None, Body::Empty).tap_header("authorization", "Basic abc"),
            401,
            "unauthorized",
        ),
    ];
    for endpoint in ENDPOINTS {
        cases.push((
            endpoint,
            request("GET", None, Body::Empty),
            405,
            "method_not_allowed",
        ));
        cases.push((
            endpoint,
            request("PUT", Some("application/json"), Body::Text("{}".into())),
            405,
            "method_not_allowed",
        ));
    }
    for (i, (endpoint, req, want_status, want_code)) in cases.into_iter().enumerate() {
        let (status, body) = stack.call(endpoint, req).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (want_status, Some(want_code)),
            "case {i} {endpoint:?}: {body}"
        );
        assert!(
            !body.to_string().contains(HOST_PASSWORD),
            "the password is never echoed"
        );
    }
    assert_eq!(stack.twilio_calls(), 0, "{:?}", stack.standin.calls());
}

#[tokio::test]
async fn an_unknown_room_is_a_conflict_not_a_crash() {
    let stack = Stack::room().await;
    let (status, body) = stack
        .call(
            Endpoint::StreamStart,
            post_json(json!({ "password": HOST_PASSWORD, "room": "livestream-doesnotexist" })),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("conflict")),
        "{body}"
    );
    let (status, body) = stack
        .call(
            Endpoint::StreamStop,
            post_json(json!({ "password": HOST_PASSWORD, "room": "livestream-doesnotexist" })),
        )
        .await;
    assert_eq!(
        (status, body["stopped"].as_bool()),
        (200, Some(false)),
        "{body}"
    );
}

trait TapHeader {
    fn tap_header(self, name: &'static str, value: &str) -> Self;
}

impl TapHeader for lambda_http::Request {
    fn tap_header(mut self, name: &'static str, value: &str) -> Self {
        self.headers_mut().insert(name, value.parse().unwrap());
        self
    }
}
