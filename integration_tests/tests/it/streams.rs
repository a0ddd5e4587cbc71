//! Named streams against the stand-in: several live at once, each with its own room and its own
//! audience; the studio (a host session opens a stream's room, ready before the host goes live);
//! the `409`s of a name already on air; and `GET /status/<stream>` through the studio, live and
//! stop cycle, with the cache header and one Twilio lookup per cache window however many ask.

use std::time::Duration;

use onair_common::audience::{AudienceCache, Clock};
use onair_integration_tests::*;
use serde_json::{Value, json};

fn room_of(answer: &Value) -> String {
    answer["room"].as_str().expect("a room").to_owned()
}

fn in_progress(stack: &Stack, room: &str) -> bool {
    stack
        .standin
        .rooms()
        .iter()
        .any(|r| r.unique_name == room && r.status == "in-progress")
}

/// A stack whose audience cache goes by a manual clock and trusts an answer for `ttl_secs`.
async fn stack_with_manual_clock(mode: &str, ttl_secs: &str) -> (Stack, Clock) {
    let mut stack = Stack::start(&[
        ("AUDIENCE_MODE", mode),
        ("AUDIENCE_CACHE_SECONDS", ttl_secs),
    ])
    .await;
    let clock = Clock::manual();
    stack.app.audience = AudienceCache::with_clock(clock.clone());
    (stack, clock)
}

#[tokio::test]
async fn two_streams_are_live_at_once_each_with_its_own_audience() {
    let stack = Stack::room().await;
    // "talk" is a prefix of "talk-2": each room still names exactly its own stream.
    let a = stack.live_on("talk").await;
    let b = stack.live_on("talk-2").await;
    let (room_a, room_b) = (room_of(&a), room_of(&b));
    assert!(room_a.starts_with("livestream-talk-") && room_b.starts_with("livestream-talk-2-"));
    assert_eq!(a["audience_url"], "/?stream=talk");
    assert_eq!(b["audience_url"], "/?stream=talk-2");
    assert_ne!(room_a, room_b);

    for (stream, room) in [("talk", &room_a), ("talk-2", &room_b)] {
        for _ in 0..3 {
            let (status, viewer) = stack.audience(stream).await;
            assert_eq!(status, 200, "{viewer}");
            assert_eq!(
                (&viewer["live"], &viewer["state"], &viewer["stream"]),
                (&json!(true), &json!("live"), &json!(stream))
            );
            assert_eq!(
                viewer["room"],
                json!(room),
                "a viewer of {stream} gets its room only"
            );
            let identity = viewer["identity"].as_str().unwrap();
            assert_eq!(
                claims(viewer["token"].as_str().unwrap())["grants"]["video"]["room"],
                json!(room)
            );
            stack.standin.connect_participant(room, identity).unwrap();
            let token = viewer["token"].as_str().unwrap();
            let (status, _) = stack.call(Endpoint::Subscribe, bearer(token)).await;
            assert_eq!(status, 200);
            assert!(stack.standin.subscribe_rules(room, identity).is_some());
        }
    }
    // Nobody streams "main": its viewers wait.
    let (_, main) = stack.audience("main").await;
    assert_eq!(
        (&main["live"], &main["state"]),
        (&json!(false), &json!("offline"))
    );

    // Stopping one stream ends its room only; the other stays live for its viewers.
    let (status, stopped) = stack
        .call(Endpoint::StreamStop, bearer(a["token"].as_str().unwrap()))
        .await;
    assert_eq!(
        (status, &stopped["stream"]),
        (200, &json!("talk")),
        "{stopped}"
    );
    assert!(!in_progress(&stack, &room_a) && in_progress(&stack, &room_b));
    let (_, after_a) = stack.audience("talk").await;
    assert_eq!(
        (&after_a["live"], &after_a["state"]),
        (&json!(false), &json!("offline"))
    );
    let (_, after_b) = stack.audience("talk-2").await;
    assert_eq!(after_b["room"], json!(room_b));
    let (_, _, status_b) = stack.status_of("talk-2").await;
    assert_eq!(
        (&status_b["state"], &status_b["viewers"]),
        (&json!("live"), &json!(3))
    );
}

#[tokio::test]
async fn in_live_mode_each_stream_has_its_own_player_streamer() {
    let stack = Stack::live().await;
    let a = stack.live_on("talk").await;
    let b = stack.live_on("talk-2").await;
    let mut streamers = Vec::new();
    for (stream, login) in [("talk", &a), ("talk-2", &b)] {
        let (status, viewer) = stack.audience(stream).await;
        assert_eq!((status, &viewer["live"]), (200, &json!(true)), "{viewer}");
        assert_eq!(viewer["room"], login["room"]);
        let grant = &claims(viewer["token"].as_str().unwrap())["grants"]["player"];
        let streamer = grant["playerStreamerSid"].as_str().unwrap().to_owned();
        let feeding = stack
            .standin
            .media_processors()
            .into_iter()
            .find(|mp| mp.outputs.contains(&streamer))
            .unwrap();
        assert_eq!(feeding.room_name.as_deref(), login["room"].as_str());
        streamers.push(streamer);
    }
    assert_ne!(streamers[0], streamers[1]);
}

