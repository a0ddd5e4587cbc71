//! The `/__standin/` control API: the same steering and inspection as the Rust API, over HTTP
//! without credentials.

use serde_json::{Value, json};

use crate::common::{self, Api, s};

async fn control(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = http.request(method, url);
    if let Some(b) = body {
        request = request.json(&b);
    }
    let response = request.send().await.expect("answer");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_control_api_steers_and_shows_the_stand_in() {
    use reqwest::Method;
    let standin = common::start().await;
    let api = Api::new(&standin);
    let http = reqwest::Client::new();
    let c = format!("{}/__standin", standin.base_url());
    let room = api
        .post(
            "/v1/Rooms",
            &[("UniqueName", "livestream-ctl"), ("EmptyRoomTimeout", "1")],
        )
        .await
        .body;

    let (status, joined) = control(
        &http,
        Method::POST,
        &format!("{c}/rooms/livestream-ctl/participants"),
        Some(json!({"identity": "host"})),
    )
    .await;
    assert_eq!(status, 201);
    let host = s(&joined, "sid").to_owned();
    assert_eq!(standin.participants("livestream-ctl")[0].sid, host);
    let (status, _) = control(
        &http,
        Method::POST,
        &format!("{c}/rooms/nowhere/participants"),
        Some(json!({"identity": "x"})),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = control(
        &http,
        Method::POST,
        &format!("{c}/rooms/livestream-ctl/participants"),
        Some(json!({"name": "x"})),
    )
    .await;
    assert_eq!(status, 400);

    let rules = api
        .post(
            &format!("/v1/Rooms/livestream-ctl/Participants/{host}/SubscribeRules"),
            &[("Rules", r#"[{"type":"include","all":true}]"#)],
        )
        .await;
    assert_eq!(rules.status, 200);
    let (status, state) = control(&http, Method::GET, &format!("{c}/state"), None).await;
    assert_eq!(status, 200);
    assert_eq!(state["rooms"][0]["sid"], room["sid"]);
    assert_eq!(state["rooms"][0]["participants"][0]["identity"], "host");
    assert_eq!(
        state["rooms"][0]["participants"][0]["subscribe_rules"][0]["all"],
        true
    );
    assert!(state["player_streamers"].is_array() && state["media_processors"].is_array());
    assert!(state["now"].is_string());

    // Faults: a status, then a delay; bad fault bodies are refused.
    let (status, _) = control(
        &http,
        Method::POST,
        &format!("{c}/faults"),
        Some(json!({"path_contains": "/v1/Rooms", "status": 429, "nth": 1, "times": 2})),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(api.get("/v1/Rooms").await.code(), Some(20429));
    assert_eq!(api.get("/v1/Rooms").await.status, 429);
    assert_eq!(api.get("/v1/Rooms").await.status, 200);
    let (status, _) = control(
        &http,
        Method::POST,
        &format!("{c}/faults"),
        Some(json!({"method": "GET", "path_contains": "/v1/Rooms", "delay_ms": 300})),
    )
    .await;
    assert_eq!(status, 201);
    let t = std::time::Instant::now();
    assert_eq!(api.get("/v1/Rooms").await.status, 200);
    assert!(t.elapsed() >= std::time::Duration::from_millis(300));
    let (status, _) = control(
        &http,
        Method::POST,
        &format!("{c}/faults"),
        Some(json!({"path_contains": "/v1/Rooms", "status": 500})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = control(&http, Method::DELETE, &format!("{c}/faults"), None).await;
    assert_eq!(status, 204);
    assert_eq!(api.get("/v1/Rooms").await.status, 200, "cleared");
    for bad in [
        json!({"path_contains": "/v1", "status": 500, "delay_ms": 10}),
        json!({"path_contains": "/v1"}),
        json!({"path_contains": "/v1", "status": 200}),
        json!({"path_contains": "/v1", "status": 500, "nth": 0}),
        json!({"path_contains": "/v1", "status": 500, "colour": "red"}),
    ] {
        let (status, body) = control(
            &http,
            Method::POST,
            &format!("{c}/faults"),
            Some(bad.clone()),
        )
        .await;
        assert_eq!(status, 400, "{bad}");
        assert!(body["error"].is_string());
    }

    // Calls: listed with their params, cleared on DELETE; control calls never appear.
    let (status, calls) = control(&http, Method::GET, &format!("{c}/calls"), None).await;
    assert_eq!(status, 200);
    let calls = calls.as_array().cloned().unwrap_or_default();
    assert_eq!(calls.len(), 7);
    assert_eq!(calls[0]["method"], "POST");
    assert_eq!(
        calls[0]["params"][0],
        json!(["UniqueName", "livestream-ctl"])
    );
    assert_eq!(calls[2]["status"], 429);
    let (status, _) = control(&http, Method::DELETE, &format!("{c}/calls"), None).await;
    assert_eq!(status, 204);
    assert!(standin.calls().is_empty());

    // Leaving, then the clock: the empty room completes after its timeout.
    let (status, _) = control(
        &http,
        Method::DELETE,
        &format!("{c}/rooms/livestream-ctl/participants/host"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = control(
        &http,
        Method::DELETE,
        &format!("{c}/rooms/livestream-ctl/participants/host"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, now) = control(
        &http,
        Method::POST,
        &format!("{c}/clock"),
        Some(json!({"advance_secs": 61})),
    )
    .await;
    assert_eq!(status, 200);
    assert!(now["now"].is_string());
    assert_eq!(standin.rooms()[0].status, "completed");
    let (status, _) = control(
        &http,
        Method::POST,
        &format!("{c}/clock"),
        Some(json!({"advance_secs": -5})),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = control(
        &http,
        Method::POST,
        &format!("{c}/rooms/livestream-ctl/participants"),
        Some(json!({"identity": "late"})),
    )
    .await;
    assert_eq!(status, 409, "a completed room takes nobody");
    let (status, _) = control(&http, Method::GET, &format!("{c}/nothing-here"), None).await;
    assert_eq!(status, 404);
    assert!(
        standin.calls().is_empty(),
        "control calls are not REST calls"
    );
    standin.shutdown().await;
}
