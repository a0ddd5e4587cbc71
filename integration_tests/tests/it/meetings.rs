//! Meetings against the stand-in: the host opens one (`meeting_create`, no Twilio call), guests
//! join with the invite and a name (`meeting_token`). Racing first joins make one room; forged,
//! expired, other-meeting and malformed invites and unusable names are refused before any
//! Twilio call; namesakes are told apart; a full meeting is a 409; the room is created with
//! the cost bounds Twilio's spec describes, in its units; the reaper ends a meeting room past its
//! maximum; room_events takes a meeting room's callbacks.

use std::time::Duration;

use onair_common::config::Secrets;
use onair_common::ids::{MeetingId, MeetingIdentity, MeetingRoom};
use onair_integration_tests::*;
use serde_json::{Value, json};

/// The invite inside an invite link (`…/meet.html#invite=<invite>`).
fn invite_of(created: &Value) -> String {
    let url = created["invite_url"].as_str().unwrap();
    let (_, invite) = url
        .split_once("#invite=")
        .expect("the invite is in the fragment");
    assert_eq!(invite, created["invite"].as_str().unwrap());
    invite.to_owned()
}

fn secrets_of(stack: &Stack) -> Secrets {
    Secrets::from_source(&config(&stack.standin, &[])).unwrap()
}

/// The room creates (`POST /v1/Rooms`) the stand-in answered.
fn room_creates(stack: &Stack) -> Vec<twilio_standin::Call> {
    stack
        .standin
        .calls()
        .into_iter()
        .filter(|c| c.method == "POST" && c.path == "/v1/Rooms")
        .collect()
}

fn in_progress(stack: &Stack, room: &str) -> usize {
    stack
        .standin
        .rooms()
        .iter()
        .filter(|r| r.unique_name == room && r.status == "in-progress")
        .count()
}

