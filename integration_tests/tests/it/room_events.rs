//! `room_events`: Twilio's signed room status callbacks end a room's Live resources at once,
//! without waiting for the reaper; anything unsigned or mis-signed is refused without a Twilio
//! call. The last test runs the whole loop: the stand-in's own signed callbacks reach the
//! handler over real HTTP.

use std::time::{Duration, Instant};

use onair_integration_tests::events_server::{self, EventsServer};
use onair_integration_tests::*;
use twilio_standin::Account;

/// Where these tests tell Twilio to send callbacks (the stand-in only delivers to loopback
/// addresses, so nothing goes out).
const EVENTS_URL: &str = "https://onair.test/room_events";

fn auth_token() -> String {
    Account::for_tests().auth_token
}

/// A live-mode stack that verifies callbacks sent to `url`.
async fn live_with_callbacks(url: &str) -> Stack {
    let token = auth_token();
    Stack::start(&[
        ("AUDIENCE_MODE", "live"),
        ("TWILIO_AUTH_TOKEN", &token),
        ("ROOM_EVENTS_URL", url),
    ])
    .await
}

/// The parameters of a room status callback, as Twilio sends them.
fn event(name: &str, room: &str) -> Vec<(String, String)> {
    [
        ("AccountSid", Account::for_tests().account_sid.as_str()),
        ("RoomName", room),
        ("RoomSid", "RM0123456789abcdef0123456789abcdef"),
        ("RoomStatus", "completed"),
        ("RoomType", "group"),
        ("StatusCallbackEvent", name),
        ("Timestamp", "2026-12-01T20:00:00.000Z"),
        ("SequenceNumber", "3"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The callback signed as Twilio signs it, with the stand-in's independent implementation.
fn signed(url: &str, params: &[(String, String)]) -> lambda_http::Request {
    let signature = twilio_standin::signature(&auth_token(), url, params);
    post_form(params, Some(&signature))
}

/// Sends `params` to `room_events` as Twilio would, signed for [`EVENTS_URL`].
async fn deliver(stack: &Stack, params: &[(String, String)]) -> (u16, serde_json::Value) {
    stack
        .call(Endpoint::RoomEvents, signed(EVENTS_URL, params))
        .await
}

/// Started MediaProcessors and running PlayerStreamers.
fn live_counts(stack: &Stack) -> (usize, usize) {
    (stack.running_processors(), stack.running_streamers())
}

fn running_streamer_sids(stack: &Stack) -> Vec<String> {
    stack
        .standin
        .player_streamers()
        .into_iter()
        .filter(|s| s.status != "ended")
        .map(|s| s.sid)
        .collect()
}

#[tokio::test]
async fn rooms_get_a_status_callback_only_when_callbacks_can_be_verified() {
    let stack = live_with_callbacks(EVENTS_URL).await;
    stack.host_login().await;
    let rooms = stack.standin.rooms();
    assert_eq!(rooms[0].status_callback.as_deref(), Some(EVENTS_URL));
    assert_eq!(rooms[0].status_callback_method, "POST");

    // Without the auth token nothing could verify the callbacks: none are asked for.
    let stack = Stack::start(&[("ROOM_EVENTS_URL", EVENTS_URL)]).await;
    stack.host_login().await;
    assert_eq!(stack.standin.rooms()[0].status_callback, None);
}

#[tokio::test]
async fn a_signed_room_ended_ends_the_rooms_live_resources_at_once() {
    let stack = live_with_callbacks(EVENTS_URL).await;
    let login = stack.live_stream().await;
    let room = login["room"].as_str().unwrap();
    // Another room's stream must survive.
    let other = stack.live_stream().await;
    assert_eq!(live_counts(&stack), (2, 2));
    let processor = stack
        .standin
        .media_processors()
        .into_iter()
        .find(|mp| mp.room_name.as_deref() == Some(room))
        .unwrap();

    let (status, body) = deliver(&stack, &event("room-ended", room)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["event"], "room-ended");
    assert_eq!(body["room"], room);
    assert_eq!(
        body["ended"]["media_processors"],
        serde_json::json!([processor.sid])
    );
    assert_eq!(
        body["ended"]["player_streamers"],
        serde_json::json!(processor.outputs)
    );
    assert_eq!(live_counts(&stack), (1, 1));
    let survivor = stack
        .standin
        .media_processors()
        .into_iter()
        .find(|mp| mp.status == "started")
        .unwrap();
    assert_eq!(survivor.room_name.as_deref(), other["room"].as_str());
}

#[tokio::test]
async fn the_player_streamer_is_ended_even_when_twilio_already_stopped_the_processor() {
    let stack = live_with_callbacks(EVENTS_URL).await;
    let login = stack.live_stream().await;
    let room = login["room"].as_str().unwrap();
    // The room ends by itself: the host leaves and the empty-room timeout passes. Twilio ends
    // the MediaProcessor with the room; the PlayerStreamer would bill on until the reaper.
    assert!(stack.standin.disconnect_participant(room, "presenter"));
    stack.standin.advance_clock(Duration::from_secs(61));
    assert_eq!(stack.active_rooms(), 0);
    assert_eq!(live_counts(&stack), (0, 1));
    let streamer = running_streamer_sids(&stack);

    let (status, body) = deliver(&stack, &event("room-ended", room)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ended"]["media_processors"], serde_json::json!([]));
    assert_eq!(
        body["ended"]["player_streamers"],
        serde_json::json!(streamer)
    );
    assert_eq!(stack.running_streamers(), 0);
}

#[tokio::test]
async fn a_repeated_room_ended_ends_nothing_more() {
    let stack = live_with_callbacks(EVENTS_URL).await;
    let login = stack.live_stream().await;
    let room = login["room"].as_str().unwrap();
    let callback = event("room-ended", room);
    let (status, _) = deliver(&stack, &callback).await;
    assert_eq!(status, 200);
    assert_eq!(stack.running_streamers(), 0);

    stack.standin.clear_calls();
    let (status, body) = deliver(&stack, &callback).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ended"]["media_processors"], serde_json::json!([]));
    assert_eq!(body["ended"]["player_streamers"], serde_json::json!([]));
    assert_eq!(
        stack.calls_to("POST", "/v1/"),
        0,
        "nothing is ended twice: {:?}",
        stack.standin.calls()
    );
}

#[tokio::test]
async fn unsigned_mis_signed_or_misaddressed_callbacks_are_refused_without_a_twilio_call() {
    let stack = live_with_callbacks(EVENTS_URL).await;
    let login = stack.live_stream().await;
    let room = login["room"].as_str().unwrap();
    let params = event("room-ended", room);
    let good = twilio_standin::signature(&auth_token(), EVENTS_URL, &params);
    let mut tampered = params.clone();
    tampered[1].1 = "livestream-someoneelse".into();
    let cases: Vec<(&str, lambda_http::Request)> = vec![
        ("unsigned", post_form(&params, None)),
        ("empty signature", post_form(&params, Some(""))),
        ("garbage", post_form(&params, Some("not-a-signature"))),
        ("parameters changed", post_form(&tampered, Some(&good))),
        (
            "signed for another URL",
            signed("https://attacker.example/room_events", &params),
        ),
        (
            "signed with another auth token",
            post_form(
                &params,
                Some(&twilio_standin::signature(
                    "ffffffffffffffffffffffffffffffff",
                    EVENTS_URL,
                    &params,
                )),
            ),
        ),
    ];
    stack.standin.clear_calls();
    for (what, req) in cases {
        let (status, body) = stack.call(Endpoint::RoomEvents, req).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("unauthorized")),
            "{what}: {body}"
        );
    }
    assert_eq!(stack.twilio_calls(), 0, "{:?}", stack.standin.calls());
    assert_eq!(live_counts(&stack), (1, 1));
}

#[tokio::test]
async fn bad_bodies_are_refused_before_anything_else() {
    let stack = live_with_callbacks(EVENTS_URL).await;
    stack.standin.clear_calls();
    let json = post_json(serde_json::json!({ "StatusCallbackEvent": "room-ended" }));
    let (status, body) = stack.call(Endpoint::RoomEvents, json).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (415, Some("unsupported_media_type"))
    );
    let huge = vec![("Filler".to_owned(), "x".repeat(20 * 1024))];
    let (status, body) = deliver(&stack, &huge).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("too_large"))
    );
    assert_eq!(stack.twilio_calls(), 0);
}

