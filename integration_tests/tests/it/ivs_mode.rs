//! `AUDIENCE_MODE=ivs` against the stand-in's IVS real-time API and its stages' WHIP endpoint:
//! the host's studio makes a stage, a real WebRTC publisher with the host token goes live,
//! a crowd of viewers costs IVS only the remembered lookups, stopping ends the stage and its
//! host; the reaper ends stages left behind; IVS failing is a 502 with `Retry-After`, never a
//! 500, and leaks nothing; bad input costs IVS nothing. Every IVS call the tests caused is
//! checked against the API model (`onair_test_support::ivs_contract`).

use std::time::{Duration, Instant};

use onair_common::audience::{AudienceCache, Clock};
use onair_common::ids::{Identity, StageArn, StreamName};
use onair_common::ivs::StageSummary;
use onair_integration_tests::*;
use onair_test_support::ivs_contract;
use onair_test_support::relay_peer::{Load, Peer};
use serde_json::{Value, json};
use twilio_standin::{FaultAction, STARTUP_KEY_ARN};

const LIMIT: Duration = Duration::from_secs(10);

/// Every IVS call the stand-in logged fits the model.
fn assert_calls_fit_the_model(stack: &Stack) {
    let calls = serde_json::to_value(stack.ivs_calls()).expect("calls as JSON");
    if let Err(report) = ivs_contract::check_calls(&calls) {
        panic!("IVS calls that do not fit the model:\n{report}");
    }
}