#[tokio::test]
async fn the_host_opens_a_meeting_without_any_twilio_call_and_others_cannot() {
    let stack = Stack::room().await;
    let mut req = post_json(json!({ "password": HOST_PASSWORD }));
    req.headers_mut()
        .insert("origin", "https://d111.cloudfront.net".parse().unwrap());
    stack.standin.clear_calls();
    let (status, created) = stack.call(Endpoint::MeetingCreate, req).await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(stack.twilio_calls(), 0, "{:?}", stack.standin.calls());
    let meeting = created["meeting"].as_str().unwrap();
    assert!(MeetingId::parse(meeting).is_some(), "{meeting}");
    let invite = created["invite"].as_str().unwrap();
    assert_eq!(
        created["invite_url"],
        format!("https://d111.cloudfront.net/meet.html#invite={invite}")
    );
    let lifetime = created["expires_at"].as_u64().unwrap() - onair_common::token::unix_now();
    assert!(
        (24 * 3600 - 5..=24 * 3600).contains(&lifetime),
        "{lifetime}"
    );

    // A host token works as well; without an Origin the link is the path on the site.
    let login = stack.host_login().await;
    let (status, again) = stack
        .call(
            Endpoint::MeetingCreate,
            bearer(login["token"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, 200, "{again}");
    assert_ne!(again["meeting"], created["meeting"]);
    assert!(
        again["invite_url"]
            .as_str()
            .unwrap()
            .starts_with("/meet.html#invite=")
    );

    // So does the host session the host page signs in with (no room, no stream).
    let session = stack.host_session().await;
    let (status, third) = stack.call(Endpoint::MeetingCreate, bearer(&session)).await;
    assert_eq!(status, 200, "{third}");
    assert_ne!(third["meeting"], again["meeting"]);

    stack.standin.clear_calls();
    for req in [
        post_json(json!({ "password": "wrong" })),
        post_empty(),
        bearer("not.a.token"),
    ] {
        let (status, body) = stack.call(Endpoint::MeetingCreate, req).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("unauthorized"))
        );
    }
    assert_eq!(stack.twilio_calls(), 0, "{:?}", stack.standin.calls());
    // A guest's meeting token is not a host token.
    let (_, joined) = stack.join(invite, "Ana").await;
    stack.standin.clear_calls();
    let (status, _) = stack
        .call(
            Endpoint::MeetingCreate,
            bearer(joined["token"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(stack.twilio_calls(), 0, "{:?}", stack.standin.calls());
}

#[tokio::test]
async fn racing_first_joins_create_one_room_and_everyone_gets_into_it() {
    let stack = Stack::room().await;
    let invite = invite_of(&stack.meeting().await);
    stack.standin.clear_calls();

    let names: Vec<String> = (0..8).map(|i| format!("Guest {i}")).collect();
    let joins = names.iter().map(|name| stack.join(&invite, name));
    let answers = futures_join_all(joins).await;

    let room = answers[0].1["room"].as_str().unwrap().to_owned();
    assert!(room.starts_with("meeting-"));
    let mut identities = Vec::new();
    for ((status, body), name) in answers.iter().zip(&names) {
        assert_eq!(*status, 200, "{body}");
        assert_eq!(body["room"], room.as_str());
        assert_eq!(body["name"], name.as_str());
        assert_eq!(
            claims(body["token"].as_str().unwrap())["grants"]["video"]["room"],
            room.as_str()
        );
        identities.push(body["identity"].as_str().unwrap().to_owned());
    }
    identities.sort();
    identities.dedup();
    assert_eq!(identities.len(), names.len(), "one identity per join");

    let creates = room_creates(&stack);
    assert!(
        creates.len() >= 2,
        "the joins raced to create the room: {creates:?}"
    );
    assert_eq!(
        creates.iter().filter(|c| c.status == 201).count(),
        1,
        "one create won, the others heard `room exists`: {creates:?}"
    );
    assert_eq!(in_progress(&stack, &room), 1);
    assert_eq!(
        stack
            .standin
            .rooms()
            .iter()
            .filter(|r| r.unique_name == room)
            .count(),
        1
    );
    for identity in &identities {
        stack.standin.connect_participant(&room, identity).unwrap();
    }
    assert_eq!(stack.standin.participants(&room).len(), names.len());

    // A later join finds the room: one fetch and one count, no create.
    stack.standin.clear_calls();
    let (status, _) = stack.join(&invite, "Late").await;
    assert_eq!(status, 200);
    assert_eq!(stack.calls_to("POST", "/v1/Rooms"), 0);
    assert_eq!(stack.twilio_calls(), 2, "{:?}", stack.standin.calls());
}

/// Polls every future to completion, concurrently on this task.
async fn futures_join_all<F: std::future::Future>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    let mut set = Vec::new();
    for future in futures {
        set.push(Box::pin(future));
    }
    let mut outputs: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in set.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(Option::unwrap).collect()
}

#[tokio::test]
async fn forged_expired_other_meeting_and_malformed_invites_cost_no_twilio_call() {
    let stack = Stack::room().await;
    let created = stack.meeting().await;
    let invite = invite_of(&created);
    let meeting = MeetingId::parse(created["meeting"].as_str().unwrap()).unwrap();
    let ours = secrets_of(&stack);
    let now = onair_common::token::unix_now();
    let tag = invite.rsplit('.').next().unwrap();
    let other = MeetingId::new_random();
    let mut theirs = secrets_of(&stack);
    theirs.api_key_secret = "another-api-key-secret".into();
    let login = stack.host_login().await;

    let expired = onair_common::invite::mint(&ours, &meeting, now - 1).text;
    let not_valid = [
        // Signed with another key.
        onair_common::invite::mint(&theirs, &meeting, now + 3600).text,
        // Another meeting's id with this invite's tag, and this one's with a later expiry.
        format!("{other}.{}.{tag}", created["expires_at"]),
        format!(
            "{meeting}.{}.{tag}",
            created["expires_at"].as_u64().unwrap() + 1
        ),
        // Malformed: not an invite at all, cut short, a host token, huge.
        "garbage".to_owned(),
        String::new(),
        invite[..invite.len() - 1].to_owned(),
        format!("{invite}.x"),
        login["token"].as_str().unwrap().to_owned(),
        "k".repeat(10_000),
    ];
    stack.standin.clear_calls();
    let (status, body) = stack.join(&expired, "Ana").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    assert_eq!(
        body["error"]["message"],
        "This invite link has expired; ask the host for a new one"
    );
    for text in &not_valid {
        let (status, body) = stack.join(text, "Ana").await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("unauthorized")),
            "{text}: {body}"
        );
        assert_eq!(
            body["error"]["message"],
            "This invite link is not valid; ask the host for a new one"
        );
    }
    // Not a string, or missing: the request itself is wrong.
    for body in [
        json!({ "invite": 42, "name": "Ana" }),
        json!({ "name": "Ana" }),
        json!({ "invite": invite }),
        json!([invite, "Ana"]),
    ] {
        let (status, answer) = stack.call(Endpoint::MeetingToken, post_json(body)).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (400, Some("bad_request"))
        );
    }
    assert_eq!(stack.twilio_calls(), 0, "{:?}", stack.standin.calls());
    assert!(
        !stack
            .standin
            .rooms()
            .iter()
            .any(|r| r.unique_name.starts_with("meeting-")),
        "no meeting room was made"
    );
}

