//! The media relay end to end: real WebRTC peers (str0m, `onair_test_support::relay_peer`) publish and watch
//! through WHIP/WHEP on a stand-in bound to 127.0.0.1, and the tests check what arrives, who is
//! refused, and how sessions follow the REST state (rules, room completion, disconnects). This
//! file holds the stream rooms' tests; `waiting` the viewers that wait for a publisher, stalls and
//! first-packet timestamps; `meeting` the meeting rooms (several publishers).
//! Every wait has a deadline; every peer and stand-in stops when its test ends, even on failure.

mod meeting;
mod waiting;

use std::time::Duration;

use serde_json::{Value, json};
use twilio_standin::{AccessToken, Account, StandIn};

use crate::common::{self, Api, s};
use onair_test_support::relay_peer::{self as peer, Load, Peer};

/// How long a peer may take to connect, and media to arrive, on a busy 2-core machine.
const CONNECT: Duration = Duration::from_secs(15);
const MEDIA: Duration = Duration::from_secs(15);

struct Setup {
    standin: StandIn,
    api: Api,
    http: reqwest::Client,
    account: Account,
    room_sid: String,
    room: String,
}

async fn setup() -> Setup {
    setup_room(format!("livestream-{}", unique())).await
}

/// A stand-in with the in-progress room `room` (a `meeting-...` name makes a meeting room).
async fn setup_room(room: String) -> Setup {
    let standin = common::start().await;
    let api = Api::new(&standin);
    let created = api.create_room(&room).await;
    Setup {
        account: standin.account().clone(),
        room_sid: s(&created, "sid").to_owned(),
        room,
        api,
        http: reqwest::Client::new(),
        standin,
    }
}

fn unique() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{:08x}{:04x}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

impl Setup {
    fn now(&self) -> i64 {
        self.standin.now_unix() as i64
    }

    fn token(&self, identity: &str, room: &str) -> String {
        AccessToken::video(identity, room, self.now(), 3600).sign(&self.account)
    }

    fn whip(&self, room: &str) -> String {
        format!("{}/media/whip/{room}", self.standin.base_url())
    }

    fn whep(&self, room: &str) -> String {
        format!("{}/media/whep/{room}", self.standin.base_url())
    }

    async fn publish(&self, identity: &str) -> Peer {
        let peer = Peer::publish(
            &self.http,
            &self.whip(&self.room),
            &self.token(identity, &self.room),
            Load::default(),
        )
        .await
        .unwrap_or_else(|r| panic!("WHIP refused: {r:?}"));
        peer.wait_for("the publisher to connect", CONNECT, |c| c.connected)
            .await;
        peer
    }

    async fn watch(&self, identity: &str) -> Peer {
        let peer = Peer::watch(
            &self.http,
            &self.whep(&self.room),
            &self.token(identity, &self.room),
        )
        .await
        .unwrap_or_else(|r| panic!("WHEP refused: {r:?}"));
        peer.wait_for("a viewer to connect", CONNECT, |c| c.connected)
            .await;
        peer
    }

