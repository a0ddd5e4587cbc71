//! Twilio failing: errors become 502 `upstream_error` with nothing left running; safe calls are
//! retried through 429s and 5xx, creates never are; slow answers time out.

use std::time::Duration;

use onair_integration_tests::*;
use serde_json::json;
use twilio_standin::FaultAction;

#[tokio::test]
async fn a_failed_room_create_is_502_and_is_not_retried() {
    let stack = Stack::room().await;
    stack
        .standin
        .inject(fault("POST", "/v1/Rooms", 1, FaultAction::Status(503)));
    let (status, body) = stack
        .call(
            Endpoint::HostToken,
            post_json(json!({ "password": HOST_PASSWORD })),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (502, Some("upstream_error")),
        "{body}"
    );
    assert_eq!(
        stack.calls_to("POST", "/v1/Rooms"),
        1,
        "a create is never repeated"
    );
    assert_eq!(stack.active_rooms(), 0);
}

#[tokio::test]
async fn reads_are_retried_through_429_and_5xx() {
    let stack = Stack::room().await;
    let login = stack.host_connected().await;
    stack.standin.clear_calls();
    stack
        .standin
        .inject(fault("GET", "/v1/Rooms", 1, FaultAction::Status(429)));
    stack
        .standin
        .inject(fault("GET", "/Participants", 1, FaultAction::Status(500)));
    let token = login["token"].as_str().unwrap();
    let (status, body) = stack.call(Endpoint::StreamStart, bearer(token)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        stack.twilio_calls(),
        4,
        "two calls (the room, the host in it), each retried once: {:?}",
        stack.standin.calls()
    );
}

#[tokio::test]
async fn persistent_429_gives_up_with_502() {
    let stack = Stack::room().await;
    let login = stack.host_connected().await;
    stack.standin.clear_calls();
    stack
        .standin
        .inject(fault("GET", "/v1/Rooms", 10, FaultAction::Status(429)));
    let token = login["token"].as_str().unwrap();
    let (status, body) = stack.call(Endpoint::StreamStart, bearer(token)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (502, Some("upstream_error")),
        "{body}"
    );
    assert_eq!(stack.twilio_calls(), 3, "three attempts in all");
}

#[tokio::test]
async fn the_audience_lookup_is_tried_once_a_crowd_asks_again_by_itself() {
    let stack = Stack::room().await;
    stack
        .standin
        .inject(fault("GET", "/v1/Rooms", 10, FaultAction::Status(429)));
    let (status, body) = stack.call(Endpoint::AudienceToken, post_empty()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (502, Some("upstream_error")),
        "{body}"
    );
    assert_eq!(stack.twilio_calls(), 1, "{:?}", stack.standin.calls());
}

/// Every call of `method` to a path containing `path` answers `status`, however many come.
fn always(method: &str, path: &str, status: u16) -> twilio_standin::Fault {
    fault(method, path, u32::MAX, FaultAction::Status(status))
}

#[tokio::test]
async fn a_crowd_against_a_failing_twilio_costs_one_call_per_failure_memory() {
    use onair_common::audience::{AudienceCache, Clock, FAILURE_MEMORY};
    for (mode, lookup) in [("room", "/v1/Rooms"), ("live", "/v1/MediaProcessors")] {
        // The default cache window, so failures are remembered for the full FAILURE_MEMORY.
        let mut stack =
            Stack::start(&[("AUDIENCE_MODE", mode), ("AUDIENCE_CACHE_SECONDS", "5")]).await;
        let clock = Clock::manual();
        stack.app.audience = AudienceCache::with_clock(clock.clone());
        stack.live_stream().await;
        stack.standin.clear_calls();
        stack.standin.inject(always("GET", lookup, 500));

        // 200 viewers over 10 s: Twilio is asked at 0, 2, 4, 6 and 8 s, once each time.
        for viewer in 0..200 {
            let (status, headers, body) = stack
                .call_with_headers(Endpoint::AudienceToken, post_empty())
                .await;
            assert_eq!(
                (status, body["error"]["code"].as_str()),
                (502, Some("upstream_error")),
                "{mode}, viewer {viewer}: {body}"
            );
            let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
            assert!(
                (1..=FAILURE_MEMORY.as_secs()).contains(&retry_after),
                "{retry_after}"
            );
            let message = body["error"]["message"].as_str().unwrap();
            assert!(
                message.ends_with(&format!("try again in {retry_after} s")),
                "{message}"
            );
            clock.advance(std::time::Duration::from_millis(50));
        }
        assert_eq!(
            stack.twilio_calls(),
            5,
            "{mode}: {:?}",
            stack.standin.calls()
        );

        // Twilio recovers: once the memory has passed, the next viewer gets the stream.
        stack.standin.clear_faults();
        clock.advance(FAILURE_MEMORY);
        let (status, viewer) = stack.call(Endpoint::AudienceToken, post_empty()).await;
        assert_eq!(
            (status, viewer["live"].as_bool()),
            (200, Some(true)),
            "{mode}: {viewer}"
        );
    }
}

