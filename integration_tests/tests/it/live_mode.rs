//! `live` mode (Twilio Live) against the stand-in: start creates a PlayerStreamer and a
//! MediaProcessor once per room and compensates when the second fails; viewers share one
//! PlaybackGrant; stop ends exactly that room's resources.

use onair_integration_tests::*;
use serde_json::json;

#[tokio::test]
async fn live_stream_start_share_and_stop() {
    let stack = Stack::live().await;
    let login = stack.host_connected().await;
    assert_eq!(login["mode"], "live");
    let room = login["room"].as_str().unwrap();
    let token = login["token"].as_str().unwrap();

    // Connected but not started: viewers see nothing live yet.
    let (_, waiting) = stack.call(Endpoint::AudienceToken, post_empty()).await;
    assert_eq!(
        waiting,
        json!({ "live": false, "mode": "live", "token": null })
    );

    let (status, started) = stack.call(Endpoint::StreamStart, bearer(token)).await;
    assert_eq!(status, 200, "{started}");
    let streamer = started["stream"]["player_streamer_sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let processor = started["stream"]["media_processor_sid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(streamer.starts_with("VJ") && processor.starts_with("ZX"));
    let mp = stack
        .standin
        .media_processors()
        .into_iter()
        .find(|p| p.sid == processor)
        .unwrap();
    assert_eq!(mp.room_name.as_deref(), Some(room));
    assert_eq!(mp.outputs, vec![streamer.clone()]);
    assert_eq!(mp.extension, "video-composer-v2");
    assert_eq!(mp.max_duration, 7200);
    let ps = stack
        .standin
        .player_streamers()
        .into_iter()
        .find(|p| p.sid == streamer)
        .unwrap();
    assert_eq!((ps.status.as_str(), ps.max_duration), ("started", 7200));

    // Starting again returns the same pair and creates nothing.
    let (status, again) = stack.call(Endpoint::StreamStart, bearer(token)).await;
    assert_eq!(status, 200);
    assert_eq!(again["stream"], started["stream"]);
    assert_eq!(stack.calls_to("POST", "/v1/PlayerStreamers"), 1);
    assert_eq!(stack.calls_to("POST", "/v1/MediaProcessors"), 1);

    // A crowd shares one PlaybackGrant; each viewer has a fresh identity.
    let mut identities = std::collections::HashSet::new();
    for _ in 0..25 {
        let (status, viewer) = stack.call(Endpoint::AudienceToken, post_empty()).await;
        assert_eq!(status, 200, "{viewer}");
        assert_eq!(viewer["live"], true);
        let grants = &claims(viewer["token"].as_str().unwrap())["grants"];
        assert_eq!(grants["player"]["playerStreamerSid"], streamer.as_str());
        assert!(grants["player"]["playbackUrl"].is_string());
        assert!(grants.get("video").is_none());
        identities.insert(viewer["identity"].as_str().unwrap().to_owned());
    }
    assert_eq!(identities.len(), 25);
    assert!(!identities.contains("presenter"));
    assert_eq!(stack.calls_to("POST", "/PlaybackGrant"), 1);

    let (status, stopped) = stack.call(Endpoint::StreamStop, bearer(token)).await;
    assert_eq!((status, stopped["stopped"].as_bool()), (200, Some(true)));
    assert_eq!(
        (
            stack.running_streamers(),
            stack.running_processors(),
            stack.active_rooms()
        ),
        (0, 0, 0)
    );
    let (status, again) = stack.call(Endpoint::StreamStop, bearer(token)).await;
    assert_eq!((status, again["stopped"].as_bool()), (200, Some(false)));
}

#[tokio::test]
async fn stop_leaves_other_rooms_live_resources_alone() {
    let stack = Stack::live().await;
    let first = stack.host_connected().await;
    let second = stack.host_connected().await;
    for login in [&first, &second] {
        let (status, _) = stack
            .call(
                Endpoint::StreamStart,
                bearer(login["token"].as_str().unwrap()),
            )
            .await;
        assert_eq!(status, 200);
    }
    assert_eq!(stack.running_processors(), 2);

    stack
        .call(
            Endpoint::StreamStop,
            bearer(first["token"].as_str().unwrap()),
        )
        .await;
    let running: Vec<_> = stack
        .standin
        .media_processors()
        .into_iter()
        .filter(|p| p.status == "started")
        .collect();
    assert_eq!(running.len(), 1);
    assert_eq!(running[0].room_name.as_deref(), second["room"].as_str());
    assert_eq!(stack.running_streamers(), 1);
}

#[tokio::test]
async fn a_failed_media_processor_leaves_no_player_streamer_running() {
    let stack = Stack::live().await;
    let login = stack.host_connected().await;
    stack.standin.inject(fault(
        "POST",
        "/v1/MediaProcessors",
        1,
        twilio_standin::FaultAction::Status(500),
    ));
    let (status, body) = stack
        .call(
            Endpoint::StreamStart,
            bearer(login["token"].as_str().unwrap()),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (502, Some("upstream_error")),
        "{body}"
    );
    assert_eq!(
        stack.standin.player_streamers().len(),
        1,
        "one streamer was created"
    );
    assert_eq!(stack.running_streamers(), 0, "and ended again");
    assert_eq!(stack.running_processors(), 0);

    // The next try works.
    let (status, _) = stack
        .call(
            Endpoint::StreamStart,
            bearer(login["token"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (stack.running_streamers(), stack.running_processors()),
        (1, 1)
    );
}

#[tokio::test]
async fn a_new_grant_is_made_when_the_old_one_is_spent() {
    // Grants of 10 s are usable for 0 s (the 10 s margin): every viewer needs a fresh one.
    let stack = Stack::start(&[
        ("AUDIENCE_MODE", "live"),
        ("PLAYBACK_GRANT_TTL_SECONDS", "10"),
    ])
    .await;
    stack.live_stream().await;
    for _ in 0..3 {
        let (status, _) = stack.call(Endpoint::AudienceToken, post_empty()).await;
        assert_eq!(status, 200);
    }
    assert_eq!(stack.calls_to("POST", "/PlaybackGrant"), 3);
}

#[tokio::test]
async fn playback_tokens_cannot_subscribe() {
    let stack = Stack::live().await;
    stack.live_stream().await;
    let (_, viewer) = stack.call(Endpoint::AudienceToken, post_empty()).await;
    stack.standin.clear_calls();
    let (status, body) = stack
        .call(
            Endpoint::Subscribe,
            bearer(viewer["token"].as_str().unwrap()),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthorized")),
        "{body}"
    );
    assert_eq!(stack.twilio_calls(), 0);
}

/// A live stack whose audience cache goes by a manual clock; viewers' "what is not live" is
/// trusted for 5 s, as by default.
async fn live_with_manual_clock() -> (Stack, onair_common::audience::Clock) {
    let mut stack =
        Stack::start(&[("AUDIENCE_MODE", "live"), ("AUDIENCE_CACHE_SECONDS", "5")]).await;
    let clock = onair_common::audience::Clock::manual();
    stack.app.audience = onair_common::audience::AudienceCache::with_clock(clock.clone());
    (stack, clock)
}

#[tokio::test]
async fn a_crowd_costs_one_lookup_and_one_grant_per_grant_lifetime() {
    let (stack, clock) = live_with_manual_clock().await;
    stack.live_stream().await;
    stack.standin.clear_calls();

    // 300 viewers over 150 s: grants of 60 s are handed out for 50 s, so three lifetimes
    // start (at 0, 50 and 100 s), each with one list of started MediaProcessors and one grant.
    for _ in 0..300 {
        let (status, viewer) = stack.call(Endpoint::AudienceToken, post_empty()).await;
        assert_eq!(
            (status, viewer["live"].as_bool()),
            (200, Some(true)),
            "{viewer}"
        );
        clock.advance(std::time::Duration::from_millis(500));
    }
    assert_eq!(stack.calls_to("GET", "/v1/MediaProcessors"), 3);
    assert_eq!(stack.calls_to("POST", "/PlaybackGrant"), 3);
    assert_eq!(stack.twilio_calls(), 6, "{:?}", stack.standin.calls());
}

#[tokio::test]
async fn not_live_is_trusted_only_for_the_audience_cache_window() {
    let (stack, clock) = live_with_manual_clock().await;
    let login = stack.host_connected().await;
    let (_, waiting) = stack.call(Endpoint::AudienceToken, post_empty()).await;
    assert_eq!(waiting["live"], false);
    stack
        .call(
            Endpoint::StreamStart,
            bearer(login["token"].as_str().unwrap()),
        )
        .await;
    stack.standin.clear_calls();

    // Still within the 5 s: the cached "not live", no call.
    let (_, still_waiting) = stack.call(Endpoint::AudienceToken, post_empty()).await;
    assert_eq!(still_waiting["live"], false);
    assert_eq!(stack.twilio_calls(), 0);

    clock.advance(std::time::Duration::from_secs(5));
    let (_, viewer) = stack.call(Endpoint::AudienceToken, post_empty()).await;
    assert_eq!(viewer["live"], true);
    assert_eq!(viewer["room"], login["room"]);
    assert_eq!(stack.twilio_calls(), 2, "{:?}", stack.standin.calls());
}

#[tokio::test]
async fn a_refused_grant_is_not_kept_and_the_next_viewer_looks_again() {
    let (stack, clock) = live_with_manual_clock().await;
    stack.live_stream().await;
    let (_, first) = stack.call(Endpoint::AudienceToken, post_empty()).await;
    assert_eq!(first["live"], true);

    // The streamer ends while its processor still runs: Twilio refuses the next grant.
    let streamer = stack.standin.player_streamers()[0].sid.clone();
    stack
        .app
        .twilio
        .end_player_streamer(&streamer)
        .await
        .unwrap();
    clock.advance(std::time::Duration::from_secs(50));
    stack.standin.clear_calls();
    let (status, body) = stack.call(Endpoint::AudienceToken, post_empty()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (502, Some("upstream_error")),
        "{body}"
    );

    // The failure is remembered briefly: a viewer right after it is told so without a call.
    stack.standin.clear_calls();
    let (status, _) = stack.call(Endpoint::AudienceToken, post_empty()).await;
    assert_eq!((status, stack.twilio_calls()), (502, 0));

    // No answer was kept: once the processor is gone too and the failure memory has passed,
    // the next viewer hears "not live" without waiting for any grant lifetime to pass.
    clock.advance(onair_common::audience::FAILURE_MEMORY);
    for processor in stack.standin.media_processors() {
        stack
            .app
            .twilio
            .end_media_processor(&processor.sid)
            .await
            .unwrap();
    }
    stack.standin.clear_calls();
    let (status, after) = stack.call(Endpoint::AudienceToken, post_empty()).await;
    assert_eq!(
        (status, after["live"].as_bool()),
        (200, Some(false)),
        "{after}"
    );
    assert_eq!(stack.calls_to("GET", "/v1/MediaProcessors"), 1);
    assert_eq!(stack.calls_to("POST", "/PlaybackGrant"), 0);
}