#[tokio::test]
async fn names_are_trimmed_bounded_visible_and_namesakes_are_two_people() {
    let stack = Stack::room().await;
    let invite = invite_of(&stack.meeting().await);

    stack.standin.clear_calls();
    for (name, message) in [
        ("   ", "type your name to join"),
        (&*"a".repeat(41), "a name may have at most 40 characters"),
        (
            "Ana\nBo",
            "a name may not contain control characters or invisible formatting",
        ),
        (
            "Ana\u{202e}oB",
            "a name may not contain control characters or invisible formatting",
        ),
        (
            "\u{1b}[31mAna",
            "a name may not contain control characters or invisible formatting",
        ),
        (
            &*"🙂".repeat(30),
            "this name has too many emoji or symbols; shorten it",
        ),
    ] {
        let (status, body) = stack.join(&invite, name).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("bad_request")),
            "{name:?}"
        );
        assert_eq!(body["error"]["message"], message, "{name:?}");
    }
    assert_eq!(
        stack.twilio_calls(),
        0,
        "a refused name costs no Twilio call"
    );

    let (status, first) = stack.join(&invite, "  Ana \t").await;
    assert_eq!(status, 200, "{first}");
    let (status, second) = stack.join(&invite, "Ana").await;
    assert_eq!(status, 200, "{second}");
    let (status, widest) = stack.join(&invite, &"李".repeat(40)).await;
    assert_eq!(status, 200, "{widest}");
    for answer in [&first, &second] {
        assert_eq!(answer["name"], "Ana");
        let identity = MeetingIdentity::parse(answer["identity"].as_str().unwrap()).unwrap();
        assert_eq!(identity.name(), "Ana");
        assert_eq!(
            claims(answer["token"].as_str().unwrap())["grants"]["identity"],
            identity.as_str()
        );
        assert_eq!(answer["mode"], "meeting");
        assert_eq!(answer["media"], json!({ "kind": "twilio" }));
    }
    assert_ne!(
        first["identity"], second["identity"],
        "two Anas, two identities"
    );
    let room = first["room"].as_str().unwrap();
    for answer in [&first, &second, &widest] {
        stack
            .standin
            .connect_participant(room, answer["identity"].as_str().unwrap())
            .unwrap();
    }
    let connected: Vec<_> = stack
        .standin
        .participants(room)
        .into_iter()
        .filter(|p| p.status == "connected")
        .collect();
    assert_eq!(
        connected.len(),
        3,
        "neither Ana replaced the other: {connected:?}"
    );
}

#[tokio::test]
async fn a_full_meeting_is_a_conflict_until_someone_leaves() {
    let stack = Stack::start(&[("MEETING_MAX_PARTICIPANTS", "2")]).await;
    let invite = invite_of(&stack.meeting().await);
    let mut room = String::new();
    let mut joined = Vec::new();
    for name in ["Ana", "Bo"] {
        let (status, body) = stack.join(&invite, name).await;
        assert_eq!(status, 200, "{body}");
        room = body["room"].as_str().unwrap().to_owned();
        let identity = body["identity"].as_str().unwrap().to_owned();
        stack.standin.connect_participant(&room, &identity).unwrap();
        joined.push(identity);
    }
    let (status, body) = stack.join(&invite, "Cy").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("conflict")),
        "{body}"
    );
    assert_eq!(body["error"]["message"], "This meeting is full");
    // Twilio enforces the same limit on connect.
    assert!(
        stack
            .standin
            .connect_participant(&room, "0badc0de.Cy")
            .is_err()
    );

    stack.standin.disconnect_participant(&room, &joined[0]);
    let (status, body) = stack.join(&invite, "Cy").await;
    assert_eq!(status, 200, "{body}");
}