#[tokio::test]
async fn without_an_auth_token_callbacks_are_unavailable() {
    let stack = Stack::start(&[("AUDIENCE_MODE", "live"), ("ROOM_EVENTS_URL", EVENTS_URL)]).await;
    stack.live_stream().await;
    let room = stack.standin.rooms()[0].unique_name.clone();
    stack.standin.clear_calls();
    let (status, body) = deliver(&stack, &event("room-ended", &room)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("unavailable")),
        "{body}"
    );
    assert!(!body.to_string().contains(&auth_token()));
    assert_eq!(stack.twilio_calls(), 0);
    assert_eq!(stack.running_streamers(), 1);
}

#[tokio::test]
async fn other_events_rooms_and_modes_are_acknowledged_and_change_nothing() {
    let stack = live_with_callbacks(EVENTS_URL).await;
    let login = stack.live_stream().await;
    let room = login["room"].as_str().unwrap();
    stack.standin.clear_calls();
    for params in [
        event("room-ended", "someone-elses-room"),
        event("room-ended", "livestream-has spaces"),
        event("participant-disconnected", room),
        event("room-created", room),
        vec![],
    ] {
        let (status, body) = deliver(&stack, &params).await;
        assert_eq!(status, 200, "{params:?}: {body}");
        assert_eq!(body["ended"]["player_streamers"], serde_json::json!([]));
    }
    assert_eq!(stack.twilio_calls(), 0);
    assert_eq!(live_counts(&stack), (1, 1));

    // Room mode has no Live resources: a room-ended costs no Twilio call.
    let token = auth_token();
    let stack = Stack::start(&[
        ("TWILIO_AUTH_TOKEN", &token),
        ("ROOM_EVENTS_URL", EVENTS_URL),
    ])
    .await;
    let login = stack.host_connected().await;
    stack.standin.clear_calls();
    let room = login["room"].as_str().unwrap();
    let (status, body) = deliver(&stack, &event("room-ended", room)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["room"], login["room"]);
    assert_eq!(stack.twilio_calls(), 0);
}

