//! Fault injection (nth/times windows, method and path matching, 429/5xx bodies, delays) on the
//! REST and the `/media` routes, and the call log that tests count Twilio calls with.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use twilio_standin::{AccessToken, Fault, FaultAction};

use crate::common::{self, Api};

#[tokio::test]
async fn a_status_fault_applies_to_calls_nth_through_nth_plus_times_minus_one() {
    let standin = common::start().await;
    let api = Api::new(&standin);
    standin.inject(Fault {
        method: Some("POST".to_owned()),
        path_contains: "/v1/Rooms".to_owned(),
        nth: 2,
        times: 2,
        action: FaultAction::Status(500),
    });
    let mut statuses = Vec::new();
    for i in 0..4 {
        let reply = api
            .post("/v1/Rooms", &[("UniqueName", &format!("room-{i}"))])
            .await;
        if reply.status == 500 {
            assert_eq!(reply.code(), Some(20500));
            assert_eq!(reply.body["status"], 500);
            assert!(reply.str("message").contains("injected"));
        }
        statuses.push(reply.status);
    }
    assert_eq!(statuses, [201, 500, 500, 201]);
    let names: Vec<String> = standin.rooms().into_iter().map(|r| r.unique_name).collect();
    assert_eq!(names, ["room-0", "room-3"], "a faulted call does nothing");
    let logged: Vec<u16> = standin.calls().iter().map(|c| c.status).collect();
    assert_eq!(logged, [201, 500, 500, 201], "faulted calls are logged");
    standin.shutdown().await;
}

#[tokio::test]
async fn faults_match_on_method_and_path_and_count_only_matching_calls() {
    let standin = common::start().await;
    let api = Api::new(&standin);
    standin.inject(Fault::once(
        None,
        "/v1/MediaProcessors",
        FaultAction::Status(429),
    ));
    standin.inject(Fault::once(
        Some("get"),
        "/v1/PlayerStreamers",
        FaultAction::Status(503),
    ));

    assert_eq!(api.get("/v1/Rooms").await.status, 200);
    assert_eq!(
        api.post("/v1/PlayerStreamers", &[]).await.status,
        201,
        "POST is not GET"
    );
    let limited = api.get("/v1/MediaProcessors").await;
    assert_eq!((limited.status, limited.code()), (429, Some(20429)));
    assert_eq!(
        limited.body["more_info"],
        "https://www.twilio.com/docs/errors/20429"
    );
    assert_eq!(
        api.get("/v1/MediaProcessors").await.status,
        200,
        "once means once"
    );
    let unavailable = api.get("/v1/PlayerStreamers").await;
    assert_eq!((unavailable.status, unavailable.code()), (503, Some(20500)));
    assert_eq!(api.get("/v1/PlayerStreamers").await.status, 200);

    // A fault counts from when it is added, and clear_faults removes pending ones.
    standin.inject(Fault {
        method: None,
        path_contains: "/v1/Rooms".to_owned(),
        nth: 1,
        times: 100,
        action: FaultAction::Status(500),
    });
    assert_eq!(api.get("/v1/Rooms").await.status, 500);
    standin.clear_faults();
    assert_eq!(api.get("/v1/Rooms").await.status, 200);
    // A fault also beats auth: the product sees the injected status.
    standin.inject(Fault::once(None, "/v1/Rooms", FaultAction::Status(429)));
    let anonymous = Api::with(&standin, "nobody", "nothing");
    assert_eq!(anonymous.get("/v1/Rooms").await.status, 429);
    standin.shutdown().await;
}