/// The host signs in and opens the studio of `stream`: the `host_token` answer.
async fn studio(stack: &Stack, stream: &str) -> Value {
    let session = stack.host_session().await;
    let (status, body) = stack.open_studio(&session, stream).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The host page's WHIP publish (screen and microphone, no webcam) with a host token answer.
async fn publish(login: &Value) -> Peer {
    Peer::publish(
        &reqwest::Client::new(),
        login["media"]["publish_url"]
            .as_str()
            .expect("a publish URL"),
        login["token"].as_str().expect("a token"),
        Load {
            webcam: false,
            ..Load::default()
        },
    )
    .await
    .expect("the stage takes the host's publish")
}

/// The stages IVS holds now (one ListStages, which the call log records).
async fn stages(stack: &Stack) -> Vec<StageSummary> {
    stack.app.ivs.as_ref().unwrap().list_stages().await.unwrap()
}

/// Waits until the relay holds no session in `room` (it ends them on its own task).
async fn wait_no_relay_session(stack: &Stack, room: &str) {
    let deadline = Instant::now() + LIMIT;
    while stack
        .standin
        .media_sessions()
        .iter()
        .any(|s| s.room_name == room)
    {
        assert!(Instant::now() < deadline, "sessions left in {room}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the stage of `arn` has its publisher on the relay (its session is active from
/// the publish on); asks the stand-in, not IVS, so no fault meant for the functions is spent.
async fn wait_active(stack: &Stack, arn: &str) {
    let room = StageArn::parse(arn).unwrap().room();
    let deadline = Instant::now() + LIMIT;
    while !stack
        .standin
        .media_sessions()
        .iter()
        .any(|s| s.room_name == room && s.role == "publisher")
    {
        assert!(Instant::now() < deadline, "no publisher on {arn}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn stage_arn_of(login: &Value) -> String {
    claims(login["token"].as_str().unwrap())["resource"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_stream_goes_live_on_a_stage_and_a_crowd_costs_ivs_only_the_remembered_lookups() {
    let mut stack = Stack::ivs(&[]).await;
    // The lookup's time moves by hand: a crowd's minute replayed in a moment.
    let clock = Clock::manual();
    stack.app.audience = AudienceCache::with_clock(clock.clone());
    let login = studio(&stack, "main").await;
    assert_eq!(stack.ivs_calls_of("CreateStage"), 1);
    assert_eq!(login["mode"], "ivs");
    let room = login["room"].as_str().unwrap().to_owned();
    let id = room.strip_prefix("ivs-").expect("room ivs-<stage id>");
    assert_eq!(
        login["media"],
        json!({ "kind": "ivs", "publish_url": format!("{}/media/ivs/whip/{id}", stack.standin.base_url()) })
    );
    let token = login["token"].as_str().unwrap();
    assert_eq!(header(token)["alg"], "ES384");
    assert_eq!(header(token)["kid"], STARTUP_KEY_ARN);
    let host_claims = claims(token);
    assert_eq!(host_claims["topic"], id);
    assert_eq!(host_claims["user_id"], "presenter");
    assert_eq!(
        host_claims["capabilities"],
        json!({ "allow_publish": true, "allow_subscribe": false })
    );
    assert_eq!(login["expires_at"], host_claims["exp"]);
    let arn = stage_arn_of(&login);

    // Before the host publishes: the studio is ready, nobody can start or watch.
    let (status, body) = stack.call(Endpoint::StreamStart, bearer(token)).await;
    assert_eq!(status, 409, "{body}");
    let (_, waiting) = stack.audience("main").await;
    assert_eq!(
        (waiting["live"].clone(), waiting["state"].clone()),
        (json!(false), json!("ready"))
    );

    let host = publish(&login).await;
    wait_active(&stack, &arn).await;
    let started = stack.call_ok(Endpoint::StreamStart, bearer(token)).await;
    assert_eq!(started["stream"]["stage_arn"], arn);
    assert_eq!(started["stream"]["room"], room);
    assert_eq!(started["stream"]["name"], "main");
    // Starting again answers the same.
    assert_eq!(
        stack.call_ok(Endpoint::StreamStart, bearer(token)).await,
        started
    );

    // Viewers learn it within IVS_LOOKUP_SECONDS (5): until then the listing is remembered.
    let (_, remembered) = stack.audience("main").await;
    assert_eq!(remembered["state"], "ready");
    clock.advance(Duration::from_secs(5));

    // A crowd of 1,000 over a minute: IVS is asked what is live at most once per
    // IVS_LOOKUP_SECONDS (12 a minute, plus the first), the stage's endpoints once; no call
    // per viewer.
    stack.standin.clear_ivs_calls();
    let crowd = 1000;
    let mut identities = std::collections::HashSet::new();
    for _ in 0..crowd {
        clock.advance(Duration::from_millis(60));
        let (status, viewer) = stack.audience("main").await;
        assert_eq!(status, 200, "{viewer}");
        assert_eq!(viewer["live"], true, "{viewer}");
        assert_eq!(viewer["room"], room);
        assert_eq!(viewer["media"], json!({ "kind": "ivs" }));
        let token = viewer["token"].as_str().unwrap();
        let c = claims(token);
        assert_eq!(
            c["capabilities"],
            json!({ "allow_publish": false, "allow_subscribe": true })
        );
        assert_eq!(c["resource"], arn);
        assert_eq!(c["user_id"], viewer["identity"]);
        identities.insert(c["jti"].as_str().unwrap().to_owned());
    }
    let calls = stack.ivs_calls();
    let list_stages = calls.iter().filter(|c| c.operation == "ListStages").count();
    let get_stage = calls.iter().filter(|c| c.operation == "GetStage").count();
    assert!(
        (12..=13).contains(&list_stages),
        "{list_stages} ListStages for {crowd} viewers in a minute"
    );
    assert_eq!(get_stage, 1, "the stage's endpoints are remembered");
    assert_eq!(calls.len(), list_stages + get_stage, "no other IVS call");
    assert_eq!(
        identities.len(),
        crowd,
        "every viewer is their own participant"
    );
    let (_, _, status) = stack.status_of("main").await;
    assert_eq!(status["state"], "live");
    assert_eq!(status["room"], room);

    // A viewer's token watches over the relay's WHEP, as viewers do locally.
    let (_, viewer) = stack.audience("main").await;
    let watcher = Peer::watch(
        &reqwest::Client::new(),
        &format!("{}/media/whep/{room}", stack.standin.base_url()),
        viewer["token"].as_str().unwrap(),
    )
    .await
    .expect("the relay takes a subscribe token");

    // The host token opens a meeting as a room token does (meetings stay on Twilio).
    let meeting = stack.call_ok(Endpoint::MeetingCreate, bearer(token)).await;
    assert!(meeting["invite"].is_string(), "{meeting}");

    // Stop: the host disconnected, the stage deleted; a second stop stops nothing.
    let stopped = stack.call_ok(Endpoint::StreamStop, bearer(token)).await;
    assert_eq!(
        stopped,
        json!({ "stopped": true, "room": room, "stream": "main" })
    );
    assert_eq!(stack.ivs_calls_of("DisconnectParticipant"), 1);
    assert_eq!(stack.ivs_calls_of("DeleteStage"), 1);
    let again = stack.call_ok(Endpoint::StreamStop, bearer(token)).await;
    assert_eq!(again["stopped"], false);
    assert!(stages(&stack).await.is_empty(), "the stage is gone");
    wait_no_relay_session(&stack, &room).await;
    clock.advance(Duration::from_secs(5));
    let (_, _, status) = stack.status_of("main").await;
    assert_eq!(status, json!({ "stream": "main", "state": "offline" }));
    watcher.close().await;
    host.close().await;
    assert_calls_fit_the_model(&stack);
}

#[tokio::test]
async fn a_second_studio_replaces_the_first_and_a_stream_on_air_is_not_taken() {
    let stack = Stack::ivs(&[("IVS_LOOKUP_SECONDS", "1")]).await;
    let first = studio(&stack, "main").await;
    let second = studio(&stack, "main").await;
    let listed = stages(&stack).await;
    assert_eq!(listed.len(), 1, "the first studio's stage was replaced");
    assert_eq!(listed[0].arn.as_str(), stage_arn_of(&second));
    // The replaced stage's token publishes nowhere.
    let refused = Peer::publish(
        &reqwest::Client::new(),
        first["media"]["publish_url"].as_str().unwrap(),
        first["token"].as_str().unwrap(),
        Load::default(),
    )
    .await;
    assert!(refused.is_err());

    let host = publish(&second).await;
    wait_active(&stack, &stage_arn_of(&second)).await;
    stack
        .call_ok(
            Endpoint::StreamStart,
            bearer(second["token"].as_str().unwrap()),
        )
        .await;
    let session = stack.host_session().await;
    let (status, body) = stack.open_studio(&session, "main").await;
    assert_eq!(status, 409, "{body}");
    // Another name is another stage.
    studio(&stack, "other").await;
    assert_eq!(stages(&stack).await.len(), 2);

    // With the password, `{stream}` stops every stage of the stream.
    let stop = post_json(json!({ "password": HOST_PASSWORD, "stream": "main" }));
    let stopped = stack.call_ok(Endpoint::StreamStop, stop).await;
    assert_eq!(stopped["stopped"], true);
    let left = stages(&stack).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].stream(), StreamName::parse("other"));
    host.close().await;
    assert_calls_fit_the_model(&stack);
}

#[tokio::test]
async fn the_reaper_ends_stages_left_behind_and_leaves_a_live_one_alone() {
    let stack = Stack::ivs(&[("STREAM_MAX_MINUTES", "30"), ("STUDIO_MAX_MINUTES", "5")]).await;
    let now = onair_common::token::unix_now();
    let unused = studio(&stack, "unused").await;
    let live = studio(&stack, "live").await;
    let host = publish(&live).await;
    let live_arn = stage_arn_of(&live);
    wait_active(&stack, &live_arn).await;

    let report = reaper::reap(&stack.app, now + 60).await;
    assert!(
        report.stages_ended.is_empty() && report.errors.is_empty(),
        "{report:?}"
    );

    // Past STUDIO_MAX_MINUTES the stage nobody published to ends; the live one stays.
    let report = reaper::reap(&stack.app, now + 5 * 60 + 1).await;
    assert_eq!(report.errors, Vec::<String>::new());
    assert_eq!(
        report.stages_ended,
        vec![StageArn::parse(&stage_arn_of(&unused)).unwrap()]
    );

    // Past STREAM_MAX_MINUTES the live stage ends too, its host disconnected.
    let report = reaper::reap(&stack.app, now + 30 * 60 + 1).await;
    assert_eq!(
        report.stages_ended,
        vec![StageArn::parse(&live_arn).unwrap()]
    );
    assert!(stages(&stack).await.is_empty());
    wait_no_relay_session(&stack, live["room"].as_str().unwrap()).await;
    host.close().await;
    assert_calls_fit_the_model(&stack);
}

#[tokio::test]
async fn the_reaper_ends_a_stage_whose_host_left_others_behind() {
    let stack = Stack::ivs(&[]).await;
    let now = onair_common::token::unix_now();
    let login = studio(&stack, "main").await;
    let arn = StageArn::parse(&stage_arn_of(&login)).unwrap();
    let host = publish(&login).await;
    wait_active(&stack, arn.as_str()).await;
    // A second publisher (a token the service would mint for another identity) stays on.
    let ivs = stack.app.ivs.as_ref().unwrap();
    let endpoints = ivs.get_stage(&arn).await.unwrap().endpoints;
    let other = stack
        .app
        .mint_stage_token(
            &endpoints,
            &Identity::parse("guest").unwrap(),
            &StreamName::main(),
        )
        .await
        .unwrap();
    let guest = Peer::publish(
        &reqwest::Client::new(),
        &endpoints.whip,
        &other.jwt,
        Load {
            webcam: false,
            ..Load::default()
        },
    )
    .await
    .expect("a second publisher");
    host.close().await;

    let report = reaper::reap(&stack.app, now + 10).await;
    assert!(report.stages_ended.is_empty(), "within the grace period");
    let report = reaper::reap(&stack.app, now + reaper::GRACE_SECS + 1).await;
    assert_eq!(report.stages_ended, vec![arn]);
    assert!(stages(&stack).await.is_empty());
    guest.close().await;
    assert_calls_fit_the_model(&stack);
}

/// What one faulted run did: every status the endpoints answered.
async fn faulted_run(stack: &Stack, statuses: &mut Vec<(String, u16)>) {
    let mut note = |what: &str, status: u16, headers: &http::HeaderMap, body: &Value| {
        assert_ne!(status, 500, "{what}: {body}");
        assert!(
            [200, 409, 502].contains(&status),
            "{what} answered {status}: {body}"
        );
        if status == 502 {
            assert_eq!(body["error"]["code"], "upstream_error");
            assert!(
                headers.contains_key("retry-after"),
                "{what}: 502 without Retry-After"
            );
        }
        statuses.push((what.to_owned(), status));
    };
    let session = stack.host_session().await;
    let req = with_bearer(post_json(json!({ "stream": "main" })), &session);
    let (status, headers, login) = stack.call_with_headers(Endpoint::HostToken, req).await;
    note("host_token", status, &headers, &login);
    if status != 200 {
        return;
    }
    let token = login["token"].as_str().unwrap().to_owned();
    let host = publish(&login).await;
    wait_active(stack, &stage_arn_of(&login)).await;
    let (status, headers, body) = stack
        .call_with_headers(Endpoint::StreamStart, bearer(&token))
        .await;
    note("stream_start", status, &headers, &body);
    for _ in 0..3 {
        let (status, headers, body) = stack
            .call_with_headers(
                Endpoint::AudienceToken,
                post_json(json!({ "stream": "main" })),
            )
            .await;
        note("audience_token", status, &headers, &body);
    }
    let (status, headers, body) = stack.status_of("main").await;
    note("stream_status", status, &headers, &body);
    let (status, headers, body) = stack
        .call_with_headers(Endpoint::StreamStop, bearer(&token))
        .await;
    note("stream_stop", status, &headers, &body);
    host.close().await;
}

#[tokio::test]
async fn ivs_failing_is_a_502_with_retry_after_and_nothing_is_leaked() {
    let stack = Stack::ivs(&[("IVS_LOOKUP_SECONDS", "1"), ("IVS_TIMEOUT_MS", "300")]).await;
    let actions = [
        FaultAction::Status(500),
        FaultAction::Status(429),
        FaultAction::Status(503),
        FaultAction::Delay(Duration::from_millis(600)),
    ];
    let mut statuses = Vec::new();
    for operation in IVS_OPERATIONS {
        for action in actions {
            stack.standin.clear_faults();
            stack
                .standin
                .inject(fault("POST", &format!("/ivs/{operation}"), 1, action));
            let fired = stack.standin.faults_fired();
            faulted_run(&stack, &mut statuses).await;
            assert_eq!(
                stack.standin.faults_fired(),
                fired + 1,
                "{operation} {action:?} was called"
            );
            // The lookup's remembered failure must not carry over to the next run.
            tokio::time::sleep(Duration::from_millis(1100)).await;
        }
    }
    assert!(
        statuses.iter().any(|(_, status)| *status == 502),
        "the faults were felt"
    );
    // Everyone left; the reaper passes every bound: nothing is left at IVS or on the relay.
    stack.standin.clear_faults();
    let far = onair_common::token::unix_now() + 24 * 3600;
    let report = reaper::reap(&stack.app, far).await;
    assert_eq!(report.errors, Vec::<String>::new());
    assert!(stages(&stack).await.is_empty(), "stages leaked");
    let deadline = Instant::now() + LIMIT;
    while stack
        .standin
        .media_sessions()
        .iter()
        .any(|s| s.room_name.starts_with("ivs-"))
    {
        assert!(Instant::now() < deadline, "relay sessions leaked");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_calls_fit_the_model(&stack);
}

#[tokio::test]
async fn bad_input_is_refused_before_any_ivs_call() {
    let stack = Stack::ivs(&[]).await;
    let session = stack.host_session().await;
    let viewer_token = {
        // A subscribe-only token this service signed, for a stage that need not exist.
        let endpoints = onair_common::ivs_token::StageEndpoints {
            arn: StageArn::parse("arn:aws:ivs:us-east-1:123456789012:stage/AbCdEf123456").unwrap(),
            events: "wss://events.example".into(),
            whip: "https://whip.example".into(),
        };
        stack
            .app
            .mint_stage_token(&endpoints, &Identity::new_viewer(), &StreamName::main())
            .await
            .unwrap()
            .jwt
    };
    let twilio_style = signed_token(
        &stack,
        json!({ "identity": "presenter", "video": { "room": "livestream-main-0123456789" } }),
        600,
        &stack.standin.account().api_key_secret,
    );
    let cases: Vec<(Endpoint, lambda_http::Request, u16)> = vec![
        (
            Endpoint::HostToken,
            with_bearer(post_json(json!({ "stream": "Not A Name" })), &session),
            400,
        ),
        (
            Endpoint::HostToken,
            post_json(json!({ "password": "wrong", "stream": "main" })),
            401,
        ),
        (
            Endpoint::AudienceToken,
            post_json(json!({ "stream": "../etc" })),
            400,
        ),
        (Endpoint::StreamStatus, get("/status/NO"), 400),
        (Endpoint::StreamStart, bearer("not.a.token"), 401),
        (Endpoint::StreamStart, bearer(&viewer_token), 401),
        (Endpoint::StreamStart, bearer(&twilio_style), 401),
        (Endpoint::StreamStart, post_empty(), 401),
        (Endpoint::StreamStop, bearer(&viewer_token), 401),
        (
            Endpoint::StreamStop,
            post_json(json!({ "password": HOST_PASSWORD, "room": "ivs-AbCdEf123456" })),
            400,
        ),
        (
            Endpoint::StreamStop,
            post_json(json!({ "password": HOST_PASSWORD, "stream": "Bad Name" })),
            400,
        ),
        (Endpoint::Subscribe, bearer(&viewer_token), 404),
        (Endpoint::MeetingCreate, bearer(&viewer_token), 401),
    ];
    for (endpoint, req, expected) in cases {
        let (status, body) = stack.call(endpoint, req).await;
        assert_eq!(status, expected, "{endpoint:?}: {body}");
    }
    assert_eq!(stack.ivs_calls(), vec![], "no IVS call for bad input");
}
