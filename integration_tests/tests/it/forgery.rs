//! Forged and misused tokens, in both audience modes, against a live stream: a viewer token for
//! another room on `subscribe`, an audience token used as the host's on `stream_start` and
//! `stream_stop`, a token signed with another key, an expired token, a token with `alg: none`,
//! and the host identity inside an audience token. Each is refused, and the stream goes on.
//!
//! All but the first are refused locally (401, no Twilio call). The first is a genuine token:
//! signed with our key, for a viewer identity and one of our rooms. `subscribe` acts only on the
//! room and identity inside the token, so the one Twilio call it makes is about that other room,
//! where the viewer is not connected: Twilio answers 404 and the caller gets 404 `not_found`.
//! Only Twilio knows who is connected where; what the token cannot do is touch the live room.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lambda_http::{Body, Request};
use onair_integration_tests::*;
use serde_json::{Value, json};

/// What a forgery is tried against, and how the token is presented there.
fn host_requests(token: &str) -> Vec<(Endpoint, Request)> {
    vec![
        (Endpoint::StreamStart, bearer(token)),
        (Endpoint::StreamStart, post_json(json!({ "token": token }))),
        (Endpoint::StreamStop, bearer(token)),
        // What `navigator.sendBeacon` sends as the tab closes.
        (
            Endpoint::StreamStop,
            request("POST", Some("text/plain"), Body::Text(token.to_owned())),
        ),
    ]
}

fn every_request(token: &str) -> Vec<(Endpoint, Request)> {
    let mut requests = host_requests(token);
    requests.push((Endpoint::Subscribe, bearer(token)));
    requests
}

/// A live stream with a viewer connected, in room or live mode.
struct Scene {
    stack: Stack,
    mode: &'static str,
    room: String,
    host_token: String,
    /// The audience token the service gave the viewer, and the viewer's identity.
    audience_token: String,
    viewer: String,
}

impl Scene {
    async fn start(mode: &'static str) -> Scene {
        let stack = Stack::start(&[("AUDIENCE_MODE", mode)]).await;
        let login = stack.live_stream().await;
        let room = login["room"].as_str().unwrap().to_owned();
        let (status, audience) = stack.call(Endpoint::AudienceToken, post_empty()).await;
        assert_eq!(
            (status, audience["live"].as_bool()),
            (200, Some(true)),
            "{audience}"
        );
        let viewer = audience["identity"].as_str().unwrap().to_owned();
        stack.standin.connect_participant(&room, &viewer).unwrap();
        Scene {
            room,
            host_token: login["token"].as_str().unwrap().to_owned(),
            audience_token: audience["token"].as_str().unwrap().to_owned(),
            viewer,
            mode,
            stack,
        }
    }

    fn key(&self) -> String {
        self.stack.standin.account().api_key_secret.clone()
    }

    /// Sends each request; each must be refused with `status` and, where `local`, cost no
    /// Twilio call.
    async fn refused(&self, what: &str, requests: Vec<(Endpoint, Request)>, want: (u16, &str)) {
        for (endpoint, req) in requests {
            self.stack.standin.clear_calls();
            let (status, body) = self.stack.call(endpoint, req).await;
            assert_eq!(
                (status, body["error"]["code"].as_str()),
                (want.0, Some(want.1)),
                "{} mode, {what} on {endpoint:?}: {body}",
                self.mode
            );
            assert_eq!(
                self.stack.twilio_calls(),
                0,
                "{} mode, {what} on {endpoint:?} cost Twilio calls: {:?}",
                self.mode,
                self.stack.standin.calls()
            );
        }
        self.assert_still_live().await;
    }

    /// The room, and in live mode its Live resources, are still running.
    async fn assert_still_live(&self) {
        assert_eq!(self.stack.active_rooms(), 1, "{} mode", self.mode);
        if self.mode == "live" {
            assert_eq!(
                (
                    self.stack.running_processors(),
                    self.stack.running_streamers()
                ),
                (1, 1)
            );
        }
    }
}

/// `alg: none`: the claims of `jwt` under an unsigned header, with no signature or the old one.
fn unsigned(jwt: &str) -> Vec<String> {
    let parts: Vec<&str> = jwt.split('.').collect();
    ["none", "None", "NONE"]
        .into_iter()
        .flat_map(|alg| {
            let header = URL_SAFE_NO_PAD
                .encode(json!({ "alg": alg, "typ": "JWT", "cty": "twilio-fpa;v=1" }).to_string());
            [
                format!("{header}.{}.", parts[1]),
                format!("{header}.{}.{}", parts[1], parts[2]),
            ]
        })
        .collect()
}

async fn each_mode(check: impl AsyncFn(&Scene)) {
    for mode in ["room", "live"] {
        let scene = Scene::start(mode).await;
        check(&scene).await;
        scene.stack.standin.shutdown().await;
    }
}