#[tokio::test]
async fn a_delay_fault_answers_normally_but_late() {
    let standin = common::start().await;
    let api = Api::new(&standin);
    let delay = Duration::from_millis(400);
    standin.inject(Fault::once(
        Some("POST"),
        "/v1/PlayerStreamers",
        FaultAction::Delay(delay),
    ));
    let started = Instant::now();
    let slow = api.post("/v1/PlayerStreamers", &[]).await;
    assert!(
        started.elapsed() >= delay,
        "answered after {:?}",
        started.elapsed()
    );
    assert_eq!(slow.status, 201);
    assert_eq!(standin.player_streamers().len(), 1);

    // A client that gives up still leaves the resource behind, as with a slow Twilio.
    standin.inject(Fault::once(
        Some("POST"),
        "/v1/PlayerStreamers",
        FaultAction::Delay(Duration::from_secs(2)),
    ));
    let gave_up = api
        .http
        .post(format!("{}/v1/PlayerStreamers", standin.base_url()))
        .basic_auth(
            &standin.account().account_sid,
            Some(&standin.account().auth_token),
        )
        .timeout(Duration::from_millis(200))
        .send()
        .await;
    assert!(gave_up.is_err_and(|e| e.is_timeout()));
    assert_eq!(standin.player_streamers().len(), 2);

    let started = Instant::now();
    assert_eq!(api.post("/v1/PlayerStreamers", &[]).await.status, 201);
    assert!(started.elapsed() < delay, "only faulted calls are slow");
    standin.shutdown().await;
}

#[tokio::test]
async fn the_call_log_records_every_rest_call_in_order() {
    let standin = common::start().await;
    let api = Api::new(&standin);
    api.post(
        "/v1/Rooms",
        &[("UniqueName", "livestream-log"), ("EmptyRoomTimeout", "2")],
    )
    .await;
    api.get("/v1/Rooms?Status=in-progress&PageSize=5").await;
    api.get("/v1/Rooms/missing").await;
    Api::with(&standin, "x", "y")
        .get("/v1/PlayerStreamers")
        .await;
    api.get(&format!("{}/__standin/state", standin.base_url()))
        .await;

    let calls = standin.calls();
    let summary: Vec<(&str, &str, u16)> = calls
        .iter()
        .map(|c| (c.method.as_str(), c.path.as_str(), c.status))
        .collect();
    assert_eq!(
        summary,
        [
            ("POST", "/v1/Rooms", 201),
            ("GET", "/v1/Rooms", 200),
            ("GET", "/v1/Rooms/missing", 404),
            ("GET", "/v1/PlayerStreamers", 401),
        ],
        "control endpoints are not logged"
    );
    let pair = |n: &str, v: &str| (n.to_owned(), v.to_owned());
    assert_eq!(
        calls[0].params,
        [
            pair("UniqueName", "livestream-log"),
            pair("EmptyRoomTimeout", "2")
        ]
    );
    assert_eq!(
        calls[1].params,
        [pair("Status", "in-progress"), pair("PageSize", "5")]
    );
    assert_eq!(calls[1].param("PageSize"), Some("5"));

    standin.clear_calls();
    assert!(standin.calls().is_empty());
    // Bad input is still a call: it shows in the log with its 400.
    api.post("/v1/Rooms", &[("Bogus", "1")]).await;
    assert_eq!(standin.calls().len(), 1);
    assert_eq!(standin.calls()[0].status, 400);
    standin.shutdown().await;
}

#[tokio::test]
async fn faults_fired_counts_only_the_calls_a_fault_applied_to() {
    let standin = common::start().await;
    let api = Api::new(&standin);
    standin.inject(Fault {
        method: Some("GET".to_owned()),
        path_contains: "/v1/Rooms".to_owned(),
        nth: 2,
        times: 2,
        action: FaultAction::Status(503),
    });
    // A window that never opens: only one matching call comes.
    standin.inject(Fault {
        method: None,
        path_contains: "/v1/MediaProcessors".to_owned(),
        nth: 2,
        times: 1,
        action: FaultAction::Status(500),
    });
    assert_eq!(standin.faults_fired(), 0);
    let statuses = [
        api.get("/v1/Rooms").await.status,
        api.post("/v1/Rooms", &[]).await.status,
        api.get("/v1/Rooms").await.status,
        api.get("/v1/MediaProcessors").await.status,
        api.get("/v1/Rooms").await.status,
        api.get("/v1/Rooms").await.status,
    ];
    assert_eq!(statuses, [200, 201, 503, 200, 503, 200]);
    assert_eq!(standin.faults_fired(), 2);
    standin.inject(Fault::once(
        None,
        "/v1/PlayerStreamers",
        FaultAction::Delay(Duration::from_millis(1)),
    ));
    assert_eq!(api.get("/v1/PlayerStreamers").await.status, 200);
    assert_eq!(standin.faults_fired(), 3, "a delay is a fault too");
    standin.shutdown().await;
}

