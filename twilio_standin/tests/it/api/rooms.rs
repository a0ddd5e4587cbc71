//! Rooms and participants: lifecycle, Twilio's codes 53113 and 53112, lookups by sid or name,
//! stored settings, the participant limit, and malformed requests.

use crate::common::{self, Api, s};

#[tokio::test]
async fn room_lifecycle_with_53113_and_53112() {
    let standin = common::start().await;
    let api = Api::new(&standin);
    let base = standin.base_url();

    let room = api.create_room("livestream-abc").await;
    let sid = s(&room, "sid").to_owned();
    assert_eq!(s(&room, "status"), "in-progress");
    assert_eq!(s(&room, "type"), "group");
    assert_eq!(s(&room, "unique_name"), "livestream-abc");
    assert_eq!(s(&room, "account_sid"), standin.account().account_sid);
    assert_eq!(s(&room, "url"), format!("{base}/v1/Rooms/{sid}"));
    assert_eq!(
        room["links"]["participants"],
        format!("{base}/v1/Rooms/{sid}/Participants")
    );
    assert_eq!(
        (
            room["empty_room_timeout"].as_u64(),
            room["unused_room_timeout"].as_u64()
        ),
        (Some(5), Some(5))
    );
    assert_eq!(room["max_participants"], 50);
    assert_eq!(room["max_participant_duration"], 14400);
    assert!(room["end_time"].is_null() && room["duration"].is_null());

    // Fetch by sid and by unique name.
    assert_eq!(
        s(&api.get(&format!("/v1/Rooms/{sid}")).await.body, "sid"),
        sid
    );
    assert_eq!(
        s(&api.get("/v1/Rooms/livestream-abc").await.body, "sid"),
        sid
    );

    // The name is taken while the room is in progress.
    let dup = api
        .post("/v1/Rooms", &[("UniqueName", "livestream-abc")])
        .await;
    assert_eq!((dup.status, dup.code()), (400, Some(53113)));
    assert_eq!(
        dup.body["more_info"],
        "https://www.twilio.com/docs/errors/53113"
    );

    let done = api
        .post("/v1/Rooms/livestream-abc", &[("Status", "completed")])
        .await;
    assert_eq!(done.status, 202);
    assert_eq!(done.str("status"), "completed");
    assert!(done.body["end_time"].is_string());
    assert!(done.body["duration"].as_i64().is_some_and(|d| d >= 0));

    // By name only while in progress; by sid always.
    let by_name = api.get("/v1/Rooms/livestream-abc").await;
    assert_eq!((by_name.status, by_name.code()), (404, Some(20404)));
    assert_eq!(
        api.get(&format!("/v1/Rooms/{sid}")).await.str("status"),
        "completed"
    );

    let again = api
        .post(&format!("/v1/Rooms/{sid}"), &[("Status", "completed")])
        .await;
    assert_eq!((again.status, again.code()), (400, Some(53112)));

    // The name is free again.
    let reused = api.create_room("livestream-abc").await;
    assert_ne!(s(&reused, "sid"), sid);
    assert_eq!(standin.rooms().len(), 2);
    standin.shutdown().await;
}

#[tokio::test]
async fn settings_are_stored_and_returned() {
    let standin = common::start().await;
    let api = Api::new(&standin);
    let room = api
        .post(
            "/v1/Rooms",
            &[
                ("UniqueName", "livestream-settings"),
                ("EmptyRoomTimeout", "3"),
                ("UnusedRoomTimeout", "7"),
                ("MaxParticipantDuration", "900"),
                ("MaxParticipants", "2"),
                ("StatusCallback", "https://example.com/room_events"),
                ("StatusCallbackMethod", "GET"),
            ],
        )
        .await;
    assert_eq!(room.status, 201, "{:?}", room.body);
    let b = &room.body;
    assert_eq!(
        (
            &b["empty_room_timeout"],
            &b["unused_room_timeout"],
            &b["max_participant_duration"],
            &b["max_participants"]
        ),
        (&3.into(), &7.into(), &900.into(), &2.into())
    );
    assert_eq!(b["status_callback"], "https://example.com/room_events");
    assert_eq!(b["status_callback_method"], "GET");

    let info = &standin.rooms()[0];
    assert_eq!(info.unique_name, "livestream-settings");
    assert_eq!((info.empty_room_timeout, info.unused_room_timeout), (3, 7));
    assert_eq!(info.max_participant_duration, Some(900));
    assert_eq!(info.max_participants, 2);
    assert_eq!(
        info.status_callback.as_deref(),
        Some("https://example.com/room_events")
    );

    let bare = api.post("/v1/Rooms", &[]).await.body;
    assert_eq!(
        s(&bare, "unique_name"),
        s(&bare, "sid"),
        "Twilio names a nameless room by its sid"
    );
    assert_eq!(standin.rooms()[1].max_participant_duration, None);
    standin.shutdown().await;
}

