//! The contract test: the stand-in and Twilio's OpenAPI specs (`specs/twilio/`) agree in both
//! directions. Every JSON response the stand-in gives for the operations it serves validates
//! against the spec's response schema for that path, method and status (strictly: no field
//! missing, none extra); and a request with a parameter name the spec does not list for that
//! operation, an enum value the spec does not allow, or a malformed integer is rejected with 400.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::common::openapi::{self, Api::Media, Api::Video};
use crate::common::{self, Api, Reply, s};
use serde_json::Value;

/// The operations the stand-in serves: spec, path template, method, success status.
const OPERATIONS: &[(openapi::Api, &str, &str, u16)] = &[
    (Video, "/v1/Rooms", "post", 201),
    (Video, "/v1/Rooms", "get", 200),
    (Video, "/v1/Rooms/{Sid}", "get", 200),
    (Video, "/v1/Rooms/{Sid}", "post", 202),
    (Video, "/v1/Rooms/{RoomSid}/Participants", "get", 200),
    (Video, "/v1/Rooms/{RoomSid}/Participants/{Sid}", "get", 200),
    (Video, "/v1/Rooms/{RoomSid}/Participants/{Sid}", "post", 202),
    (Video, RULES, "get", 200),
    (Video, RULES, "post", 200),
    (Media, "/v1/PlayerStreamers", "post", 201),
    (Media, "/v1/PlayerStreamers", "get", 200),
    (Media, "/v1/PlayerStreamers/{Sid}", "get", 200),
    (Media, "/v1/PlayerStreamers/{Sid}", "post", 200),
    (Media, GRANT, "post", 201),
    (Media, GRANT, "get", 200),
    (Media, "/v1/MediaProcessors", "post", 201),
    (Media, "/v1/MediaProcessors", "get", 200),
    (Media, "/v1/MediaProcessors/{Sid}", "get", 200),
    (Media, "/v1/MediaProcessors/{Sid}", "post", 200),
];
const RULES: &str = "/v1/Rooms/{RoomSid}/Participants/{ParticipantSid}/SubscribeRules";
const GRANT: &str = "/v1/PlayerStreamers/{Sid}/PlaybackGrant";

fn spec_for(api: openapi::Api) -> Value {
    openapi::load(api)
}

/// Drives the stand-in and keeps every response with the operation it answered.
struct Recorder {
    api: Api,
    seen: Vec<(&'static str, &'static str, Reply)>,
}

impl Recorder {
    async fn get(&mut self, template: &'static str, path: &str) -> Value {
        let reply = self.api.get(path).await;
        self.seen.push((template, "get", reply.clone()));
        reply.body
    }

    async fn post(&mut self, template: &'static str, path: &str, form: &[(&str, &str)]) -> Value {
        let reply = self.api.post(path, form).await;
        self.seen.push((template, "post", reply.clone()));
        reply.body
    }
}

