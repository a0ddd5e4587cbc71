//! Twilio Live resources: player streamers, playback grants, media processors, and how they
//! move together (processor starts its streamers; a completed room ends its processors but not
//! their streamers).

use serde_json::json;

use crate::common::{self, Api, s};

#[tokio::test]
async fn streamer_grant_and_processor_lifecycle() {
    let standin = common::start().await;
    let api = Api::new(&standin);
    let base = standin.base_url();
    api.create_room("livestream-live").await;

    let streamer = api.create_streamer().await;
    let vj = s(&streamer, "sid").to_owned();
    assert_eq!(s(&streamer, "status"), "created");
    assert_eq!(streamer["video"], true);
    assert_eq!(streamer["max_duration"], 300);
    assert!(streamer["ended_reason"].is_null());
    assert_eq!(
        s(&streamer, "url"),
        format!("{base}/v1/PlayerStreamers/{vj}")
    );
    assert_eq!(
        streamer["links"]["playback_grant"],
        format!("{base}/v1/PlayerStreamers/{vj}/PlaybackGrant")
    );

    let grant_path = format!("/v1/PlayerStreamers/{vj}/PlaybackGrant");
    let early = api.post(&grant_path, &[]).await;
    assert_eq!(
        early.status, 400,
        "no grant before the streamer starts: {:?}",
        early.body
    );
    let none_yet = api.get(&grant_path).await;
    assert_eq!((none_yet.status, none_yet.code()), (404, Some(20404)));

    let processor = api.create_processor("livestream-live", &vj).await;
    assert_eq!(processor.status, 201, "{:?}", processor.body);
    assert_eq!(processor.str("status"), "started");
    assert_eq!(processor.str("extension"), "video-composer-v2");
    assert_eq!(processor.body["max_duration"], 3600);
    let zx = processor.str("sid").to_owned();
    assert_eq!(
        api.get(&format!("/v1/PlayerStreamers/{vj}"))
            .await
            .str("status"),
        "started"
    );

    let grant = api
        .post(
            &grant_path,
            &[
                ("Ttl", "60"),
                ("AccessControlAllowOrigin", "https://example.com"),
            ],
        )
        .await;
    assert_eq!(grant.status, 201, "{:?}", grant.body);
    assert_eq!(grant.str("sid"), vj);
    assert_eq!(grant.str("url"), format!("{base}{grant_path}"));
    assert_eq!(grant.body["grant"]["playerStreamerSid"], vj.as_str());
    assert!(s(&grant.body["grant"], "playbackUrl").starts_with(&base));
    assert_eq!(api.get(&grant_path).await.body, grant.body);
    let info = standin.player_streamers().pop().expect("one streamer");
    assert_eq!((info.playback_grants, info.grant_ttl), (1, Some(60)));
    assert_eq!(
        info.grant_allow_origin.as_deref(),
        Some("https://example.com")
    );
    let default_ttl = api.post(&grant_path, &[]).await;
    assert_eq!(default_ttl.status, 201);
    assert_eq!(standin.player_streamers()[0].grant_ttl, Some(15));
    let too_long = api.post(&grant_path, &[("Ttl", "61")]).await;
    assert_eq!((too_long.status, too_long.code()), (400, Some(20001)));
    assert_eq!(standin.player_streamers()[0].playback_grants, 2);

    let ended_mp = api
        .post(&format!("/v1/MediaProcessors/{zx}"), &[("Status", "ended")])
        .await;
    assert_eq!(ended_mp.status, 200);
    assert_eq!(
        (ended_mp.str("status"), ended_mp.str("ended_reason")),
        ("ended", "ended-via-api")
    );
    assert_eq!(
        standin.player_streamers()[0].status,
        "started",
        "ending the processor leaves the streamer"
    );

    let ended = api
        .post(&format!("/v1/PlayerStreamers/{vj}"), &[("Status", "ended")])
        .await;
    assert_eq!(ended.status, 200);
    assert_eq!(
        (ended.str("status"), ended.str("ended_reason")),
        ("ended", "ended-via-api")
    );
    let late = api.post(&grant_path, &[]).await;
    assert_eq!(late.status, 400, "no grant for an ended streamer");
    let twice = api
        .post(&format!("/v1/PlayerStreamers/{vj}"), &[("Status", "ended")])
        .await;
    assert_eq!(
        (twice.status, twice.str("ended_reason")),
        (200, "ended-via-api")
    );
    let bad = api
        .post(
            &format!("/v1/PlayerStreamers/{vj}"),
            &[("Status", "started")],
        )
        .await;
    assert_eq!((bad.status, bad.code()), (400, Some(20001)));
    standin.shutdown().await;
}