#[tokio::test]
async fn joining_beyond_max_participants_fails() {
    let standin = common::start().await;
    let api = Api::new(&standin);
    let room = api
        .post(
            "/v1/Rooms",
            &[("UniqueName", "small"), ("MaxParticipants", "2")],
        )
        .await;
    assert_eq!(room.status, 201);
    standin
        .connect_participant("small", "a")
        .expect("first joins");
    standin
        .connect_participant("small", "b")
        .expect("second joins");
    let third = standin.connect_participant("small", "c");
    assert!(third.is_err_and(|e| e.contains("full")));
    // The same identity rejoining replaces its old connection rather than adding one.
    standin
        .connect_participant("small", "a")
        .expect("a rejoins");
    let connected: Vec<_> = standin
        .participants("small")
        .into_iter()
        .filter(|p| p.status == "connected")
        .map(|p| p.identity)
        .collect();
    assert_eq!(connected.len(), 2);
    assert!(connected.contains(&"a".to_owned()) && connected.contains(&"b".to_owned()));
    // Once someone leaves there is space again.
    assert!(standin.disconnect_participant("small", "b"));
    standin.connect_participant("small", "c").expect("c joins");

    let too_many = api.post("/v1/Rooms", &[("MaxParticipants", "51")]).await;
    assert_eq!((too_many.status, too_many.code()), (400, Some(20001)));
    let unknown = standin.connect_participant("no-such-room", "x");
    assert!(unknown.is_err());
    standin.shutdown().await;
}

#[tokio::test]
async fn participants_by_sid_or_identity_list_and_disconnect() {
    let standin = common::start().await;
    let api = Api::new(&standin);
    let room_sid = s(&api.create_room("livestream-p").await, "sid").to_owned();
    let host = standin
        .connect_participant("livestream-p", "host")
        .expect("joins");
    standin
        .connect_participant(&room_sid, "viewer")
        .expect("joins");
    let base = format!("/v1/Rooms/{room_sid}/Participants");

    let by_identity = api.get(&format!("{base}/host")).await;
    assert_eq!(by_identity.status, 200);
    assert_eq!(by_identity.str("sid"), host);
    assert_eq!(by_identity.str("status"), "connected");
    assert_eq!(by_identity.str("room_sid"), room_sid);
    let by_sid = api
        .get(&format!("/v1/Rooms/livestream-p/Participants/{host}"))
        .await;
    assert_eq!(by_sid.str("identity"), "host");
    assert_eq!(
        by_sid.str("url"),
        format!("{}{base}/{host}", standin.base_url())
    );

    let listed = api.get(&format!("{base}?Status=connected")).await.body;
    assert_eq!(listed["participants"].as_array().map(Vec::len), Some(2));
    let only_host = api.get(&format!("{base}?Identity=host")).await.body;
    assert_eq!(only_host["participants"][0]["sid"], host.as_str());

    let kicked = api
        .post(&format!("{base}/host"), &[("Status", "disconnected")])
        .await;
    assert_eq!(kicked.status, 202);
    assert_eq!(kicked.str("status"), "disconnected");
    assert!(kicked.body["end_time"].is_string());
    assert!(kicked.body["duration"].is_i64());
    let gone = api.get(&format!("{base}?Status=disconnected")).await.body;
    assert_eq!(gone["participants"].as_array().map(Vec::len), Some(1));
    assert_eq!(standin.rooms()[0].connected_participants, 1);

    // Rejoining creates a new participant; the identity then names the connected one.
    let again = standin
        .connect_participant("livestream-p", "host")
        .expect("rejoins");
    assert_ne!(again, host);
    assert_eq!(api.get(&format!("{base}/host")).await.str("sid"), again);

    let bad = api
        .post(&format!("{base}/viewer"), &[("Status", "connected")])
        .await;
    assert_eq!((bad.status, bad.code()), (400, Some(20001)));
    let nobody = api.get(&format!("{base}/nobody")).await;
    assert_eq!((nobody.status, nobody.code()), (404, Some(20404)));
    let no_room = api.get("/v1/Rooms/no-such-room/Participants").await;
    assert_eq!((no_room.status, no_room.code()), (404, Some(20404)));
    standin.shutdown().await;
}