#[tokio::test]
async fn a_slow_twilio_times_out_into_502() {
    let stack = Stack::room().await; // client timeout 500 ms in tests
    stack.standin.inject(fault(
        "GET",
        "/v1/Rooms",
        10,
        FaultAction::Delay(Duration::from_millis(1500)),
    ));
    let (status, body) = stack.call(Endpoint::AudienceToken, post_empty()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (502, Some("upstream_error")),
        "{body}"
    );
}

#[tokio::test]
async fn stop_keeps_going_when_one_ending_call_fails_and_the_reaper_finishes() {
    let stack = Stack::live().await;
    let login = stack.live_stream().await;
    let token = login["token"].as_str().unwrap();

    // Ending the streamer fails for all three attempts: the room is still completed and the
    // caller hears 502.
    stack.standin.inject(fault(
        "POST",
        "/v1/PlayerStreamers/VJ",
        3,
        FaultAction::Status(500),
    ));
    let (status, _) = stack.call(Endpoint::StreamStop, bearer(token)).await;
    assert_eq!(status, 502);
    assert_eq!((stack.active_rooms(), stack.running_processors()), (0, 0));
    assert_eq!(stack.running_streamers(), 1);

    // The processor is gone, so a second stop cannot find the streamer; once it is past the
    // grace period, the reaper ends it as unfed.
    let report = reaper::reap(&stack.app, stack.twilio_now()).await;
    assert!(
        report.errors.is_empty() && report.player_streamers_ended.is_empty(),
        "{report:?}"
    );
    stack
        .standin
        .advance_clock(Duration::from_secs(reaper::GRACE_SECS + 1));
    let report = reaper::reap(&stack.app, stack.twilio_now()).await;
    assert_eq!(report.player_streamers_ended.len(), 1, "{report:?}");
    assert_eq!(stack.running_streamers(), 0);
}

#[tokio::test]
async fn twilio_refusing_our_credentials_is_502_without_leaking_them() {
    let standin = twilio_standin::StandIn::start(twilio_standin::Account::for_tests())
        .await
        .unwrap();
    let app = app_for(
        &standin,
        &[("TWILIO_API_KEY_SECRET", "a-rotated-away-secret")],
    );
    let response = host_token::handle(&app, post_json(json!({ "password": HOST_PASSWORD }))).await;
    assert_eq!(response.status(), 502);
    let body = format!("{:?}", response.body());
    assert!(body.contains("20003"), "Twilio's code is passed on: {body}");
    assert!(!body.contains("a-rotated-away-secret"));
}

/// The pair a `stream_start` answer names.
fn pair(body: &serde_json::Value) -> (String, String) {
    let sid = |key: &str| body["stream"][key].as_str().unwrap_or_default().to_owned();
    (sid("media_processor_sid"), sid("player_streamer_sid"))
}