/// Waits until `done` holds, failing the test after `limit`.
async fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stand_ins_own_signed_callbacks_end_the_stream_end_to_end() {
    let (listener, url) = events_server::bind().await;
    let token = auth_token();
    let extra = [
        ("AUDIENCE_MODE", "live"),
        ("TWILIO_AUTH_TOKEN", token.as_str()),
        ("ROOM_EVENTS_URL", url.as_str()),
    ];
    let stack = Stack::start(&extra).await;
    let _server = EventsServer::serve(listener, app_for(&stack.standin, &extra));

    let login = stack.live_stream().await;
    let room = login["room"].as_str().unwrap().to_owned();
    assert_eq!(stack.running_streamers(), 1);
    // The host leaves and the room closes by itself a minute later (EmptyRoomTimeout).
    assert!(stack.standin.disconnect_participant(&room, "presenter"));
    stack.standin.advance_clock(Duration::from_secs(61));
    assert_eq!(stack.active_rooms(), 0);

    wait_until(Duration::from_secs(10), "the PlayerStreamer to end", || {
        stack.running_streamers() == 0
    })
    .await;
    wait_until(Duration::from_secs(10), "four callbacks", || {
        stack.standin.callbacks().len() == 4
    })
    .await;
    let callbacks = stack.standin.callbacks();
    let events: Vec<&str> = callbacks.iter().map(|c| c.event.as_str()).collect();
    assert_eq!(
        events,
        [
            "room-created",
            "participant-connected",
            "participant-disconnected",
            "room-ended"
        ]
    );
    for (i, callback) in callbacks.iter().enumerate() {
        assert_eq!(callback.url, url);
        assert_eq!(callback.param("RoomName"), Some(room.as_str()));
        assert_eq!(
            callback.param("SequenceNumber"),
            Some(i.to_string().as_str())
        );
        assert_eq!(callback.status, Some(200), "{callback:?}");
    }
    let ended = stack
        .standin
        .player_streamers()
        .into_iter()
        .find(|s| s.status == "ended")
        .unwrap();
    // Ended through the API by the callback's handler (this test never runs the reaper).
    assert_eq!(ended.ended_reason.as_deref(), Some("ended-via-api"));
}

#[tokio::test]
async fn when_twilio_fails_one_step_the_others_still_run_and_the_answer_is_502() {
    let stack = live_with_callbacks(EVENTS_URL).await;
    let login = stack.live_stream().await;
    let room = login["room"].as_str().unwrap();
    // Every attempt to end the MediaProcessor fails (the client's retries included).
    stack.standin.inject(fault(
        "POST",
        "/v1/MediaProcessors/",
        10,
        twilio_standin::FaultAction::Status(500),
    ));
    let (status, body) = deliver(&stack, &event("room-ended", room)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (502, Some("upstream_error")),
        "{body}"
    );
    // The PlayerStreamer, which bills, was still ended; the processor is left to its
    // MaxDuration, the reaper, or Twilio's retry of the callback.
    assert_eq!(live_counts(&stack), (1, 0));
    stack.standin.clear_faults();
    let (status, body) = deliver(&stack, &event("room-ended", room)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(live_counts(&stack), (0, 0));
}
