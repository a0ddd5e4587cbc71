//! The clock tests advance: every timeout applies at its exact moment, including cascades
//! after one large jump.

use std::time::Duration;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::common::{self, Api, s};

fn at(iso: &str) -> OffsetDateTime {
    OffsetDateTime::parse(iso, &Rfc3339).expect("an ISO-8601 time")
}

fn secs_between(from: &str, to: &str) -> i64 {
    (at(to) - at(from)).whole_seconds()
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[tokio::test]
async fn a_room_nobody_joins_completes_after_unused_room_timeout() {
    let standin = common::start().await;
    let api = Api::new(&standin);
    let room = api
        .post(
            "/v1/Rooms",
            &[
                ("UniqueName", "unused"),
                ("UnusedRoomTimeout", "2"),
                ("EmptyRoomTimeout", "1"),
            ],
        )
        .await
        .body;
    standin.advance_clock(secs(110));
    assert_eq!(standin.rooms()[0].status, "in-progress");
    standin.advance_clock(secs(15));
    let fetched = api
        .get(&format!("/v1/Rooms/{}", s(&room, "sid")))
        .await
        .body;
    assert_eq!(s(&fetched, "status"), "completed");
    assert_eq!(
        secs_between(s(&room, "date_created"), s(&fetched, "end_time")),
        120
    );
    assert_eq!(fetched["duration"], 120);
    standin.shutdown().await;
}

#[tokio::test]
async fn a_room_completes_after_empty_room_timeout_from_the_last_leave() {
    let standin = common::start().await;
    let api = Api::new(&standin);
    api.post(
        "/v1/Rooms",
        &[
            ("UniqueName", "empty"),
            ("EmptyRoomTimeout", "1"),
            ("UnusedRoomTimeout", "1"),
        ],
    )
    .await;
    let vj = api
        .post("/v1/PlayerStreamers", &[("MaxDuration", "3600")])
        .await
        .str("sid")
        .to_owned();
    let mp = api
        .create_processor("empty", &vj)
        .await
        .str("sid")
        .to_owned();
    standin.connect_participant("empty", "host").expect("joins");
    standin.advance_clock(secs(600));
    assert_eq!(
        standin.rooms()[0].status,
        "in-progress",
        "a used room ignores UnusedRoomTimeout"
    );

    assert!(standin.disconnect_participant("empty", "host"));
    let left = standin.participants("empty")[0]
        .end_time
        .clone()
        .expect("end time");
    standin.advance_clock(secs(50));
    assert_eq!(standin.rooms()[0].status, "in-progress");
    // Rejoining inside the window cancels it; leaving again restarts it.
    standin
        .connect_participant("empty", "host")
        .expect("rejoins");
    standin.advance_clock(secs(120));
    assert_eq!(standin.rooms()[0].status, "in-progress");
    assert!(standin.disconnect_participant("empty", "host"));
    let left_again = standin.participants("empty")[1]
        .end_time
        .clone()
        .expect("end time");
    assert_eq!(secs_between(&left, &left_again), 170);
    standin.advance_clock(secs(61));
    let room = &standin.rooms()[0];
    assert_eq!(room.status, "completed");
    assert_eq!(
        secs_between(&left_again, room.end_time.as_deref().unwrap_or("")),
        60
    );

    // The timeout ends the room's processor like an API completion would.
    let processor = api.get(&format!("/v1/MediaProcessors/{mp}")).await;
    assert_eq!(processor.str("status"), "ended");
    assert_eq!(standin.player_streamers()[0].status, "started");
    standin.shutdown().await;
}

#[tokio::test]
async fn a_participant_is_disconnected_after_max_participant_duration_and_the_room_follows() {
    let standin = common::start().await;
    let api = Api::new(&standin);
    let room = api
        .post(
            "/v1/Rooms",
            &[
                ("UniqueName", "long"),
                ("MaxParticipantDuration", "600"),
                ("EmptyRoomTimeout", "5"),
            ],
        )
        .await
        .body;
    standin.connect_participant("long", "host").expect("joins");
    standin.advance_clock(secs(599));
    assert_eq!(standin.participants("long")[0].status, "connected");
    standin.advance_clock(secs(2));
    let host = api
        .get(&format!("/v1/Rooms/{}/Participants/host", s(&room, "sid")))
        .await
        .body;
    assert_eq!(s(&host, "status"), "disconnected");
    assert_eq!(host["duration"], 600);

    // One big jump: the next participant times out, then the empty room completes, in order.
    standin.connect_participant("long", "guest").expect("joins");
    let joined = standin.participants("long")[1].start_time.clone();
    standin.advance_clock(secs(600 + 5 * 60 + 30));
    let guest = &standin.participants("long")[1];
    assert_eq!(guest.status, "disconnected");
    assert_eq!(
        secs_between(&joined, guest.end_time.as_deref().unwrap_or("")),
        600
    );
    let completed = &standin.rooms()[0];
    assert_eq!(completed.status, "completed");
    assert_eq!(
        secs_between(&joined, completed.end_time.as_deref().unwrap_or("")),
        900
    );
    standin.shutdown().await;
}

#[tokio::test]
async fn streamers_and_processors_end_after_their_max_duration() {
    let standin = common::start().await;
    let api = Api::new(&standin);
    api.post(
        "/v1/Rooms",
        &[("UniqueName", "live"), ("UnusedRoomTimeout", "60")],
    )
    .await;
    let vj = api
        .post("/v1/PlayerStreamers", &[("MaxDuration", "60")])
        .await
        .str("sid")
        .to_owned();
    let context = serde_json::json!({"room": {"name": "live"}, "outputs": [vj]}).to_string();
    let mp = api
        .post(
            "/v1/MediaProcessors",
            &[
                ("Extension", "video-composer-v2"),
                ("ExtensionContext", &context),
                ("MaxDuration", "30"),
            ],
        )
        .await;
    assert_eq!(mp.status, 201);
    let zx = mp.str("sid").to_owned();

    standin.advance_clock(secs(29));
    assert_eq!(standin.media_processors()[0].status, "started");
    standin.advance_clock(secs(2));
    let ended = api.get(&format!("/v1/MediaProcessors/{zx}")).await;
    assert_eq!(
        (ended.str("status"), ended.str("ended_reason")),
        ("ended", "max-duration-exceeded")
    );
    assert_eq!(standin.player_streamers()[0].status, "started");

    standin.advance_clock(secs(30));
    let streamer = api.get(&format!("/v1/PlayerStreamers/{vj}")).await;
    assert_eq!(
        (streamer.str("status"), streamer.str("ended_reason")),
        ("ended", "max-duration-exceeded")
    );
    let listed = api.get("/v1/PlayerStreamers?Status=ended").await.body;
    assert_eq!(listed["player_streamers"].as_array().map(Vec::len), Some(1));
    // A streamer never started also ends on time.
    let idle = api
        .post("/v1/PlayerStreamers", &[("MaxDuration", "10")])
        .await
        .str("sid")
        .to_owned();
    standin.advance_clock(secs(11));
    assert_eq!(
        api.get(&format!("/v1/PlayerStreamers/{idle}"))
            .await
            .str("status"),
        "ended"
    );
    standin.shutdown().await;
}

#[tokio::test]
async fn now_unix_follows_the_advanced_clock_and_matches_twilio_dates() {
    let standin = common::start().await;
    let api = Api::new(&standin);
    let before = standin.now_unix();
    standin.advance_clock(secs(3600));
    let after = standin.now_unix();
    assert!(
        (3600..3603).contains(&(after - before)),
        "{before} -> {after}"
    );
    let room = api.create_room("dated").await;
    let created = at(s(&room, "date_created")).unix_timestamp() as u64;
    assert!(
        created.abs_diff(standin.now_unix()) <= 1,
        "date_created uses the same clock"
    );
    standin.shutdown().await;
}
