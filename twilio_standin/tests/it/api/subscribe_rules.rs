//! Subscribe rules: each POST replaces the set, the response has Twilio's shape, the set is
//! visible through the inspection API, and invalid sets are 53215 and change nothing.

use serde_json::{Value, json};

use crate::common::{self, Api, s};

async fn setup() -> (twilio_standin::StandIn, Api, String, String) {
    let standin = common::start().await;
    let api = Api::new(&standin);
    let room = s(&api.create_room("livestream-rules").await, "sid").to_owned();
    standin
        .connect_participant(&room, "host")
        .expect("host joins");
    let viewer = standin
        .connect_participant(&room, "viewer")
        .expect("viewer joins");
    (standin, api, room, viewer)
}

#[tokio::test]
async fn each_post_replaces_the_rules_and_they_are_inspectable() {
    let (standin, api, room, viewer) = setup().await;
    let path = format!("/v1/Rooms/{room}/Participants/viewer/SubscribeRules");

    let before = api.get(&path).await;
    assert_eq!(before.status, 200);
    assert_eq!(
        before.body["rules"],
        json!([{"type": "include", "all": true, "publisher": null, "track": null, "kind": null, "priority": null}])
    );
    assert!(before.body["date_created"].is_null());
    assert_eq!(
        standin.subscribe_rules(&room, "viewer"),
        None,
        "never set over REST"
    );

    let first = api
        .post(&path, &[("Rules", r#"[{"type":"include","publisher":"host"},{"type":"include","kind":"audio","priority":"high"}]"#)])
        .await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(first.str("participant_sid"), viewer);
    assert_eq!(first.str("room_sid"), room);
    assert!(first.body.get("meta").is_none());
    let expected = json!([
        {"type": "include", "all": null, "publisher": "host", "track": null, "kind": null, "priority": null},
        {"type": "include", "all": null, "publisher": null, "track": null, "kind": "audio", "priority": "high"},
    ]);
    assert_eq!(first.body["rules"], expected);
    assert!(first.body["date_created"].is_string());
    assert_eq!(
        standin.subscribe_rules("livestream-rules", "viewer"),
        Some(expected)
    );

    let second = api
        .post(
            &format!("/v1/Rooms/livestream-rules/Participants/{viewer}/SubscribeRules"),
            &[("Rules", r#"[{"type":"exclude","all":true}]"#)],
        )
        .await;
    assert_eq!(second.status, 200);
    let replaced = json!([{"type": "exclude", "all": true, "publisher": null, "track": null, "kind": null, "priority": null}]);
    assert_eq!(second.body["rules"], replaced);
    assert_eq!(second.body["date_created"], first.body["date_created"]);
    assert_eq!(api.get(&path).await.body["rules"], replaced);
    assert_eq!(standin.subscribe_rules(&room, "viewer"), Some(replaced));
    assert_eq!(standin.subscribe_rules(&room, "host"), None);
    standin.shutdown().await;
}

#[tokio::test]
async fn invalid_rule_sets_are_53215_and_change_nothing() {
    let (standin, api, room, _) = setup().await;
    let path = format!("/v1/Rooms/{room}/Participants/viewer/SubscribeRules");
    let good = r#"[{"type":"include","publisher":"host"}]"#;
    assert_eq!(api.post(&path, &[("Rules", good)]).await.status, 200);
    let kept = standin.subscribe_rules(&room, "viewer");

    let rule = json!({"type": "include", "kind": "video"});
    let twenty_one = Value::Array(vec![rule.clone(); 21]).to_string();
    let twenty = Value::Array(vec![rule; 20]).to_string();
    let invalid = [
        ("empty set", "[]"),
        ("21 rules", twenty_one.as_str()),
        ("not JSON", "[{type:include}]"),
        ("not an array", r#""include""#),
        ("rule not an object", r#"["include"]"#),
        ("no type", r#"[{"publisher":"host"}]"#),
        ("bad type", r#"[{"type":"allow","all":true}]"#),
        ("bad kind", r#"[{"type":"include","kind":"screen"}]"#),
        (
            "bad priority",
            r#"[{"type":"include","all":true,"priority":"urgent"}]"#,
        ),
        ("all not boolean", r#"[{"type":"include","all":"yes"}]"#),
        ("no filter", r#"[{"type":"include"}]"#),
        (
            "unknown field",
            r#"[{"type":"include","all":true,"room":"x"}]"#,
        ),
    ];
    for (what, rules) in invalid {
        let reply = api.post(&path, &[("Rules", rules)]).await;
        assert_eq!(
            (reply.status, reply.code()),
            (400, Some(53215)),
            "{what}: {:?}",
            reply.body
        );
    }
    let missing = api.post(&path, &[]).await;
    assert_eq!((missing.status, missing.code()), (400, Some(53215)));
    assert_eq!(standin.subscribe_rules(&room, "viewer"), kept);

    let max = api.post(&path, &[("Rules", &twenty)]).await;
    assert_eq!(max.status, 200, "20 rules are allowed");
    assert_eq!(max.body["rules"].as_array().map(Vec::len), Some(20));
    // Twilio's older form wraps the array in {"rules": ...}.
    let wrapped = api
        .post(
            &path,
            &[("Rules", r#"{"rules":[{"type":"include","all":true}]}"#)],
        )
        .await;
    assert_eq!(wrapped.status, 200);
    standin.shutdown().await;
}

#[tokio::test]
async fn rules_of_unknown_participants_are_404() {
    let (standin, api, room, _) = setup().await;
    let nobody = api
        .post(
            &format!("/v1/Rooms/{room}/Participants/nobody/SubscribeRules"),
            &[("Rules", r#"[{"type":"include","all":true}]"#)],
        )
        .await;
    assert_eq!((nobody.status, nobody.code()), (404, Some(20404)));
    let no_room = api
        .get("/v1/Rooms/elsewhere/Participants/viewer/SubscribeRules")
        .await;
    assert_eq!((no_room.status, no_room.code()), (404, Some(20404)));
    standin.shutdown().await;
}
