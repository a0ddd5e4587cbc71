//! The default audience mode end to end over HTTP against the stand-in: the host logs in,
//! connects and starts; viewers get subscribe-only tokens and subscribe to the host; the host
//! stops and everything ends.

use onair_integration_tests::*;
use serde_json::json;

#[tokio::test]
async fn host_token_creates_a_bounded_group_room_and_a_twilio_shaped_token() {
    let stack = Stack::room().await;
    let login = stack.host_login().await;

    let room = login["room"].as_str().unwrap();
    assert!(room.starts_with("livestream-"));
    assert_eq!(login["identity"], "presenter");
    assert_eq!(login["mode"], "room");
    assert_eq!(login["media"], json!({ "kind": "twilio" }));

    let token = login["token"].as_str().unwrap();
    assert_eq!(
        header(token),
        json!({ "alg": "HS256", "typ": "JWT", "cty": "twilio-fpa;v=1" })
    );
    let claims = claims(token);
    let account = stack.standin.account();
    assert_eq!(claims["iss"], account.api_key_sid.as_str());
    assert_eq!(claims["sub"], account.account_sid.as_str());
    assert_eq!(
        claims["jti"],
        format!("{}-{}", account.api_key_sid, claims["nbf"])
    );
    assert_eq!(
        claims["grants"],
        json!({ "identity": "presenter", "video": { "room": room } })
    );
    assert_eq!(claims["exp"], login["expires_at"]);
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["nbf"].as_u64().unwrap(),
        7200
    );

    let rooms = stack.standin.rooms();
    assert_eq!(rooms.len(), 1);
    let created = &rooms[0];
    assert_eq!(created.unique_name, room);
    assert_eq!(created.status, "in-progress");
    assert_eq!(created.empty_room_timeout, 1);
    assert_eq!(created.unused_room_timeout, 2);
    assert_eq!(created.max_participant_duration, Some(7200));
    let create = stack
        .standin
        .calls()
        .into_iter()
        .find(|c| c.method == "POST" && c.path == "/v1/Rooms")
        .unwrap();
    assert!(create.params.contains(&("Type".into(), "group".into())));
}

#[tokio::test]
async fn viewers_wait_then_join_subscribe_only_and_see_the_end() {
    let stack = Stack::room().await;

    let (status, nothing) = stack.call(Endpoint::AudienceToken, post_empty()).await;
    assert_eq!(status, 200);
    assert_eq!(
        nothing,
        json!({ "live": false, "mode": "room", "token": null })
    );

    let login = stack.host_connected().await;
    let room = login["room"].as_str().unwrap();
    let host_token = login["token"].as_str().unwrap();

    let (status, started) = stack.call(Endpoint::StreamStart, bearer(host_token)).await;
    assert_eq!(status, 200, "{started}");
    assert_eq!(started["stream"]["room"], room);
    assert_eq!(started["stream"]["mode"], "room");

    // Two viewers: fresh identities, never the host's, each for the host's room.
    let mut identities = Vec::new();
    for _ in 0..2 {
        let (status, viewer) = stack.call(Endpoint::AudienceToken, post_empty()).await;
        assert_eq!(status, 200, "{viewer}");
        assert_eq!(viewer["live"], true);
        assert_eq!(viewer["room"], room);
        assert_eq!(viewer["presenter"], "presenter");
        let identity = viewer["identity"].as_str().unwrap().to_owned();
        assert!(identity.starts_with("viewer-") && identity != "presenter");
        let token = viewer["token"].as_str().unwrap();
        assert_eq!(
            claims(token)["grants"],
            json!({ "identity": identity, "video": { "room": room } })
        );

        stack.standin.connect_participant(room, &identity).unwrap();
        let (status, subscribed) = stack.call(Endpoint::Subscribe, bearer(token)).await;
        assert_eq!(status, 200, "{subscribed}");
        assert_eq!(subscribed["rules"][0]["type"], "include");
        assert_eq!(subscribed["rules"][0]["publisher"], "presenter");
        let held = stack
            .standin
            .subscribe_rules(room, &identity)
            .expect("rules stored");
        assert_eq!(held.to_string().matches("presenter").count(), 1, "{held}");
        identities.push(identity);
    }
    assert_ne!(identities[0], identities[1]);

    let (status, stopped) = stack.call(Endpoint::StreamStop, bearer(host_token)).await;
    assert_eq!(
        (status, &stopped["stopped"]),
        (200, &json!(true)),
        "{stopped}"
    );
    assert_eq!(stack.active_rooms(), 0);
    assert!(
        stack
            .standin
            .participants(room)
            .iter()
            .all(|p| p.status == "disconnected")
    );

    let (_, after) = stack.call(Endpoint::AudienceToken, post_empty()).await;
    assert_eq!(after["live"], false);
}

#[tokio::test]
async fn stopping_twice_is_fine_and_ends_nothing_more() {
    let stack = Stack::room().await;
    let login = stack.host_connected().await;
    let token = login["token"].as_str().unwrap();

    let (status, first) = stack.call(Endpoint::StreamStop, bearer(token)).await;
    assert_eq!((status, first["stopped"].as_bool()), (200, Some(true)));
    let completes = stack.calls_to("POST", "/v1/Rooms/");
    let (status, second) = stack.call(Endpoint::StreamStop, bearer(token)).await;
    assert_eq!(
        (status, second["stopped"].as_bool()),
        (200, Some(false)),
        "{second}"
    );
    assert_eq!(
        stack.calls_to("POST", "/v1/Rooms/"),
        completes + 1,
        "one completion attempt, refused by Twilio"
    );
    assert_eq!(stack.active_rooms(), 0);
}