#[tokio::test]
async fn a_processor_needs_an_in_progress_room_and_live_unfed_streamers() {
    let standin = common::start().await;
    let api = Api::new(&standin);
    let room_sid = s(&api.create_room("livestream-ok").await, "sid").to_owned();
    api.create_room("livestream-done").await;
    assert_eq!(
        api.post("/v1/Rooms/livestream-done", &[("Status", "completed")])
            .await
            .status,
        202
    );
    let vj = s(&api.create_streamer().await, "sid").to_owned();
    let ended = s(&api.create_streamer().await, "sid").to_owned();
    api.post(
        &format!("/v1/PlayerStreamers/{ended}"),
        &[("Status", "ended")],
    )
    .await;

    let unknown_room = api.create_processor("livestream-nope", &vj).await;
    assert_eq!(
        (unknown_room.status, unknown_room.code()),
        (404, Some(20404))
    );
    let completed_room = api.create_processor("livestream-done", &vj).await;
    assert_eq!(
        (completed_room.status, completed_room.code()),
        (400, Some(53112))
    );
    let unknown_vj = api
        .create_processor("livestream-ok", "VJ00000000000000000000000000000000")
        .await;
    assert_eq!((unknown_vj.status, unknown_vj.code()), (404, Some(20404)));
    let ended_vj = api.create_processor("livestream-ok", &ended).await;
    assert_eq!(ended_vj.status, 400);
    for context in [
        "not json".to_owned(),
        json!(["livestream-ok"]).to_string(),
        json!({"outputs": [vj]}).to_string(),
        json!({"room": {"name": "livestream-ok"}}).to_string(),
        json!({"room": {"name": "livestream-ok"}, "outputs": []}).to_string(),
        json!({"room": {"name": "livestream-ok"}, "outputs": [7]}).to_string(),
    ] {
        let reply = api
            .post(
                "/v1/MediaProcessors",
                &[
                    ("Extension", "video-composer-v2"),
                    ("ExtensionContext", &context),
                ],
            )
            .await;
        assert_eq!(
            (reply.status, reply.code()),
            (400, Some(20001)),
            "{context}"
        );
    }
    let no_extension = api
        .post(
            "/v1/MediaProcessors",
            &[(
                "ExtensionContext",
                &json!({"room": {"name": "livestream-ok"}, "outputs": [vj]}).to_string(),
            )],
        )
        .await;
    assert_eq!(no_extension.status, 400);
    assert!(standin.media_processors().is_empty());
    assert_eq!(
        standin.player_streamers()[0].status,
        "created",
        "failed attempts start nothing"
    );

    // The room may be named by its RM sid too.
    let by_sid = api.create_processor(&room_sid, &vj).await;
    assert_eq!(by_sid.status, 201, "{:?}", by_sid.body);
    let info = standin.media_processors().pop().expect("one processor");
    assert_eq!(info.room_sid.as_deref(), Some(room_sid.as_str()));
    assert_eq!(info.outputs, std::slice::from_ref(&vj));
    let second = api.create_processor("livestream-ok", &vj).await;
    assert_eq!(
        second.status, 400,
        "a streamer takes one processor at a time"
    );
    standin.shutdown().await;
}

#[tokio::test]
async fn completing_a_room_ends_its_processors_but_not_their_streamers() {
    let standin = common::start().await;
    let api = Api::new(&standin);
    api.create_room("livestream-a").await;
    api.create_room("livestream-b").await;
    let vj_a = s(&api.create_streamer().await, "sid").to_owned();
    let vj_b = s(&api.create_streamer().await, "sid").to_owned();
    let zx_a = api
        .create_processor("livestream-a", &vj_a)
        .await
        .str("sid")
        .to_owned();
    let zx_b = api
        .create_processor("livestream-b", &vj_b)
        .await
        .str("sid")
        .to_owned();

    assert_eq!(
        api.post("/v1/Rooms/livestream-a", &[("Status", "completed")])
            .await
            .status,
        202
    );

    let a = api.get(&format!("/v1/MediaProcessors/{zx_a}")).await;
    assert_eq!(a.str("status"), "ended");
    assert_eq!(a.str("ended_reason"), "room-ended");
    assert_eq!(
        api.get(&format!("/v1/MediaProcessors/{zx_b}"))
            .await
            .str("status"),
        "started"
    );
    for vj in [&vj_a, &vj_b] {
        let streamer = api.get(&format!("/v1/PlayerStreamers/{vj}")).await;
        assert_eq!(
            streamer.str("status"),
            "started",
            "streamers keep running until ended"
        );
    }
    let unknown = api
        .get("/v1/MediaProcessors/ZX00000000000000000000000000000000")
        .await;
    assert_eq!((unknown.status, unknown.code()), (404, Some(20404)));
    let unknown = api.get("/v1/PlayerStreamers/nonsense").await;
    assert_eq!((unknown.status, unknown.code()), (404, Some(20404)));
    standin.shutdown().await;
}