#[tokio::test]
async fn a_media_processor_created_after_the_timeout_is_adopted_not_left_running() {
    let stack = Stack::live().await; // client timeout 500 ms in tests
    let login = stack.host_connected().await;
    let token = login["token"].as_str().unwrap();
    // Twilio creates the processor but answers too late.
    stack.standin.inject(fault(
        "POST",
        "/v1/MediaProcessors",
        1,
        FaultAction::Delay(Duration::from_millis(900)),
    ));
    let (status, first) = stack.call(Endpoint::StreamStart, bearer(token)).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(
        (stack.running_processors(), stack.running_streamers()),
        (1, 1)
    );
    let processors = stack.standin.media_processors();
    assert_eq!(
        pair(&first),
        (processors[0].sid.clone(), processors[0].outputs[0].clone()),
        "the late processor and its streamer are the stream"
    );
    let (status, again) = stack.call(Endpoint::StreamStart, bearer(token)).await;
    assert_eq!((status, pair(&again)), (200, pair(&first)));
}

#[tokio::test]
async fn racing_starts_keep_one_pair_and_end_the_other() {
    let stack = Stack::live().await;
    let login = stack.host_connected().await;
    let token = login["token"].as_str().unwrap();
    // Both starts look for a running pair before either has created one.
    stack.standin.inject(fault(
        "GET",
        "/v1/MediaProcessors",
        2,
        FaultAction::Delay(Duration::from_millis(150)),
    ));
    let ((a, first), (b, second)) = tokio::join!(
        stack.call(Endpoint::StreamStart, bearer(token)),
        stack.call(Endpoint::StreamStart, bearer(token)),
    );
    assert_eq!((a, b), (200, 200), "{first} {second}");
    assert_eq!(
        stack.standin.media_processors().len(),
        2,
        "both created a pair"
    );
    assert_eq!(
        (stack.running_processors(), stack.running_streamers()),
        (1, 1),
        "one pair is left"
    );
    let (status, third) = stack.call(Endpoint::StreamStart, bearer(token)).await;
    assert_eq!(status, 200);
    let kept = stack
        .standin
        .media_processors()
        .into_iter()
        .find(|mp| mp.status == "started")
        .unwrap();
    assert_eq!(pair(&third), (kept.sid.clone(), kept.outputs[0].clone()));
    assert!(
        pair(&first) == pair(&third) || pair(&second) == pair(&third),
        "the later start answers the pair kept"
    );
}

#[tokio::test]
async fn a_stop_that_cannot_end_the_processor_leaves_the_pair_whole_for_a_retry() {
    let stack = Stack::live().await;
    let login = stack.live_stream().await;
    let token = login["token"].as_str().unwrap();
    let (_, started) = stack.call(Endpoint::StreamStart, bearer(token)).await;
    // Ending the processor and completing the room both fail, all three attempts.
    stack.standin.inject(fault(
        "POST",
        "/v1/MediaProcessors/ZX",
        3,
        FaultAction::Status(500),
    ));
    stack
        .standin
        .inject(fault("POST", "/v1/Rooms/", 3, FaultAction::Status(503)));
    let (status, _) = stack.call(Endpoint::StreamStop, bearer(token)).await;
    assert_eq!(status, 502);
    assert_eq!(
        (
            stack.active_rooms(),
            stack.running_processors(),
            stack.running_streamers()
        ),
        (1, 1, 1),
        "the stream is still whole, not a processor feeding an ended streamer"
    );
    let (status, again) = stack.call(Endpoint::StreamStart, bearer(token)).await;
    assert_eq!((status, &again["stream"]), (200, &started["stream"]));
    let (status, viewer) = stack.call(Endpoint::AudienceToken, post_empty()).await;
    assert_eq!((status, &viewer["live"]), (200, &json!(true)), "{viewer}");

    let (status, stopped) = stack.call(Endpoint::StreamStop, bearer(token)).await;
    assert_eq!((status, &stopped["stopped"]), (200, &json!(true)));
    assert_eq!(
        (
            stack.active_rooms(),
            stack.running_processors(),
            stack.running_streamers()
        ),
        (0, 0, 0)
    );
}