#[tokio::test]
async fn completing_a_room_disconnects_everyone() {
    let standin = common::start().await;
    let api = Api::new(&standin);
    api.create_room("livestream-end").await;
    standin
        .connect_participant("livestream-end", "host")
        .expect("joins");
    standin
        .connect_participant("livestream-end", "viewer")
        .expect("joins");
    let done = api
        .post("/v1/Rooms/livestream-end", &[("Status", "completed")])
        .await;
    assert_eq!(done.status, 202);
    let people = standin.participants("livestream-end");
    assert_eq!(people.len(), 2);
    assert!(
        people
            .iter()
            .all(|p| p.status == "disconnected" && p.end_time.is_some())
    );
    assert!(
        standin
            .connect_participant("livestream-end", "late")
            .is_err()
    );
    standin.shutdown().await;
}

#[tokio::test]
async fn malformed_requests_get_twilio_errors() {
    let standin = common::start().await;
    let api = Api::new(&standin);
    let long = "x".repeat(129);
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("name too long", vec![("UniqueName", long.as_str())]),
        ("timeout out of range", vec![("EmptyRoomTimeout", "0")]),
        ("timeout not a number", vec![("UnusedRoomTimeout", "5m")]),
        (
            "callback not a URL",
            vec![("StatusCallback", "room_events")],
        ),
        ("bad boolean", vec![("AudioOnly", "yes")]),
    ];
    for (what, form) in cases {
        let reply = api.post("/v1/Rooms", &form).await;
        assert_eq!(
            (reply.status, reply.code()),
            (400, Some(20001)),
            "{what}: {:?}",
            reply.body
        );
    }
    assert!(standin.rooms().is_empty());

    let room = api.create_room("livestream-m").await;
    let to_progress = api
        .post(
            &format!("/v1/Rooms/{}", s(&room, "sid")),
            &[("Status", "in-progress")],
        )
        .await;
    assert_eq!(to_progress.status, 400);
    let missing_status = api.post("/v1/Rooms/livestream-m", &[]).await;
    assert_eq!(missing_status.status, 400);

    let unknown = api.get("/v1/Compositions").await;
    assert_eq!((unknown.status, unknown.code()), (404, Some(20404)));
    let no_room = api
        .get("/v1/Rooms/RM00000000000000000000000000000000")
        .await;
    assert_eq!((no_room.status, no_room.code()), (404, Some(20404)));
    let delete = api
        .http
        .delete(format!("{}/v1/Rooms/livestream-m", standin.base_url()))
        .basic_auth(
            &standin.account().account_sid,
            Some(&standin.account().auth_token),
        )
        .send()
        .await
        .expect("answer");
    assert_eq!(delete.status().as_u16(), 405);

    // JSON bodies are not what Twilio takes.
    let json_body = api
        .http
        .post(format!("{}/v1/Rooms", standin.base_url()))
        .basic_auth(
            &standin.account().account_sid,
            Some(&standin.account().auth_token),
        )
        .json(&serde_json::json!({"UniqueName": "json"}))
        .send()
        .await
        .expect("answer");
    assert_eq!(json_body.status().as_u16(), 400);
    assert_eq!(standin.rooms().len(), 1);
    standin.shutdown().await;
}

#[tokio::test]
async fn unique_names_are_percent_decoded_in_paths() {
    let standin = common::start().await;
    let api = Api::new(&standin);
    let room = api.create_room("Team Stand-up").await;
    let fetched = api.get("/v1/Rooms/Team%20Stand-up").await;
    assert_eq!((fetched.status, fetched.str("sid")), (200, s(&room, "sid")));
    standin.shutdown().await;
}
