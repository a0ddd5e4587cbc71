//! The reaper against the stand-in: rooms past the longest stream or without their host are
//! completed; Live resources of rooms that are gone, and streamers never fed, are ended; live
//! streams are left alone.

use std::time::Duration;

use onair_common::ids::RoomName;
use onair_integration_tests::*;

#[tokio::test]
async fn the_reaper_leaves_a_healthy_stream_alone() {
    let stack = Stack::live().await;
    stack.live_stream().await;
    stack.standin.advance_clock(Duration::from_secs(600));
    let report = reaper::reap(&stack.app, stack.twilio_now()).await;
    assert_eq!(report, reaper::Report::default());
    assert_eq!(
        (
            stack.active_rooms(),
            stack.running_processors(),
            stack.running_streamers()
        ),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn rooms_without_their_host_are_completed_after_the_grace_period() {
    let stack = Stack::live().await;
    let login = stack.live_stream().await;
    let room = login["room"].as_str().unwrap();
    // The host's tab crashed; a viewer keeps the room from emptying.
    stack.standin.connect_participant(room, "viewer-1").unwrap();
    stack.standin.disconnect_participant(room, "presenter");

    assert_eq!(
        reaper::reap(&stack.app, stack.twilio_now()).await,
        reaper::Report::default(),
        "within the grace period"
    );
    stack
        .standin
        .advance_clock(Duration::from_secs(reaper::GRACE_SECS + 1));
    let report = reaper::reap(&stack.app, stack.twilio_now()).await;
    assert_eq!(report.rooms_completed, vec![RoomName::parse(room).unwrap()]);
    assert_eq!(report.media_processors_ended.len(), 1);
    assert_eq!(report.player_streamers_ended.len(), 1);
    assert_eq!(
        (
            stack.active_rooms(),
            stack.running_processors(),
            stack.running_streamers()
        ),
        (0, 0, 0)
    );
}

#[tokio::test]
async fn rooms_past_the_longest_stream_are_completed_even_with_the_host() {
    let stack = Stack::start(&[("STREAM_MAX_MINUTES", "10")]).await;
    let login = stack.host_connected().await;
    stack.standin.advance_clock(Duration::from_secs(590));
    assert!(
        reaper::reap(&stack.app, stack.twilio_now())
            .await
            .rooms_completed
            .is_empty()
    );
    // The stand-in disconnects the host at MaxParticipantDuration anyway; the reaper completes
    // the room at the same bound even if a viewer still holds it open.
    stack
        .standin
        .connect_participant(login["room"].as_str().unwrap(), "viewer-9")
        .unwrap();
    stack.standin.advance_clock(Duration::from_secs(11));
    let report = reaper::reap(&stack.app, stack.twilio_now()).await;
    assert_eq!(
        report.rooms_completed,
        vec![RoomName::parse(login["room"].as_str().unwrap()).unwrap()]
    );
    assert_eq!(stack.active_rooms(), 0);
}

#[tokio::test]
async fn live_resources_of_a_room_that_ended_by_itself_are_ended() {
    let stack = Stack::live().await;
    let login = stack.live_stream().await;
    let room = login["room"].as_str().unwrap();
    // Everyone leaves: Twilio completes the room after EmptyRoomTimeout; the streamer bills on.
    stack.standin.disconnect_participant(room, "presenter");
    stack.standin.advance_clock(Duration::from_secs(61));
    assert_eq!(stack.active_rooms(), 0);
    assert_eq!(
        stack.running_streamers(),
        1,
        "Twilio keeps the streamer running"
    );
    assert!(
        reaper::reap(&stack.app, stack.twilio_now())
            .await
            .player_streamers_ended
            .is_empty(),
        "within the grace period"
    );
    stack
        .standin
        .advance_clock(Duration::from_secs(reaper::GRACE_SECS));

    let report = reaper::reap(&stack.app, stack.twilio_now()).await;
    assert_eq!(report.player_streamers_ended.len(), 1, "{report:?}");
    assert_eq!(stack.running_streamers(), 0);
}

#[tokio::test]
async fn unfed_player_streamers_are_ended_after_the_grace_period() {
    let stack = Stack::live().await;
    let login = stack.host_connected().await;
    // A start cut off between its two creates: the streamer exists, no processor feeds it.
    stack.standin.inject(fault(
        "POST",
        "/v1/PlayerStreamers/",
        3,
        twilio_standin::FaultAction::Status(500),
    ));
    stack.standin.inject(fault(
        "POST",
        "/v1/MediaProcessors",
        1,
        twilio_standin::FaultAction::Status(500),
    ));
    let (status, _) = stack
        .call(
            Endpoint::StreamStart,
            bearer(login["token"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, 502);
    assert_eq!(stack.running_streamers(), 1, "compensation failed too");

    assert!(
        reaper::reap(&stack.app, stack.twilio_now())
            .await
            .player_streamers_ended
            .is_empty(),
        "too young to judge"
    );
    stack
        .standin
        .advance_clock(Duration::from_secs(reaper::GRACE_SECS + 1));
    let report = reaper::reap(&stack.app, stack.twilio_now()).await;
    assert_eq!(report.player_streamers_ended.len(), 1, "{report:?}");
    assert_eq!(stack.running_streamers(), 0);
    assert_eq!(
        stack.active_rooms(),
        1,
        "the host is still connected: the room stays"
    );
}