#[tokio::test]
async fn a_name_on_air_is_a_409_for_the_next_studio_and_changes_nothing() {
    let stack = Stack::room().await;
    let live = stack.live_on("talk").await;
    let session = stack.host_session().await;
    let rooms_before = stack.standin.rooms().len();

    let (status, body) = stack.open_studio(&session, "talk").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("conflict")),
        "{body}"
    );
    assert!(body["error"]["message"].as_str().unwrap().contains("talk"));
    // The same with the password, as the original API logs in.
    let (status, _) = stack
        .call(
            Endpoint::HostToken,
            post_json(json!({ "password": HOST_PASSWORD, "stream": "talk" })),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(
        stack.standin.rooms().len(),
        rooms_before,
        "no room was made"
    );
    assert!(in_progress(&stack, &room_of(&live)));

    // Another name is free.
    let (status, other) = stack.open_studio(&session, "talk-b").await;
    assert_eq!(status, 200, "{other}");
}

#[tokio::test]
async fn the_last_one_into_the_studio_replaces_a_ready_room() {
    let stack = Stack::room().await;
    let session = stack.host_session().await;
    let (status, first) = stack.open_studio(&session, "talk").await;
    assert_eq!(status, 200, "{first}");
    let (_, _, ready) = stack.status_of("talk").await;
    assert_eq!(
        (&ready["state"], &ready["room"]),
        (&json!("ready"), &first["room"])
    );

    let (status, second) = stack.open_studio(&session, "talk").await;
    assert_eq!(status, 200, "{second}");
    assert!(
        !in_progress(&stack, &room_of(&first)),
        "the first studio's room ended"
    );
    assert!(in_progress(&stack, &room_of(&second)));
    let (_, _, ready) = stack.status_of("talk").await;
    assert_eq!(
        (&ready["state"], &ready["room"]),
        (&json!("ready"), &second["room"])
    );
    // The first studio's token is for a room that ended: it cannot start.
    stack
        .standin
        .connect_participant(&room_of(&first), "presenter")
        .expect_err("a completed room takes nobody");
    let (status, _) = stack
        .call(
            Endpoint::StreamStart,
            bearer(first["token"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn of_two_rooms_of_one_stream_the_first_on_air_wins() {
    let stack = Stack::room().await;
    let session = stack.host_session().await;
    let (_, first) = stack.open_studio(&session, "talk").await;
    // A second studio that opened at the same moment: its room exists beside the first.
    let name = onair_common::ids::RoomName::for_stream(
        &onair_common::ids::StreamName::parse("talk").unwrap(),
    );
    let bounds = onair_common::stream::room_bounds(&stack.app.settings);
    stack
        .app
        .twilio
        .create_room(&name, &bounds, None)
        .await
        .unwrap();
    let second = name.as_str();
    let token = |room: &str| {
        signed_token(
            &stack,
            json!({ "identity": "presenter", "video": { "room": room } }),
            600,
            &stack.standin.account().api_key_secret.clone(),
        )
    };

    // The first studio's host connects first, the second's a second later.
    stack
        .standin
        .connect_participant(&room_of(&first), "presenter")
        .unwrap();
    stack.standin.advance_clock(Duration::from_secs(1));
    stack
        .standin
        .connect_participant(second, "presenter")
        .unwrap();

    let (status, body) = stack
        .call(Endpoint::StreamStart, bearer(&token(second)))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("conflict")),
        "{body}"
    );
    let (status, body) = stack
        .call(
            Endpoint::StreamStart,
            bearer(first["token"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["stream"]["name"], "talk");
}

#[tokio::test]
async fn status_follows_the_studio_live_and_stop_cycle() {
    let stack = Stack::room().await;
    let expect = |answer: (u16, http::HeaderMap, Value), state: &str| {
        let (status, headers, body) = answer;
        assert_eq!(status, 200, "{body}");
        assert_eq!(headers["cache-control"], "public, max-age=1");
        assert_eq!(
            (&body["stream"], &body["state"]),
            (&json!("talk"), &json!(state)),
            "{body}"
        );
        body
    };

    let offline = expect(stack.status_of("talk").await, "offline");
    assert_eq!(offline, json!({ "stream": "talk", "state": "offline" }));

    let session = stack.host_session().await;
    let (_, login) = stack.open_studio(&session, "talk").await;
    let room = room_of(&login);
    let ready = expect(stack.status_of("talk").await, "ready");
    assert_eq!(
        (&ready["room"], &ready["viewers"]),
        (&json!(room), &json!(0))
    );
    assert!(ready.get("started_at").is_none());

    // Viewers join the ready room and wait for the host there.
    let (_, viewer) = stack.audience("talk").await;
    assert_eq!(
        (&viewer["live"], &viewer["state"]),
        (&json!(true), &json!("ready"))
    );
    assert_eq!(viewer["room"], json!(room));
    stack
        .standin
        .connect_participant(&room, viewer["identity"].as_str().unwrap())
        .unwrap();
    let (status, _) = stack
        .call(
            Endpoint::Subscribe,
            bearer(viewer["token"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, 200, "rules are set before the host arrives");
    let waiting = expect(stack.status_of("talk").await, "ready");
    assert_eq!(waiting["viewers"], 1);

    stack
        .standin
        .connect_participant(&room, "presenter")
        .unwrap();
    let live = expect(stack.status_of("talk").await, "live");
    assert_eq!((&live["room"], &live["viewers"]), (&json!(room), &json!(1)));
    let started_at = live["started_at"].as_u64().unwrap();
    assert!(started_at.abs_diff(stack.twilio_now()) <= 2, "{started_at}");

    let token = login["token"].as_str().unwrap();
    let (status, _) = stack.call(Endpoint::StreamStart, bearer(token)).await;
    assert_eq!(status, 200);
    expect(stack.status_of("talk").await, "live");
    let (status, _) = stack.call(Endpoint::StreamStop, bearer(token)).await;
    assert_eq!(status, 200);
    expect(stack.status_of("talk").await, "offline");
}

#[tokio::test]
async fn in_live_mode_status_is_live_once_the_stream_started() {
    let stack = Stack::live().await;
    let login = stack.host_connected_to("talk").await;
    let (_, _, ready) = stack.status_of("talk").await;
    assert_eq!(
        ready["state"], "ready",
        "connected, nothing to play yet: {ready}"
    );
    stack
        .call(
            Endpoint::StreamStart,
            bearer(login["token"].as_str().unwrap()),
        )
        .await;
    let (_, _, live) = stack.status_of("talk").await;
    assert_eq!(
        (&live["state"], &live["room"]),
        (&json!("live"), &login["room"])
    );
    assert!(
        live.get("viewers").is_none() && live["started_at"].is_u64(),
        "{live}"
    );
}

#[tokio::test]
async fn a_crowd_asking_for_status_costs_one_lookup_per_cache_window() {
    let (stack, clock) = stack_with_manual_clock("room", "1").await;
    stack.live_on("talk").await;
    stack.standin.clear_calls();

    // 1,000 requests over 5 s (as many containers would see through the edge cache, and more):
    // a window is 1 s, each costs one list of rooms and one list of the room's participants.
    for _ in 0..1000 {
        let (status, _, body) = stack.status_of("talk").await;
        assert_eq!((status, &body["state"]), (200, &json!("live")));
        clock.advance(Duration::from_millis(5));
    }
    assert_eq!(stack.calls_to("GET", "/Participants"), 5);
    assert_eq!(stack.twilio_calls(), 10, "{:?}", stack.standin.calls());

    // audience_token in the same container shares the answer.
    stack.status_of("talk").await;
    stack.standin.clear_calls();
    let (_, viewer) = stack.audience("talk").await;
    assert_eq!(viewer["live"], true);
    assert_eq!(stack.twilio_calls(), 0);

    // Names nobody streams cost nothing beyond the shared list of rooms, and are not kept.
    clock.advance(Duration::from_secs(1));
    stack.standin.clear_calls();
    for n in 0..500 {
        let (status, _, body) = stack.status_of(&format!("nobody-{n}")).await;
        assert_eq!((status, &body["state"]), (200, &json!("offline")));
    }
    assert_eq!(stack.twilio_calls(), 1, "{:?}", stack.standin.calls());
    assert_eq!(
        stack.app.audience.streams_remembered(),
        1,
        "only the stream with a room"
    );
}

#[tokio::test]
async fn a_twilio_failure_is_a_short_lived_cacheable_502() {
    let (stack, clock) = stack_with_manual_clock("room", "1").await;
    stack.live_on("talk").await;
    stack.standin.clear_calls();
    stack.standin.inject(fault(
        "GET",
        "/v1/Rooms",
        1,
        twilio_standin::FaultAction::Status(500),
    ));
    for _ in 0..50 {
        let (status, headers, body) = stack.status_of("talk").await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (502, Some("upstream_error"))
        );
        assert_eq!(headers["retry-after"], "1");
        assert_eq!(headers["cache-control"], "public, max-age=1");
    }
    assert_eq!(
        stack.twilio_calls(),
        1,
        "one try, remembered for the window"
    );
    clock.advance(Duration::from_secs(1));
    let (status, _, body) = stack.status_of("talk").await;
    assert_eq!((status, &body["state"]), (200, &json!("live")));
}