#[tokio::test]
async fn every_response_validates_against_the_spec_schema() {
    let standin = common::start().await;
    let mut r = Recorder {
        api: Api::new(&standin),
        seen: Vec::new(),
    };

    // Rooms: one with every optional field we keep, one bare (unique_name = sid).
    let room = r
        .post(
            "/v1/Rooms",
            "/v1/Rooms",
            &[
                ("UniqueName", "livestream-contract"),
                ("Type", "group"),
                ("StatusCallback", "https://example.com/room_events"),
                ("StatusCallbackMethod", "POST"),
                ("MaxParticipantDuration", "600"),
                ("EmptyRoomTimeout", "1"),
                ("UnusedRoomTimeout", "2"),
            ],
        )
        .await;
    r.post("/v1/Rooms", "/v1/Rooms", &[]).await;
    let room_sid = s(&room, "sid").to_owned();
    let host = standin
        .connect_participant("livestream-contract", "host")
        .expect("host joins");
    standin
        .connect_participant(&room_sid, "viewer-1")
        .expect("viewer joins");

    r.get("/v1/Rooms/{Sid}", &format!("/v1/Rooms/{room_sid}"))
        .await;
    r.get("/v1/Rooms/{Sid}", "/v1/Rooms/livestream-contract")
        .await;
    r.get("/v1/Rooms", "/v1/Rooms").await;
    let first = r
        .get("/v1/Rooms", "/v1/Rooms?Status=in-progress&PageSize=1")
        .await;
    let next = first["meta"]["next_page_url"]
        .as_str()
        .expect("a next page")
        .to_owned();
    r.get("/v1/Rooms", &next).await;

    let participants = format!("/v1/Rooms/{room_sid}/Participants");
    r.get("/v1/Rooms/{RoomSid}/Participants", &participants)
        .await;
    r.get(
        "/v1/Rooms/{RoomSid}/Participants",
        &format!("{participants}?Status=connected&PageSize=1"),
    )
    .await;
    r.get(
        "/v1/Rooms/{RoomSid}/Participants/{Sid}",
        &format!("{participants}/{host}"),
    )
    .await;
    r.get(
        "/v1/Rooms/{RoomSid}/Participants/{Sid}",
        &format!("{participants}/viewer-1"),
    )
    .await;

    let rules = format!("{participants}/viewer-1/SubscribeRules");
    r.get(RULES, &rules).await; // never set: Twilio's default rule, null dates
    r.post(
        RULES,
        &rules,
        &[("Rules", r#"[{"type":"include","publisher":"host"},{"type":"exclude","kind":"data","priority":"low"}]"#)],
    )
    .await;
    r.get(RULES, &rules).await;
    r.post(
        "/v1/Rooms/{RoomSid}/Participants/{Sid}",
        &format!("{participants}/viewer-1"),
        &[("Status", "disconnected")],
    )
    .await;
    r.get(
        "/v1/Rooms/{RoomSid}/Participants/{Sid}",
        &format!("{participants}/viewer-1"),
    )
    .await;

    // Live: streamer, processor (starts the streamer), grant, then end both.
    let streamer = r
        .post(
            "/v1/PlayerStreamers",
            "/v1/PlayerStreamers",
            &[
                ("Video", "true"),
                ("StatusCallback", "https://example.com/ps"),
                ("StatusCallbackMethod", "GET"),
                ("MaxDuration", "3600"),
            ],
        )
        .await;
    let vj = s(&streamer, "sid").to_owned();
    r.get(
        "/v1/PlayerStreamers/{Sid}",
        &format!("/v1/PlayerStreamers/{vj}"),
    )
    .await;
    let context =
        serde_json::json!({"room": {"name": "livestream-contract"}, "outputs": [vj]}).to_string();
    let processor = r
        .post(
            "/v1/MediaProcessors",
            "/v1/MediaProcessors",
            &[
                ("Extension", "video-composer-v2"),
                ("ExtensionContext", &context),
                ("ExtensionEnvironment", r#"{"identity":"composer"}"#),
                ("StatusCallback", "https://example.com/mp"),
                ("MaxDuration", "3600"),
            ],
        )
        .await;
    let zx = s(&processor, "sid").to_owned();
    let grant_path = format!("/v1/PlayerStreamers/{vj}/PlaybackGrant");
    let grant = r
        .post(
            GRANT,
            &grant_path,
            &[
                ("Ttl", "60"),
                ("AccessControlAllowOrigin", "https://example.com"),
            ],
        )
        .await;
    r.get(GRANT, &grant_path).await;
    r.get("/v1/PlayerStreamers", "/v1/PlayerStreamers").await;
    r.get(
        "/v1/PlayerStreamers",
        "/v1/PlayerStreamers?Status=started&Order=asc",
    )
    .await;
    r.get("/v1/MediaProcessors", "/v1/MediaProcessors").await;
    r.get(
        "/v1/MediaProcessors/{Sid}",
        &format!("/v1/MediaProcessors/{zx}"),
    )
    .await;
    r.post(
        "/v1/MediaProcessors/{Sid}",
        &format!("/v1/MediaProcessors/{zx}"),
        &[("Status", "ended")],
    )
    .await;
    r.post(
        "/v1/PlayerStreamers/{Sid}",
        &format!("/v1/PlayerStreamers/{vj}"),
        &[("Status", "ended")],
    )
    .await;
    r.get(
        "/v1/MediaProcessors",
        "/v1/MediaProcessors?Status=ended&Order=desc&PageSize=5",
    )
    .await;

    // A completed room (end_time, duration) and a streamer ended by its max duration.
    r.post(
        "/v1/Rooms/{Sid}",
        &format!("/v1/Rooms/{room_sid}"),
        &[("Status", "completed")],
    )
    .await;
    r.get("/v1/Rooms/{Sid}", &format!("/v1/Rooms/{room_sid}"))
        .await;
    let short = r
        .post(
            "/v1/PlayerStreamers",
            "/v1/PlayerStreamers",
            &[("MaxDuration", "1")],
        )
        .await;
    standin.advance_clock(Duration::from_secs(2));
    let ended = r
        .get(
            "/v1/PlayerStreamers/{Sid}",
            &format!("/v1/PlayerStreamers/{}", s(&short, "sid")),
        )
        .await;
    assert_eq!(s(&ended, "ended_reason"), "max-duration-exceeded");

    // The grant's inner object has no schema in the spec; pin its shape here.
    let inner = grant["grant"].as_object().expect("grant object");
    let keys: BTreeSet<&str> = inner.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from(["playbackUrl", "playerStreamerSid", "requestCredentials"])
    );
    assert_eq!(inner["playerStreamerSid"], vj.as_str());
    assert!(inner["requestCredentials"].is_null());

    let video = spec_for(Video);
    let media = spec_for(Media);
    let mut failures = Vec::new();
    let mut covered = BTreeSet::new();
    for (template, method, reply) in &r.seen {
        let Some(&(api, _, _, status)) = OPERATIONS
            .iter()
            .find(|(_, t, m, _)| t == template && m == method)
        else {
            panic!("{method} {template} is not in OPERATIONS");
        };
        assert_eq!(
            reply.status, status,
            "{method} {template} answered {:?}",
            reply.body
        );
        let spec = if api == Video { &video } else { &media };
        let validator = openapi::validator(&openapi::response_schema(
            spec, template, method, status, true,
        ));
        for error in openapi::errors(&validator, &reply.body) {
            failures.push(format!("{method} {template} {status}: {error}"));
        }
        covered.insert((*template, *method));
    }
    assert!(
        failures.is_empty(),
        "schema violations:\n{}",
        failures.join("\n")
    );
    let missing: Vec<_> = OPERATIONS
        .iter()
        .filter(|(_, t, m, _)| !covered.contains(&(*t, *m)))
        .collect();
    assert!(
        missing.is_empty(),
        "operations never exercised: {missing:?}"
    );
    standin.shutdown().await;
}

/// The strict conversion is neither too loose nor too tight: Twilio's own examples pass, and a
/// response with a wrong type, a missing field, an extra field or a bad enum fails.
#[test]
fn the_schema_conversion_accepts_twilios_examples_and_rejects_deviations() {
    let video = spec_for(Video);
    let mut checked = 0;
    for &(api, template, method, status) in OPERATIONS {
        if api != Video {
            continue; // the Media spec carries no examples
        }
        let validator = openapi::validator(&openapi::response_schema(
            &video, template, method, status, true,
        ));
        for example in openapi::response_examples(&video, template, method, status) {
            let errors = openapi::errors(&validator, &example);
            assert!(errors.is_empty(), "{method} {template} example: {errors:?}");
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} examples checked");

    let room_schema = openapi::response_schema(&video, "/v1/Rooms/{Sid}", "get", 200, true);
    let validator = openapi::validator(&room_schema);
    let example = openapi::response_examples(&video, "/v1/Rooms/{Sid}", "get", 200)
        .pop()
        .expect("an example");
    assert!(openapi::errors(&validator, &example).is_empty());
    type Mutation = fn(&mut Value);
    let deviations: [(&str, Mutation); 5] = [
        ("wrong type", |v| v["max_participants"] = "50".into()),
        ("missing field", |v| {
            v.as_object_mut().map(|o| o.remove("empty_room_timeout"));
        }),
        ("extra field", |v| v["emptyRoomTimeout"] = 5.into()),
        ("bad enum", |v| v["status"] = "running".into()),
        ("relative url", |v| v["url"] = "/v1/Rooms/RM1".into()),
    ];
    for (what, mutate) in deviations {
        let mut bad = example.clone();
        mutate(&mut bad);
        assert!(
            !openapi::errors(&validator, &bad).is_empty(),
            "{what} was accepted"
        );
    }
}

/// Concrete paths for the path templates, over live resources of one stand-in.
struct Fixture {
    room: String,
    participant: String,
    streamer: String,
    processor: String,
}

impl Fixture {
    async fn new(standin: &twilio_standin::StandIn, api: &Api) -> Fixture {
        let room = s(&api.create_room("livestream-params").await, "sid").to_owned();
        let participant = standin.connect_participant(&room, "viewer").expect("joins");
        let streamer = s(&api.create_streamer().await, "sid").to_owned();
        let processor = api.create_processor(&room, &streamer).await;
        assert_eq!(processor.status, 201, "{:?}", processor.body);
        Fixture {
            room,
            participant,
            streamer,
            processor: processor.str("sid").to_owned(),
        }
    }

    fn path(&self, template: &str) -> String {
        let path = template
            .replace("{RoomSid}", &self.room)
            .replace("{ParticipantSid}", &self.participant);
        if path.starts_with("/v1/Rooms/{Sid}") {
            path.replace("{Sid}", &self.room)
        } else if path.contains("/Participants/{Sid}") {
            path.replace("{Sid}", &self.participant)
        } else if path.starts_with("/v1/PlayerStreamers") {
            path.replace("{Sid}", &self.streamer)
        } else {
            path.replace("{Sid}", &self.processor)
        }
    }
}

async fn send(api: &Api, method: &str, path: &str, params: &[(&str, &str)]) -> Reply {
    if method == "get" {
        api.get_with(path, params).await
    } else {
        api.post(path, params).await
    }
}

/// The message the stand-in gives for a name the operation does not accept.
fn is_unknown_parameter(reply: &Reply) -> bool {
    reply.status == 400 && reply.str("message").contains("is not a valid parameter")
}

#[tokio::test]
async fn unknown_names_bad_enum_values_and_malformed_integers_are_rejected() {
    let standin = common::start().await;
    let api = Api::new(&standin);
    let fixture = Fixture::new(&standin, &api).await;
    let mut checked = 0;
    for &(which, template, method, _) in OPERATIONS {
        let spec = spec_for(which);
        let path = fixture.path(template);
        let params = openapi::request_params(&spec, template, method);
        let required: Vec<(String, String)> = params
            .iter()
            .filter(|p| p.required)
            .map(|p| (p.name.clone(), p.sample(&spec)))
            .collect();
        let with = |extra: (&str, &str), skip: &str| -> Vec<(String, String)> {
            let mut all: Vec<(String, String)> = required
                .iter()
                .filter(|(n, _)| n != skip)
                .cloned()
                .collect();
            all.push((extra.0.to_owned(), extra.1.to_owned()));
            all
        };
        let mut cases: Vec<(String, Vec<(String, String)>)> = vec![(
            "unknown name".to_owned(),
            with(("NotATwilioParameter", "1"), ""),
        )];
        for p in &params {
            if p.allowed(&spec).is_some() {
                cases.push((
                    format!("bad enum value for {}", p.name),
                    with((&p.name, "not-an-allowed-value"), &p.name),
                ));
            }
            if p.is_integer() {
                cases.push((
                    format!("malformed integer for {}", p.name),
                    with((&p.name, "twelve"), &p.name),
                ));
            }
        }
        for (what, form) in cases {
            let form: Vec<(&str, &str)> =
                form.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            let reply = send(&api, method, &path, &form).await;
            assert_eq!(
                (reply.status, reply.code()),
                (400, Some(20001)),
                "{what} on {method} {template}: {:?}",
                reply.body
            );
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} cases");

    // The two examples the brief names: `Type=go` is in the spec's enum, `Status=running` is not.
    let go = api.post("/v1/Rooms", &[("Type", "go")]).await;
    assert_eq!((go.status, go.str("type")), (201, "go"));
    let running = api.get_with("/v1/Rooms", &[("Status", "running")]).await;
    assert_eq!((running.status, running.code()), (400, Some(20001)));
    // Names are case sensitive, as in the spec.
    let lower = api.post("/v1/Rooms", &[("uniqueName", "x")]).await;
    assert!(is_unknown_parameter(&lower), "{:?}", lower.body);
    standin.shutdown().await;
}

#[tokio::test]
async fn every_parameter_the_spec_lists_is_accepted_by_name() {
    let standin = common::start().await;
    let api = Api::new(&standin);
    let fixture = Fixture::new(&standin, &api).await;
    let mut checked = 0;
    for &(which, template, method, _) in OPERATIONS {
        let spec = spec_for(which);
        let path = fixture.path(template);
        let params = openapi::request_params(&spec, template, method);
        for p in &params {
            let mut form: Vec<(String, String)> = params
                .iter()
                .filter(|q| q.required && q.name != p.name)
                .map(|q| (q.name.clone(), q.sample(&spec)))
                .collect();
            form.push((p.name.clone(), p.sample(&spec)));
            let form: Vec<(&str, &str)> =
                form.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            let reply = send(&api, method, &path, &form).await;
            assert!(
                !is_unknown_parameter(&reply),
                "{} rejected on {method} {template}: {:?}",
                p.name,
                reply.body
            );
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} parameters");
    standin.shutdown().await;
}