#[tokio::test]
async fn a_watcher_sees_each_answered_call_before_a_delayed_answer_arrives() {
    let standin = common::start().await;
    let api = Api::new(&standin);
    let mut watch = standin.watch_calls_answered();
    assert_eq!(standin.calls_answered(), 0);
    api.get("/v1/Rooms").await;
    api.post("/v1/Rooms", &[("UniqueName", "watched")]).await;
    assert_eq!(standin.calls_answered(), 2);
    assert_eq!(*watch.borrow_and_update(), 2);

    // The count moves as soon as the call took effect, while its answer is still held back.
    standin.inject(Fault::once(
        Some("POST"),
        "/v1/PlayerStreamers",
        FaultAction::Delay(Duration::from_secs(2)),
    ));
    let slow = api.post("/v1/PlayerStreamers", &[]);
    tokio::pin!(slow);
    let started = Instant::now();
    tokio::select! {
        seen = watch.wait_for(|n| *n >= 3) => assert_eq!(*seen.unwrap(), 3),
        _ = &mut slow => panic!("the delayed answer came before the count moved"),
    }
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(standin.player_streamers().len(), 1, "the call took effect");
    // Control-API reads are not REST calls.
    standin.rooms();
    assert_eq!(standin.calls_answered(), 3);
    standin.shutdown().await;
}

#[tokio::test]
async fn reset_forgets_resources_calls_and_faults_but_not_the_clock_or_counters() {
    let standin = common::start().await;
    let api = Api::new(&standin);
    let room = api.create_room("livestream-before-reset").await;
    let streamer = api.create_streamer().await;
    let processor = api
        .create_processor(common::s(&room, "unique_name"), common::s(&streamer, "sid"))
        .await;
    assert_eq!(processor.status, 201);
    standin
        .connect_participant("livestream-before-reset", "presenter")
        .unwrap();
    standin.inject(Fault::once(None, "/v1/Rooms", FaultAction::Status(500)));
    assert_eq!(api.get("/v1/Rooms").await.status, 500);
    standin.inject(Fault::once(None, "/v1/Rooms", FaultAction::Status(500)));
    standin.advance_clock(Duration::from_secs(3600));
    let clock = standin.now_unix();
    let (answered, fired) = (standin.calls_answered(), standin.faults_fired());

    standin.reset();
    assert!(standin.rooms().is_empty());
    assert!(standin.player_streamers().is_empty());
    assert!(standin.media_processors().is_empty());
    assert!(standin.participants("livestream-before-reset").is_empty());
    assert!(standin.calls().is_empty());
    assert!(standin.now_unix() >= clock, "the clock keeps its offset");
    assert_eq!(standin.calls_answered(), answered);
    assert_eq!(standin.faults_fired(), fired);

    let again = api
        .post("/v1/Rooms", &[("UniqueName", "livestream-before-reset")])
        .await;
    assert_eq!(
        again.status, 201,
        "the pending fault is gone and the name is free"
    );
    assert_eq!(standin.faults_fired(), fired);
    assert_eq!(standin.calls().len(), 1);
    standin.shutdown().await;
}