#[tokio::test]
async fn subscribe_refuses_a_token_for_another_room() {
    let stack = Stack::room().await;
    let login = stack.live_stream().await;
    let live_room = login["room"].as_str().unwrap().to_owned();
    stack
        .standin
        .connect_participant(&live_room, "viewer-1")
        .unwrap();
    // Another of our rooms: the host logged in again, so it exists and is in progress.
    let other = stack.host_login().await;
    let other_room = other["room"].as_str().unwrap().to_owned();
    let rules_before = stack.standin.subscribe_rules(&live_room, "viewer-1");

    let token = signed_token(
        &stack,
        json!({ "identity": "viewer-1", "video": { "room": other_room } }),
        600,
        &stack.standin.account().api_key_secret.clone(),
    );
    stack.standin.clear_calls();
    let (status, body) = stack.call(Endpoint::Subscribe, bearer(&token)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found")),
        "{body}"
    );
    // One call, about the other room only; the viewer's rules in the live room are untouched.
    let calls = stack.standin.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(calls[0].path.contains(&other_room) && !calls[0].path.contains(&live_room));
    assert_eq!(
        stack.standin.subscribe_rules(&live_room, "viewer-1"),
        rules_before
    );
    stack.standin.shutdown().await;
}

#[tokio::test]
async fn an_audience_token_is_not_a_host_token() {
    each_mode(async |scene: &Scene| {
        scene
            .refused(
                "the audience token",
                host_requests(&scene.audience_token),
                (401, "unauthorized"),
            )
            .await;
        // A viewer token for the live room, as room mode hands them out, is no host token
        // either.
        let viewer_token = signed_token(
            &scene.stack,
            json!({ "identity": scene.viewer, "video": { "room": scene.room } }),
            600,
            &scene.key(),
        );
        scene
            .refused(
                "a viewer's room token",
                host_requests(&viewer_token),
                (401, "unauthorized"),
            )
            .await;
    })
    .await;
}

#[tokio::test]
async fn a_token_signed_with_another_key_is_refused() {
    each_mode(async |scene: &Scene| {
        for grants in [
            json!({ "identity": "presenter", "video": { "room": scene.room } }),
            json!({ "identity": scene.viewer, "video": { "room": scene.room } }),
        ] {
            for key in ["not-our-key", "x", "standinApiKeySecret0123456789abC"] {
                let token = signed_token(&scene.stack, grants.clone(), 600, key);
                scene
                    .refused("another key", every_request(&token), (401, "unauthorized"))
                    .await;
            }
        }
    })
    .await;
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    each_mode(async |scene: &Scene| {
        for grants in [
            json!({ "identity": "presenter", "video": { "room": scene.room } }),
            json!({ "identity": scene.viewer, "video": { "room": scene.room } }),
        ] {
            for ago in [-1, -3600] {
                let token = signed_token(&scene.stack, grants.clone(), ago, &scene.key());
                scene
                    .refused(
                        "an expired token",
                        every_request(&token),
                        (401, "unauthorized"),
                    )
                    .await;
            }
        }
    })
    .await;
}

#[tokio::test]
async fn a_token_with_alg_none_is_refused() {
    each_mode(async |scene: &Scene| {
        let viewer_token = signed_token(
            &scene.stack,
            json!({ "identity": scene.viewer, "video": { "room": scene.room } }),
            600,
            &scene.key(),
        );
        for genuine in [&scene.host_token, &viewer_token] {
            for token in unsigned(genuine) {
                scene
                    .refused("alg none", every_request(&token), (401, "unauthorized"))
                    .await;
            }
        }
    })
    .await;
}

#[tokio::test]
async fn the_host_identity_inside_an_audience_token_is_refused() {
    each_mode(async |scene: &Scene| {
        let key = scene.key();
        // Signed with our key: a viewer's grant, with the host's identity in it.
        let forged: Vec<Value> = vec![
            json!({ "identity": "presenter", "video": { "room": scene.room } }),
            json!({ "identity": "presenter", "player": { "playbackGrant": "x" } }),
        ];
        for grants in forged {
            let token = signed_token(&scene.stack, grants.clone(), 600, &key);
            scene
                .refused(
                    "the host identity in a viewer token",
                    vec![(Endpoint::Subscribe, bearer(&token))],
                    (401, "unauthorized"),
                )
                .await;
            if grants.get("player").is_some() {
                // Nor is a playback grant a host token, whoever it names.
                scene
                    .refused(
                        "a playback grant naming the host",
                        host_requests(&token),
                        (401, "unauthorized"),
                    )
                    .await;
            }
        }
        // The host's own token is not an audience token either.
        scene
            .refused(
                "the host token",
                vec![(Endpoint::Subscribe, bearer(&scene.host_token))],
                (401, "unauthorized"),
            )
            .await;
    })
    .await;
}