    async fn include_host(&self, viewer: &str) {
        let reply = self
            .api
            .post(
                &format!(
                    "/v1/Rooms/{}/Participants/{viewer}/SubscribeRules",
                    self.room_sid
                ),
                &[("Rules", r#"[{"type":"include","publisher":"host"}]"#)],
            )
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
    }

    /// `identity`'s participant status (`connected`/`disconnected`), over REST.
    async fn participant_status(&self, identity: &str) -> String {
        let reply = self
            .api
            .get(&format!(
                "/v1/Rooms/{}/Participants/{identity}",
                self.room_sid
            ))
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        s(&reply.body, "status").to_owned()
    }

    async fn counts(&self, token: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!(
                "{}/media/rooms/{}",
                self.standin.base_url(),
                self.room
            ))
            .bearer_auth(token)
            .send()
            .await
            .expect("an answer");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// Waits until `check` holds, polling the stand-in, or panics naming `what`.
async fn eventually(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + limit;
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the relay has closed each peer (named for the failure message), then until it
/// holds no media session at all.
async fn closed_and_gone(standin: &StandIn, peers: &[(&Peer, &str)]) {
    for (peer, who) in peers {
        peer.wait_for(&format!("the relay to close {who}"), CONNECT, |c| c.closed)
            .await;
    }
    eventually("the sessions to be gone", CONNECT, || {
        standin.media_sessions().is_empty()
    })
    .await;
}

fn received_all(c: &peer::Counts, n: u64) -> bool {
    c.received.iter().all(|&r| r >= n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_receive_the_hosts_tracks_once_their_rules_include_the_host() {
    let t = setup().await;
    let host = t.publish("host").await;
    let mut viewers = Vec::new();
    for i in 1..=3 {
        viewers.push(t.watch(&format!("viewer-{i}")).await);
    }
    let without_rules = t.watch("viewer-without-rules").await;

    // Every session is a participant of the room.
    let listed = t
        .api
        .get_with(
            &format!("/v1/Rooms/{}/Participants", t.room_sid),
            &[("Status", "connected")],
        )
        .await;
    let mut identities: Vec<&str> = listed.body["participants"]
        .as_array()
        .expect("a participant list")
        .iter()
        .map(|p| s(p, "identity"))
        .collect();
    identities.sort_unstable();
    assert_eq!(
        identities,
        [
            "host",
            "viewer-1",
            "viewer-2",
            "viewer-3",
            "viewer-without-rules"
        ]
    );

    for i in 1..=3 {
        t.include_host(&format!("viewer-{i}")).await;
    }
    for (i, v) in viewers.iter().enumerate() {
        let c = v
            .wait_for(
                &format!("viewer-{} to receive screen, microphone and webcam", i + 1),
                MEDIA,
                |c| received_all(c, 30),
            )
            .await;
        assert_eq!(c.misrouted, 0, "every packet on its own m-line: {c:?}");
    }
    // Same time on the air, no rules: nothing at all.
    assert_eq!(without_rules.counts().received, [0, 0, 0]);
    assert_eq!(without_rules.counts().misrouted, 0);
    // The relay asked the publisher for keyframes when viewers started receiving video.
    assert!(host.counts().keyframe_requests >= 1, "{:?}", host.counts());
    let stats = t.standin.media_stats();
    assert!(stats.packets_forwarded >= 3 * 90, "{stats:?}");
    assert!(stats.keyframe_requests >= 1, "{stats:?}");

    let (status, counts) = t.counts(&t.token("viewer-1", &t.room)).await;
    assert_eq!(status, 200);
    // A stream room lists its publishing participant, never the audience.
    let host_sid = t.standin.participants(&t.room)[0].sid.clone();
    assert_eq!(
        counts,
        json!({"publishers": 1, "viewers": 4, "participants": [{
            "identity": "host", "sid": host_sid, "publications": [
                {"kind": "camera", "muted": false},
                {"kind": "mic", "muted": false},
                {"kind": "screen", "muted": false}]}]})
    );

    // Rules are checked as packets are forwarded: media starts right after they are set.
    t.include_host("viewer-without-rules").await;
    without_rules
        .wait_for("the late viewer to receive everything", MEDIA, |c| {
            received_all(c, 10)
        })
        .await;

    // Rules that exclude the audio stop it while the video keeps coming.
    let reply = t
        .api
        .post(
            &format!(
                "/v1/Rooms/{}/Participants/viewer-1/SubscribeRules",
                t.room_sid
            ),
            &[(
                "Rules",
                r#"[{"type":"include","publisher":"host"},{"type":"exclude","kind":"audio"}]"#,
            )],
        )
        .await;
    assert_eq!(reply.status, 200);
    let before = viewers[0].counts();
    viewers[0]
        .wait_for("more video for viewer-1", MEDIA, |c| {
            c.received[0] >= before.received[0] + 60
        })
        .await;
    let settled = viewers[0].counts().received[1];
    viewers[0]
        .wait_for("still more video", MEDIA, |c| {
            c.received[0] >= before.received[0] + 120
        })
        .await;
    assert_eq!(
        viewers[0].counts().received[1],
        settled,
        "no audio after the exclude rule"
    );

    for v in viewers {
        v.close().await;
    }
    without_rules.close().await;
    host.close().await;
    t.standin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_tokens_twilio_would_refuse_and_unknown_rooms() {
    let t = setup().await;
    let other = format!("livestream-{}", unique());
    t.api.create_room(&other).await;
    let offer = "v=0\r\n"; // never read: authorisation comes first
    let post = |url: String, token: Option<String>, content_type: &'static str| {
        let mut request = t
            .http
            .post(url)
            .header("Content-Type", content_type)
            .body(offer);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move {
            let response = request.send().await.expect("an answer");
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            (status, headers, body)
        }
    };
    let now = t.now();
    let sdp = "application/sdp";
    let cases: Vec<(&str, String, Option<String>, u16, u64)> = vec![
        (
            "a token for another room",
            t.whip(&t.room),
            Some(t.token("host", &other)),
            401,
            20106,
        ),
        (
            "the same, to watch",
            t.whep(&t.room),
            Some(t.token("v", &other)),
            401,
            20106,
        ),
        (
            "an expired token",
            t.whip(&t.room),
            Some(AccessToken::video("host", &t.room, now - 3600, 60).sign(&t.account)),
            401,
            20104,
        ),
        (
            "a token signed with another key",
            t.whep(&t.room),
            Some(AccessToken::video("v", &t.room, now, 60).sign_with(
                &t.account.api_key_sid,
                &t.account.account_sid,
                "not-the-secret",
            )),
            401,
            20107,
        ),
        (
            "a token of another account",
            t.whep(&t.room),
            Some(AccessToken::video("v", &t.room, now, 60).sign_with(
                &t.account.api_key_sid,
                "AC00000000000000000000000000000000",
                &t.account.api_key_secret,
            )),
            401,
            20103,
        ),
        ("no token", t.whip(&t.room), None, 401, 20101),
        (
            "garbage",
            t.whip(&t.room),
            Some("abc.def.ghi".into()),
            401,
            20101,
        ),
        (
            "an unknown room",
            t.whip("livestream-nope"),
            Some(t.token("host", "livestream-nope")),
            404,
            53106,
        ),
    ];
    for (what, url, token, status, code) in cases {
        let (got, headers, body) = post(url, token, sdp).await;
        assert_eq!(got, status, "{what}: {body}");
        assert_eq!(body["code"], code, "{what}: {body}");
        assert_eq!(body["status"], status, "{what}: {body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}"
        );
        assert!(
            body["more_info"]
                .as_str()
                .is_some_and(|m| m.ends_with(&code.to_string())),
            "{what}"
        );
        assert_eq!(headers["access-control-allow-origin"], "*", "{what}");
        assert_eq!(t.standin.media_sessions().len(), 0, "{what}");
    }
    // Nobody joined the room on the way.
    assert!(t.standin.participants(&t.room).is_empty());

    // The stand-in's clock decides expiry: a token valid now is refused once the clock moves.
    let short = AccessToken::video("host", &t.room, now, 60).sign(&t.account);
    let (status, _, body) = post(t.whip(&t.room), Some(short.clone()), sdp).await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (400, Some(20001)),
        "valid token, bad offer: {body}"
    );
    t.standin.advance_clock(Duration::from_secs(120));
    let (status, _, body) = post(t.whip(&t.room), Some(short), sdp).await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (401, Some(20104)),
        "{body}"
    );

    // Not SDP; no PATCH (no trickle); a completed room is gone; CORS preflight.
    let token = t.token("host", &t.room);
    let (status, _, body) = post(t.whip(&t.room), Some(token.clone()), "application/json").await;
    assert_eq!(status, 415, "{body}");
    let patch = t
        .http
        .patch(t.whip(&t.room))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status().as_u16(), 405);
    let preflight = t
        .http
        .request(reqwest::Method::OPTIONS, t.whep(&t.room))
        .header("Origin", "http://127.0.0.1:9999")
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status().as_u16(), 204);
    let h = preflight.headers();
    assert_eq!(h["access-control-allow-origin"], "*");
    assert!(
        h["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("Authorization")
    );
    assert!(
        h["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    assert_eq!(h["access-control-expose-headers"], "Location");

    let (status, _) = t.counts("not-a-token").await;
    assert_eq!(status, 401);
    let reply = t
        .api
        .post(
            &format!("/v1/Rooms/{}", t.room_sid),
            &[("Status", "completed")],
        )
        .await;
    assert_eq!(reply.status, 202);
    let (status, _, body) = post(t.whep(&t.room), Some(t.token("v", &t.room)), sdp).await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (404, Some(53106)),
        "{body}"
    );
    let (status, _) = t.counts(&t.token("v", &t.room)).await;
    assert_eq!(status, 404);
    t.standin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completing_the_room_ends_every_media_session() {
    let t = setup().await;
    let host = t.publish("host").await;
    let viewer = t.watch("viewer").await;
    t.include_host("viewer").await;
    viewer
        .wait_for("media", MEDIA, |c| received_all(c, 5))
        .await;

    let reply = t
        .api
        .post(
            &format!("/v1/Rooms/{}", t.room_sid),
            &[("Status", "completed")],
        )
        .await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    closed_and_gone(
        &t.standin,
        &[(&host, "the publisher"), (&viewer, "the viewer")],
    )
    .await;
    assert!(
        t.standin
            .participants(&t.room)
            .iter()
            .all(|p| p.status == "disconnected"),
        "{:?}",
        t.standin.participants(&t.room)
    );
    let stats = t.standin.media_stats();
    assert_eq!(
        (stats.sessions_opened, stats.sessions_closed),
        (2, 2),
        "{stats:?}"
    );
    host.close().await;
    viewer.close().await;
    t.standin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_and_rest_disconnects_end_sessions_and_participants() {
    let t = setup().await;
    let host = t.publish("host").await;
    let leaving = t.watch("leaving").await;
    let kicked = t.watch("kicked").await;
    let staying = t.watch("staying").await;
    for v in ["leaving", "kicked", "staying"] {
        t.include_host(v).await;
    }
    staying
        .wait_for("media", MEDIA, |c| received_all(c, 5))
        .await;

    // DELETE (WHIP/WHEP teardown): the participant is disconnected before the answer.
    let url = format!("{}{}", t.standin.base_url(), leaving.location);
    assert!(
        leaving.location.starts_with("/media/sessions/MS"),
        "{}",
        leaving.location
    );
    let deleted = t.http.delete(&url).send().await.unwrap();
    assert_eq!(deleted.status().as_u16(), 204);
    assert_eq!(t.participant_status("leaving").await, "disconnected");
    leaving
        .wait_for("the relay to close the session", CONNECT, |c| c.closed)
        .await;
    // DELETE is idempotent: the session has ended, which is what a second one asks for.
    assert_eq!(
        t.http.delete(&url).send().await.unwrap().status().as_u16(),
        204
    );

    // A REST disconnect (what Twilio's API does) ends the session too.
    let reply = t
        .api
        .post(
            &format!("/v1/Rooms/{}/Participants/kicked", t.room_sid),
            &[("Status", "disconnected")],
        )
        .await;
    assert_eq!(reply.status, 202);
    kicked
        .wait_for("the relay to close the kicked viewer", CONNECT, |c| {
            c.closed
        })
        .await;

    // The others are untouched and still receiving.
    let before = staying.counts().received;
    staying
        .wait_for("more media", MEDIA, |c| c.received[0] > before[0] + 30)
        .await;
    assert!(!host.counts().closed && !staying.counts().closed);
    let (status, counts) = t.counts(&t.token("host", &t.room)).await;
    assert_eq!(
        (status, &counts["publishers"], &counts["viewers"]),
        (200, &json!(1), &json!(1))
    );

    // The same identity connecting again replaces the earlier participant, as on Twilio.
    let again = t.watch("staying").await;
    staying
        .wait_for("the replaced session to close", CONNECT, |c| c.closed)
        .await;
    assert_eq!(t.participant_status("staying").await, "connected");

    // MaxParticipantDuration (default 4 h) disconnects everyone once the clock passes it.
    t.standin.advance_clock(Duration::from_secs(4 * 3600 + 1));
    closed_and_gone(
        &t.standin,
        &[(&host, "the publisher"), (&again, "the viewer")],
    )
    .await;
    for p in [host, leaving, kicked, staying, again] {
        p.close().await;
    }
    t.standin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_goes_silent_is_disconnected_after_about_ten_seconds() {
    let t = setup().await;
    let host = t.publish("host").await;
    let viewer = t.watch("viewer").await;
    assert_eq!(t.participant_status("viewer").await, "connected");
    let gone = std::time::Instant::now();
    viewer.vanish().await;
    let standin = &t.standin;
    eventually(
        "the silent viewer's session to end",
        Duration::from_secs(25),
        || standin.media_sessions().len() == 1,
    )
    .await;
    let after = gone.elapsed();
    assert!(
        after >= Duration::from_secs(5),
        "not before str0m/silence detection: {after:?}"
    );
    assert_eq!(t.participant_status("viewer").await, "disconnected");
    assert_eq!(t.participant_status("host").await, "connected");
    host.close().await;
    eventually("the publisher's session to end on close", CONNECT, || {
        standin.media_sessions().is_empty()
    })
    .await;
    assert_eq!(t.participant_status("host").await, "disconnected");
    t.standin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_viewers_watch_the_room_a_media_processor_feeds_without_rules() {
    let t = setup().await;
    let host = t.publish("host").await;
    let streamer = t.api.create_streamer().await;
    let streamer_sid = s(&streamer, "sid").to_owned();
    let processor = t.api.create_processor(&t.room, &streamer_sid).await;
    assert_eq!(processor.status, 201, "{:?}", processor.body);
    let grant = t
        .api
        .post(
            &format!("/v1/PlayerStreamers/{streamer_sid}/PlaybackGrant"),
            &[("Ttl", "60")],
        )
        .await;
    assert_eq!(grant.status, 201, "{:?}", grant.body);
    let token = AccessToken::playback("live-viewer", grant.body["grant"].clone(), t.now(), 600)
        .sign(&t.account);

    let viewer = Peer::watch(&t.http, &t.whep(&t.room), &token)
        .await
        .unwrap_or_else(|r| panic!("WHEP refused: {r:?}"));
    let c = viewer
        .wait_for("the composed stream", MEDIA, |c| received_all(c, 20))
        .await;
    assert_eq!(c.misrouted, 0);
    // A Live viewer is not a participant of the room (as on Twilio Live), but it is counted.
    assert!(
        t.standin
            .participants(&t.room)
            .iter()
            .all(|p| p.identity != "live-viewer")
    );
    let (status, counts) = t.counts(&token).await;
    assert_eq!(
        (status, &counts["publishers"], &counts["viewers"]),
        (200, &json!(1), &json!(1))
    );
    assert_eq!(counts["participants"][0]["identity"], "host");

    // A streamer that nothing feeds from this room grants nothing.
    let idle = t.api.create_streamer().await;
    let idle_grant = json!({"playbackUrl": "x", "playerStreamerSid": s(&idle, "sid"), "requestCredentials": null});
    let refused = Peer::watch(
        &t.http,
        &t.whep(&t.room),
        &AccessToken::playback("v2", idle_grant, t.now(), 600).sign(&t.account),
    )
    .await
    .err()
    .expect("refused");
    assert_eq!(refused.status, 401, "{}", refused.body);

    // Ending the media processor ends the Live viewers' sessions.
    let processor_sid = s(&processor.body, "sid").to_owned();
    let ended = t
        .api
        .post(
            &format!("/v1/MediaProcessors/{processor_sid}"),
            &[("Status", "ended")],
        )
        .await;
    assert_eq!(ended.status, 200, "{:?}", ended.body);
    viewer
        .wait_for("the Live viewer to be closed", CONNECT, |c| c.closed)
        .await;
    assert!(!host.counts().closed);
    viewer.close().await;
    host.close().await;
    t.standin.shutdown().await;
}

/// WHEP through the fault layer, as the pages' failure tests use it: an injected 5xx opens no
/// session and no participant; a late answer opens both at once, and the viewer connects once the
/// answer arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whep_answers_an_injected_error_or_late() {
    use twilio_standin::{Fault, FaultAction};
    let t = setup().await;
    let host = t.publish("host").await;
    t.standin.inject(Fault::once(
        Some("POST"),
        "/media/whep/",
        FaultAction::Status(503),
    ));
    let refused = Peer::watch(&t.http, &t.whep(&t.room), &t.token("viewer", &t.room))
        .await
        .err()
        .expect("the injected 503");
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert_eq!(t.standin.media_sessions().len(), 1, "the publisher's only");
    assert!(
        t.standin
            .participants(&t.room)
            .iter()
            .all(|p| p.identity != "viewer")
    );

    let delay = Duration::from_secs(2);
    t.standin.inject(Fault::once(
        Some("POST"),
        "/media/whep/",
        FaultAction::Delay(delay),
    ));
    let started = std::time::Instant::now();
    let (url, token) = (t.whep(&t.room), t.token("viewer", &t.room));
    let watching = Peer::watch(&t.http, &url, &token);
    tokio::pin!(watching);
    let standin = &t.standin;
    let joined = eventually("the viewer to join while its answer is held", delay, || {
        standin
            .participants(&t.room)
            .iter()
            .any(|p| p.identity == "viewer" && p.status == "connected")
    });
    tokio::select! {
        _ = &mut watching => panic!("the answer came before the viewer joined"),
        () = joined => {}
    }
    let viewer = watching.await.expect("accepted, late");
    assert!(
        started.elapsed() >= delay,
        "answered after {:?}",
        started.elapsed()
    );
    viewer
        .wait_for("the late viewer to connect", CONNECT, |c| c.connected)
        .await;
    assert_eq!(t.standin.faults_fired(), 2);
    viewer.close().await;
    host.close().await;
    t.standin.shutdown().await;
}