/// The first join's room create, read against `specs/twilio/twilio_video_v1.json`: every
/// parameter is one of `CreateRoomRequest`'s, and the bounds are in the units and ranges the
/// spec's descriptions give (timeouts in minutes, 1 to 60; the participant duration in seconds,
/// at most 86,400; at most 50 participants).
#[tokio::test]
async fn the_room_is_created_with_cost_bounds_in_twilios_units() {
    let auth_token = twilio_standin::Account::for_tests().auth_token;
    let stack = Stack::start(&[
        ("MEETING_MAX_MINUTES", "90"),
        ("MEETING_MAX_PARTICIPANTS", "12"),
        ("TWILIO_AUTH_TOKEN", &auth_token),
        ("ROOM_EVENTS_URL", "https://onair.test/room_events"),
    ])
    .await;
    let invite = invite_of(&stack.meeting().await);
    stack.standin.clear_calls();
    let (status, joined) = stack.join(&invite, "Ana").await;
    assert_eq!(status, 200, "{joined}");
    let creates = room_creates(&stack);
    assert_eq!(creates.len(), 1, "{creates:?}");
    let create = &creates[0];
    assert_eq!(create.status, 201);

    let spec: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../specs/twilio/twilio_video_v1.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let schema = &spec["paths"]["/v1/Rooms"]["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]
        ["schema"];
    let properties = schema["properties"].as_object().unwrap();
    for (name, _) in &create.params {
        assert!(
            properties.contains_key(name),
            "{name} is not a CreateRoomRequest parameter"
        );
    }
    let describe = |name: &str| properties[name]["description"].as_str().unwrap().to_owned();
    let int = |name: &str| -> u64 {
        assert_eq!(properties[name]["type"], "integer", "{name}");
        create
            .param(name)
            .unwrap_or_else(|| panic!("{name} is sent"))
            .parse()
            .unwrap()
    };

    assert_eq!(create.param("UniqueName"), joined["room"].as_str());
    assert_eq!(create.param("Type"), Some("group"));
    let types = &spec["components"]["schemas"]["room_enum_room_type"]["enum"];
    assert!(types.as_array().unwrap().contains(&json!("group")));

    for timeout in ["EmptyRoomTimeout", "UnusedRoomTimeout"] {
        let text = describe(timeout);
        assert!(text.contains("(in minutes)"), "{timeout}: {text}");
        let (low, high) = range_in(&text, "range from ", " to ", " minutes");
        assert!(
            (low..=high).contains(&int(timeout)),
            "{timeout} out of {low}..={high}"
        );
    }
    assert_eq!(int("EmptyRoomTimeout"), 1, "minutes");
    assert_eq!(int("UnusedRoomTimeout"), 2, "minutes");

    let text = describe("MaxParticipantDuration");
    assert!(text.contains("number of seconds"), "{text}");
    let most = number_after(&text, "maximum possible value is ");
    assert_eq!(
        int("MaxParticipantDuration"),
        90 * 60,
        "MEETING_MAX_MINUTES in seconds"
    );
    assert!(int("MaxParticipantDuration") <= most);

    let most = number_after(&describe("MaxParticipants"), "maximum allowed value is ");
    assert_eq!(most, 50);
    assert_eq!(int("MaxParticipants"), 12);

    assert_eq!(
        create.param("StatusCallback"),
        Some("https://onair.test/room_events")
    );
    assert_eq!(create.param("StatusCallbackMethod"), Some("POST"));
    // The token lasts as long as a meeting may.
    let claims = claims(joined["token"].as_str().unwrap());
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["nbf"].as_u64().unwrap(),
        90 * 60
    );
}