#[tokio::test]
async fn faults_apply_to_the_media_routes_with_cors_and_before_the_token_check() {
    let standin = common::start().await;
    let api = Api::new(&standin);
    api.create_room("livestream-media-faults").await;
    let base = standin.base_url();
    let whep = format!("{base}/media/whep/livestream-media-faults");
    let offer = |url: &str| {
        api.http
            .post(url)
            .header("Content-Type", "application/sdp")
            .body("v=0\r\n")
            .send()
    };
    standin.inject(Fault::once(
        Some("POST"),
        "/media/whep/",
        FaultAction::Status(503),
    ));

    // A WHIP offer does not match; the WHEP offer gets the injected 503, which a page on
    // another origin can read.
    let whip = offer(&format!("{base}/media/whip/livestream-media-faults"))
        .await
        .expect("answer");
    assert_eq!(whip.status().as_u16(), 401, "no token, no fault");
    let failed = offer(&whep).await.expect("answer");
    assert_eq!(failed.status().as_u16(), 503);
    assert_eq!(failed.headers()["access-control-allow-origin"], "*");
    let body: Value = failed.json().await.expect("a Twilio error body");
    assert_eq!(
        (body["code"].as_u64(), body["status"].as_u64()),
        (Some(20500), Some(503))
    );
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("injected"))
    );
    let again = offer(&whep).await.expect("answer");
    assert_eq!(again.status().as_u16(), 401, "once means once");
    assert!(
        again.headers()["www-authenticate"]
            .to_str()
            .is_ok_and(|v| v.starts_with("Bearer")),
        "a media 401 names the bearer scheme"
    );

    // The session DELETE and the room status route take faults too; a delay answers late.
    standin.inject(Fault::once(
        Some("DELETE"),
        "/media/sessions/",
        FaultAction::Status(500),
    ));
    let session = format!("{base}/media/sessions/MS00000000000000000000000000000000");
    let delete = api.http.delete(&session).send().await.expect("answer");
    assert_eq!(delete.status().as_u16(), 500);
    let delete = api.http.delete(&session).send().await.expect("answer");
    assert_eq!(
        delete.status().as_u16(),
        404,
        "no such session, once the fault passed"
    );
    let delay = Duration::from_millis(400);
    standin.inject(Fault::once(
        None,
        "/media/rooms/livestream-media-faults",
        FaultAction::Delay(delay),
    ));
    let token = AccessToken::video(
        "viewer",
        "livestream-media-faults",
        standin.now_unix() as i64,
        600,
    )
    .sign(standin.account());
    let started = Instant::now();
    let counts = api
        .http
        .get(format!("{base}/media/rooms/livestream-media-faults"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("answer");
    assert!(
        started.elapsed() >= delay,
        "answered after {:?}",
        started.elapsed()
    );
    assert_eq!(counts.status().as_u16(), 200);
    let counts: Value = counts.json().await.expect("json");
    assert_eq!(
        counts,
        json!({"publishers": 0, "viewers": 0, "participants": []})
    );

    assert_eq!(standin.faults_fired(), 3);
    assert!(
        standin.calls().iter().all(|c| c.path.starts_with("/v1/")),
        "the call log holds Twilio REST calls only"
    );
    standin.shutdown().await;
}

#[tokio::test]
async fn the_control_api_injects_faults_on_media_routes() {
    let standin = common::start().await;
    let http = reqwest::Client::new();
    let base = standin.base_url();
    let added = http
        .post(format!("{base}/__standin/faults"))
        .json(
            &json!({"method": "POST", "path_contains": "/media/whep/", "status": 502, "times": 2}),
        )
        .send()
        .await
        .expect("answer");
    assert_eq!(added.status().as_u16(), 201);
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let response = http
            .post(format!("{base}/media/whep/livestream-anything"))
            .header("Content-Type", "application/sdp")
            .body("v=0\r\n")
            .send()
            .await
            .expect("answer");
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [502, 502, 401]);
    standin.shutdown().await;
}