#[tokio::test]
async fn stop_ends_only_the_room_of_the_token() {
    let stack = Stack::room().await;
    let old = stack.host_connected().await;
    let new = stack.host_connected().await;

    let (status, _) = stack
        .call(Endpoint::StreamStop, bearer(old["token"].as_str().unwrap()))
        .await;
    assert_eq!(status, 200);
    let rooms = stack.standin.rooms();
    let status_of = |name: &serde_json::Value| {
        rooms
            .iter()
            .find(|r| Some(r.unique_name.as_str()) == name.as_str())
            .unwrap()
            .status
            .clone()
    };
    assert_eq!(status_of(&old["room"]), "completed");
    assert_eq!(status_of(&new["room"]), "in-progress");
}

#[tokio::test]
async fn start_needs_the_host_in_the_room_and_the_room_in_progress() {
    let stack = Stack::room().await;
    let login = stack.host_login().await;
    let token = login["token"].as_str().unwrap();

    let (status, body) = stack.call(Endpoint::StreamStart, bearer(token)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("conflict")),
        "{body}"
    );

    stack
        .standin
        .connect_participant(login["room"].as_str().unwrap(), "presenter")
        .unwrap();
    let (status, _) = stack.call(Endpoint::StreamStart, bearer(token)).await;
    assert_eq!(status, 200);
    // Starting again creates nothing and still answers.
    let rooms_before = stack.standin.rooms().len();
    let (status, _) = stack.call(Endpoint::StreamStart, bearer(token)).await;
    assert_eq!((status, stack.standin.rooms().len()), (200, rooms_before));

    stack.call(Endpoint::StreamStop, bearer(token)).await;
    let (status, body) = stack.call(Endpoint::StreamStart, bearer(token)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("conflict"))
    );
}

#[tokio::test]
async fn the_original_password_api_still_starts_and_stops() {
    let stack = Stack::room().await;
    let login = stack.host_connected().await;

    let (status, started) = stack
        .call(
            Endpoint::StreamStart,
            post_json(json!({ "password": HOST_PASSWORD })),
        )
        .await;
    assert_eq!(status, 200, "{started}");
    assert_eq!(started["stream"]["room"], login["room"]);

    let (status, stopped) = stack
        .call(
            Endpoint::StreamStop,
            post_json(json!({ "password": HOST_PASSWORD, "room": login["room"] })),
        )
        .await;
    assert_eq!((status, stopped["stopped"].as_bool()), (200, Some(true)));
    assert_eq!(stack.active_rooms(), 0);
}

#[tokio::test]
async fn send_beacon_bodies_stop_the_stream() {
    let stack = Stack::room().await;
    // Bare token as text/plain, as `navigator.sendBeacon(url, token)` sends it.
    let login = stack.host_connected().await;
    let req = request(
        "POST",
        Some("text/plain;charset=UTF-8"),
        lambda_http::Body::Text(login["token"].as_str().unwrap().into()),
    );
    let (status, body) = stack.call(Endpoint::StreamStop, req).await;
    assert_eq!(
        (status, body["stopped"].as_bool()),
        (200, Some(true)),
        "{body}"
    );

    // JSON inside text/plain, as `sendBeacon(url, JSON.stringify({token}))` sends it.
    let login = stack.host_connected().await;
    let text = json!({ "token": login["token"] }).to_string();
    let req = request(
        "POST",
        Some("text/plain;charset=UTF-8"),
        lambda_http::Body::Text(text),
    );
    let (status, body) = stack.call(Endpoint::StreamStop, req).await;
    assert_eq!(
        (status, body["stopped"].as_bool()),
        (200, Some(true)),
        "{body}"
    );
    assert_eq!(stack.active_rooms(), 0);
}

#[tokio::test]
async fn audience_answers_are_cached_for_a_few_seconds() {
    let stack = Stack::start(&[("AUDIENCE_CACHE_SECONDS", "30")]).await;
    stack.host_connected().await;
    stack.standin.clear_calls();
    for _ in 0..20 {
        let (status, body) = stack.call(Endpoint::AudienceToken, post_empty()).await;
        assert_eq!((status, body["live"].as_bool()), (200, Some(true)));
    }
    // One lookup: list rooms, then the host's participant entry.
    assert_eq!(stack.twilio_calls(), 2, "{:?}", stack.standin.calls());
}

#[tokio::test]
async fn subscribing_before_joining_is_404_and_changes_nothing() {
    let stack = Stack::room().await;
    stack.host_connected().await;
    let (_, viewer) = stack.call(Endpoint::AudienceToken, post_empty()).await;
    let (status, body) = stack
        .call(
            Endpoint::Subscribe,
            bearer(viewer["token"].as_str().unwrap()),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found")),
        "{body}"
    );
    let room = viewer["room"].as_str().unwrap();
    assert!(
        stack
            .standin
            .subscribe_rules(room, viewer["identity"].as_str().unwrap())
            .is_none()
    );
}