/// The first number in `text` after `marker`.
fn number_after(text: &str, marker: &str) -> u64 {
    let (_, rest) = text
        .split_once(marker)
        .unwrap_or_else(|| panic!("{marker:?} in {text:?}"));
    rest.chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

/// `<start>LOW<middle>HIGH<end>` in `text`.
fn range_in(text: &str, start: &str, middle: &str, end: &str) -> (u64, u64) {
    let low = number_after(text, start);
    let high = number_after(text, &format!("{low}{middle}"));
    assert!(text.contains(&format!("{high}{end}")), "{text}");
    (low, high)
}

#[tokio::test]
async fn the_reaper_ends_a_meeting_room_past_its_maximum_and_leaves_younger_ones() {
    let stack = Stack::start(&[("MEETING_MAX_MINUTES", "30")]).await;
    let old = invite_of(&stack.meeting().await);
    let (_, first) = stack.join(&old, "Ana").await;
    let old_room = first["room"].as_str().unwrap().to_owned();
    stack
        .standin
        .connect_participant(&old_room, first["identity"].as_str().unwrap())
        .unwrap();
    stack.standin.advance_clock(Duration::from_secs(20 * 60));
    let young = invite_of(&stack.meeting().await);
    let (_, second) = stack.join(&young, "Bo").await;
    let young_room = second["room"].as_str().unwrap().to_owned();
    // Someone joins later and keeps the old room from emptying.
    let (_, late) = stack.join(&old, "Cy").await;
    stack
        .standin
        .connect_participant(&old_room, late["identity"].as_str().unwrap())
        .unwrap();
    stack
        .standin
        .connect_participant(&young_room, second["identity"].as_str().unwrap())
        .unwrap();

    let report = reaper::reap(&stack.app, stack.twilio_now()).await;
    assert_eq!(
        report,
        reaper::Report::default(),
        "20 minutes in: nothing to end"
    );
    stack.standin.advance_clock(Duration::from_secs(10 * 60));
    let report = reaper::reap(&stack.app, stack.twilio_now()).await;
    assert_eq!(
        report.meeting_rooms_completed,
        vec![MeetingRoom::parse(&old_room).unwrap()]
    );
    assert!(
        report.rooms_completed.is_empty() && report.errors.is_empty(),
        "{report:?}"
    );
    assert_eq!(in_progress(&stack, &old_room), 0);
    assert_eq!(in_progress(&stack, &young_room), 1);
    assert!(
        stack
            .standin
            .participants(&old_room)
            .iter()
            .all(|p| p.status == "disconnected")
    );
    // A second run has nothing left to end.
    let report = reaper::reap(&stack.app, stack.twilio_now()).await;
    assert!(report.meeting_rooms_completed.is_empty(), "{report:?}");
    // The invite still works: the meeting goes on in a new room of the same name.
    let (status, again) = stack.join(&old, "Ana").await;
    assert_eq!(
        (status, again["room"].as_str()),
        (200, Some(old_room.as_str()))
    );
    assert_eq!(in_progress(&stack, &old_room), 1);
}

#[tokio::test]
async fn room_events_takes_a_meeting_rooms_callbacks_and_calls_nobody() {
    let account = twilio_standin::Account::for_tests();
    let url = "https://onair.test/room_events";
    let stack = Stack::start(&[
        ("AUDIENCE_MODE", "live"),
        ("TWILIO_AUTH_TOKEN", &account.auth_token),
        ("ROOM_EVENTS_URL", url),
    ])
    .await;
    let room = MeetingRoom::of(&MeetingId::new_random());
    stack.standin.clear_calls();
    for event in ["room-created", "participant-connected", "room-ended"] {
        let params: Vec<(String, String)> = [
            ("StatusCallbackEvent", event),
            ("RoomName", room.as_str()),
            ("RoomSid", "RM0123456789abcdef0123456789abcdef"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let signature =
            onair_common::webhook::signature(&account.auth_token.clone().into(), url, &params);
        let (status, body) = stack
            .call(Endpoint::RoomEvents, post_form(&params, Some(&signature)))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["meeting"], room.meeting().as_str());
        assert_eq!(body["room"], Value::Null);
        assert_eq!(body["ended"]["media_processors"], json!([]));
    }
    assert_eq!(stack.twilio_calls(), 0, "{:?}", stack.standin.calls());
}
