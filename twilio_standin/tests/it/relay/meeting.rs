//! Issue 14's relay behaviour in a meeting room (`meeting-...`): every participant publishes a
//! camera session (and maybe a screen session) and watches each other participant through a WHEP
//! session of its own; the sessions of one identity are one participant of the REST state; the
//! room status lists participants, publications and mute state; a participant who leaves or
//! drops is gone from the status and the REST state within 2 s.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{CONNECT, MEDIA, Setup, setup_room, unique};
use onair_test_support::relay_peer::{Load, Peer, Refused, Shape};

/// The bound the product promises for "a participant who leaves or drops disappears".
const GONE: Duration = Duration::from_secs(2);

async fn meeting() -> Setup {
    setup_room(format!("meeting-{}", unique())).await
}

/// A participant's identity as `meeting_token` makes them: random hex, a dot, the name.
fn person(n: u8, name: &str) -> String {
    format!("{n:08x}.{name}")
}

impl Setup {
    fn base(&self) -> String {
        self.standin.base_url()
    }

    /// A camera session (`shape` Camera) or screen session (Screen) of `identity`, connected.
    async fn publish_shape(&self, identity: &str, shape: Shape, origin: u8) -> Peer {
        let query = match shape {
            Shape::Screen => "?kind=screen",
            _ => "",
        };
        let load = Load {
            shape,
            origin,
            ..Load::default()
        };
        let peer = Peer::publish(
            &self.http,
            &format!("{}{query}", self.whip(&self.room)),
            &self.token(identity, &self.room),
            load,
        )
        .await
        .unwrap_or_else(|r| panic!("WHIP refused: {r:?}"));
        peer.wait_for("a publisher to connect", CONNECT, |c| c.connected)
            .await;
        peer
    }

    /// `identity` watches `publisher` (identity or PA sid), connected.
    async fn watch_participant(&self, identity: &str, publisher: &str) -> Peer {
        let peer = self
            .try_watch_participant(identity, publisher)
            .await
            .unwrap_or_else(|r| panic!("WHEP refused: {r:?}"));
        peer.wait_for("a watcher to connect", CONNECT, |c| c.connected)
            .await;
        peer
    }

    async fn try_watch_participant(
        &self,
        identity: &str,
        publisher: &str,
    ) -> Result<Peer, Refused> {
        let url =
            reqwest::Url::parse_with_params(&self.whep(&self.room), &[("publisher", publisher)])
                .expect("a URL");
        Peer::watch(&self.http, url.as_str(), &self.token(identity, &self.room)).await
    }

    /// The room status as `identity` polls it.
    async fn status(&self, identity: &str) -> Value {
        let (status, body) = self.counts(&self.token(identity, &self.room)).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Identities in the status, in order.
    async fn listed(&self, identity: &str) -> Vec<String> {
        self.status(identity).await["participants"]
            .as_array()
            .expect("participants")
            .iter()
            .map(|p| p["identity"].as_str().unwrap_or("").to_owned())
            .collect()
    }

    /// Connected participants over REST, in order.
    fn connected(&self) -> Vec<String> {
        self.standin
            .participants(&self.room)
            .into_iter()
            .filter(|p| p.status == "connected")
            .map(|p| p.identity)
            .collect()
    }

    async fn delete(&self, peer: &Peer) -> u16 {
        self.http
            .delete(format!("{}{}", self.base(), peer.location))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    async fn set_state(&self, peer: &Peer, body: Value) -> (u16, Value) {
        let reply = self
            .http
            .post(format!("{}{}/state", self.base(), peer.location))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = reply.status().as_u16();
        (status, reply.json().await.unwrap_or(Value::Null))
    }

    /// Waits until `identity` is neither in `watcher`'s status poll nor connected over REST;
    /// panics if that takes longer than [`GONE`] from `since`. Answers how long it took.
    async fn wait_gone(&self, identity: &str, watcher: &str, since: Instant) -> Duration {
        loop {
            let listed = self.listed(watcher).await;
            let connected = self.connected();
            if !listed.iter().any(|i| i == identity) && !connected.iter().any(|i| i == identity) {
                return since.elapsed();
            }
            assert!(
                since.elapsed() < GONE,
                "{identity} still there after {:?}: status {listed:?}, REST {connected:?}",
                since.elapsed()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn publication(kind: &str, muted: bool) -> Value {
    json!({"kind": kind, "muted": muted})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_participants_receive_each_other_share_a_screen_and_mute() {
    let t = meeting().await;
    let people = [person(1, "Ana"), person(2, "Bo"), person(3, "Ana")];
    let mut cameras = Vec::new();
    for (i, who) in people.iter().enumerate() {
        cameras.push(t.publish_shape(who, Shape::Camera, i as u8 + 1).await);
    }
    // watchers[(i, j)]: person i watching person j.
    let mut watchers = Vec::new();
    for i in 0..3 {
        for j in 0..3 {
            if i != j {
                let peer = t.watch_participant(&people[i], &people[j]).await;
                watchers.push(((i, j), peer));
            }
        }
    }
    for ((i, j), w) in &watchers {
        let c = w
            .wait_for(
                &format!("person {i} to receive person {j}'s camera and microphone"),
                MEDIA,
                |c| c.received[1] >= 20 && c.received[2] >= 20,
            )
            .await;
        // Audio and video from that person only, on the right m-lines; no screen yet.
        assert_eq!(c.origins, vec![*j as u8 + 1], "{c:?}");
        assert_eq!((c.received[0], c.misrouted), (0, 0), "{c:?}");
    }

    // One participant per person over REST (three sessions each), listed in the status.
    assert_eq!(t.connected(), people.to_vec());
    let status = t.status(&people[0]).await;
    assert_eq!(
        (&status["publishers"], &status["viewers"]),
        (&json!(3), &json!(6))
    );
    let sids: Vec<String> = t
        .standin
        .participants(&t.room)
        .into_iter()
        .map(|p| p.sid)
        .collect();
    let camera_and_mic = json!([publication("camera", false), publication("mic", false)]);
    for (k, p) in status["participants"]
        .as_array()
        .expect("a list")
        .iter()
        .enumerate()
    {
        assert_eq!(p["identity"], people[k].as_str());
        assert_eq!(p["sid"], sids[k].as_str());
        assert_eq!(p["publications"], camera_and_mic);
    }
    // The Rust API shows the same.
    let room = t.standin.media_room(&t.room).expect("a room in progress");
    assert_eq!(serde_json::to_value(room).unwrap(), status);

    // Person 1 shares a screen: a second WHIP session of the same identity, seen by the others
    // on their first video m-line of the session watching person 1.
    let screen = t.publish_shape(&people[1], Shape::Screen, 2).await;
    for ((i, j), w) in &watchers {
        if *j == 1 {
            let c = w
                .wait_for(&format!("person {i} to receive the screen"), MEDIA, |c| {
                    c.received[0] >= 20
                })
                .await;
            assert_eq!((c.origins.clone(), c.misrouted), (vec![2], 0), "{c:?}");
        } else {
            assert_eq!(w.counts().received[0], 0);
        }
    }
    assert_eq!(t.connected(), people.to_vec(), "still one participant each");
    let status = t.status(&people[2]).await;
    assert_eq!(
        status["participants"][1]["publications"],
        json!([
            publication("camera", false),
            publication("mic", false),
            publication("screen", false)
        ])
    );

    // Mute is what the page says: the status shows it to everyone.
    let (code, body) = t.set_state(&cameras[0], json!({"mic_muted": true})).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        body,
        json!({"publications": [publication("camera", false), publication("mic", true)]})
    );
    let (code, _) = t
        .set_state(
            &cameras[2],
            json!({"mic_muted": true, "camera_muted": true}),
        )
        .await;
    assert_eq!(code, 200);
    let status = t.status(&people[1]).await;
    assert_eq!(
        status["participants"][0]["publications"],
        json!([publication("camera", false), publication("mic", true)])
    );
    assert_eq!(
        status["participants"][2]["publications"],
        json!([publication("camera", true), publication("mic", true)])
    );
    let (_, body) = t.set_state(&cameras[0], json!({"mic_muted": false})).await;
    assert_eq!(body["publications"][1], publication("mic", false));
    // Refused: nothing to change, an unknown field, a track the session does not publish, a
    // watching session, an unknown session.
    let (_, watcher) = &watchers[0];
    for (peer, body, code) in [
        (&cameras[0], json!({}), 400),
        (&cameras[0], json!({"screen_muted": true}), 400),
        (&cameras[0], json!({"mic_muted": "yes"}), 400),
        (&screen, json!({"camera_muted": true}), 400),
        (watcher, json!({"mic_muted": true}), 400),
    ] {
        let (got, error) = t.set_state(peer, body.clone()).await;
        assert_eq!(got, code, "{body}: {error}");
        assert_eq!(error["code"], 20001, "{error}");
    }
    let unknown = t
        .http
        .post(format!("{}/media/sessions/MSnope/state", t.base()))
        .json(&json!({"mic_muted": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 404);

    // Stop sharing: the screen session ends, the participant stays with camera and mic.
    assert_eq!(t.delete(&screen).await, 204);
    assert_eq!(t.connected(), people.to_vec());
    let status = t.status(&people[0]).await;
    assert_eq!(status["participants"][1]["publications"], camera_and_mic);

    // A new camera session of the same person replaces the earlier one (same participant) and
    // the others receive it on the sessions they already have.
    let old_sid = sids[0].clone();
    let replacement = t.publish_shape(&people[0], Shape::Camera, 1).await;
    cameras[0]
        .wait_for("the replaced camera session to close", CONNECT, |c| {
            c.closed
        })
        .await;
    assert_eq!(t.standin.participants(&t.room)[0].sid, old_sid);
    assert_eq!(t.connected(), people.to_vec());
    for ((i, j), w) in &watchers {
        if *j == 0 {
            let before = w.counts().received;
            w.wait_for(
                &format!("person {i} to receive person 0's new camera session"),
                MEDIA,
                |c| c.received[1] > before[1] + 20 && c.received[2] > before[2] + 20,
            )
            .await;
            assert!(!w.counts().closed);
        }
    }

    for (_, w) in watchers {
        w.close().await;
    }
    for p in cameras.into_iter().chain([screen, replacement]) {
        p.close().await;
    }
    t.standin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_participant_who_leaves_or_drops_is_gone_within_two_seconds() {
    let t = meeting().await;
    let (ana, bo, cy) = (person(1, "Ana"), person(2, "Bo"), person(3, "Cy"));
    let ana_camera = t.publish_shape(&ana, Shape::Camera, 1).await;

    // Bo leaves by DELETE: he is a participant while any of his sessions is open.
    let bo_camera = t.publish_shape(&bo, Shape::Camera, 2).await;
    let bo_watches_ana = t.watch_participant(&bo, &ana).await;
    let ana_watches_bo = t.watch_participant(&ana, &bo).await;
    ana_watches_bo
        .wait_for("Bo's media", MEDIA, |c| c.received[1] >= 10)
        .await;
    assert_eq!(t.listed(&ana).await, [ana.clone(), bo.clone()]);
    let left = Instant::now();
    assert_eq!(t.delete(&bo_camera).await, 204);
    assert_eq!(t.connected(), [ana.clone(), bo.clone()], "still watching");
    assert_eq!(
        t.status(&ana).await["participants"][1],
        json!({"identity": bo, "sid": t.standin.participants(&t.room)[1].sid, "publications": []})
    );
    assert_eq!(t.delete(&bo_watches_ana).await, 204);
    let took = t.wait_gone(&bo, &ana, left).await;
    eprintln!("Bo left: gone after {took:?}");
    // Ana's session watching Bo is closed by the relay.
    ana_watches_bo
        .wait_for("the relay to close Ana's view of Bo", CONNECT, |c| c.closed)
        .await;
    // Ana's page leaving at that moment DELETEs the session the relay just ended: the DELETE
    // is idempotent (no error for her page); a session that never was is still unknown.
    assert_eq!(t.delete(&ana_watches_bo).await, 204, "an ended session");
    assert_eq!(t.delete(&bo_camera).await, 204, "deleted twice");
    let never = t
        .http
        .delete(format!("{}/media/sessions/MS{}", t.base(), "0".repeat(32)))
        .send()
        .await
        .unwrap();
    assert_eq!(never.status().as_u16(), 404, "a session that never was");

    // Cy drops: camera and watcher vanish without a word; the camera's media stopping is a
    // drop, which disconnects Cy with all his sessions.
    let cy_camera = t.publish_shape(&cy, Shape::Camera, 3).await;
    let cy_watches_ana = t.watch_participant(&cy, &ana).await;
    let ana_watches_cy = t.watch_participant(&ana, &cy).await;
    ana_watches_cy
        .wait_for("Cy's media", MEDIA, |c| c.received[1] >= 10)
        .await;
    cy_watches_ana
        .wait_for("Ana's media at Cy", MEDIA, |c| c.received[1] >= 10)
        .await;
    let dropped = Instant::now();
    cy_camera.vanish().await;
    cy_watches_ana.vanish().await;
    let took = t.wait_gone(&cy, &ana, dropped).await;
    eprintln!("Cy dropped: gone after {took:?}");
    ana_watches_cy
        .wait_for("the relay to close Ana's view of Cy", CONNECT, |c| c.closed)
        .await;
    let standin = &t.standin;
    super::eventually("only Ana's camera session left", CONNECT, || {
        standin.media_sessions().len() == 1
    })
    .await;
    assert_eq!(t.connected(), std::slice::from_ref(&ana));
    assert!(!ana_camera.counts().closed);

    ana_camera.close().await;
    bo_camera.close().await;
    for p in [bo_watches_ana, ana_watches_bo, ana_watches_cy] {
        p.close().await;
    }
    t.standin.shutdown().await;
}

/// When every participant goes quiet at once (this host starved of CPU, as on a busy test
/// machine), nobody is taken for dropped, not even the last to come back: media flows again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everyone_quiet_at_once_is_not_a_drop() {
    let t = meeting().await;
    let (ana, bo) = (person(1, "Ana"), person(2, "Bo"));
    let ana_camera = t.publish_shape(&ana, Shape::Camera, 1).await;
    let bo_camera = t.publish_shape(&bo, Shape::Camera, 2).await;
    let ana_watches_bo = t.watch_participant(&ana, &bo).await;
    let bo_watches_ana = t.watch_participant(&bo, &ana).await;
    for (watcher, what) in [
        (&ana_watches_bo, "Bo's media"),
        (&bo_watches_ana, "Ana's media"),
    ] {
        watcher.wait_for(what, MEDIA, |c| c.received[1] >= 10).await;
    }

    // Longer than the media-stopped time (1.5 s), shorter than the peers' own ICE patience. They
    // come back one by one, as starved processes do: Bo's camera 400 ms after Ana's, which must
    // not make Bo look dropped.
    let quiet = Duration::from_millis(2500);
    let bo_late = Duration::from_millis(400);
    for peer in [&ana_camera, &ana_watches_bo, &bo_watches_ana] {
        peer.freeze(quiet);
    }
    bo_camera.freeze(quiet + bo_late);
    tokio::time::sleep(quiet + bo_late).await;
    let before = ana_watches_bo.counts().received[1];
    ana_watches_bo
        .wait_for("Bo's media after the quiet", MEDIA, |c| {
            c.received[1] >= before + 10
        })
        .await;
    let before = bo_watches_ana.counts().received[1];
    bo_watches_ana
        .wait_for("Ana's media after the quiet", MEDIA, |c| {
            c.received[1] >= before + 10
        })
        .await;
    assert_eq!(t.connected(), [ana.clone(), bo.clone()]);
    assert_eq!(t.listed(&ana).await, [ana.clone(), bo.clone()]);

    for p in [ana_camera, bo_camera, ana_watches_bo, bo_watches_ana] {
        p.close().await;
    }
    t.standin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meeting_and_stream_rooms_refuse_each_others_options() {
    let t = meeting().await;
    let ana = person(1, "Ana");
    let camera = t.publish_shape(&ana, Shape::Camera, 1).await;
    let offer = "v=0\r\n"; // the options are checked before the offer is read
    let post = |url: String| {
        let request = t
            .http
            .post(url)
            .bearer_auth(t.token("someone", &t.room))
            .header("Content-Type", "application/sdp")
            .body(offer);
        async move {
            let reply = request.send().await.unwrap();
            let status = reply.status().as_u16();
            (status, reply.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let whep = t.whep(&t.room);
    let whip = t.whip(&t.room);
    for (what, url, status, code) in [
        ("WHEP without publisher", whep.clone(), 400, 20001),
        (
            "an unknown publisher",
            format!("{whep}?publisher=nobody"),
            404,
            20404,
        ),
        ("kind on WHEP", format!("{whep}?kind=screen"), 400, 20001),
        ("a bad kind", format!("{whip}?kind=webcam"), 400, 20001),
        (
            "publisher on WHIP",
            format!("{whip}?publisher={ana}"),
            400,
            20001,
        ),
        (
            "kind twice",
            format!("{whip}?kind=screen&kind=camera"),
            400,
            20001,
        ),
        ("an unknown parameter", format!("{whip}?x=1"), 400, 20001),
    ] {
        let (got, body) = post(url).await;
        assert_eq!(
            (got, body["code"].as_u64()),
            (status, Some(code)),
            "{what}: {body}"
        );
    }
    // The publisher may be named by its PA sid too.
    let pa = t.standin.participants(&t.room)[0].sid.clone();
    let by_sid = t.watch_participant("watcher", &pa).await;
    by_sid
        .wait_for("media watched by PA sid", MEDIA, |c| c.received[2] >= 5)
        .await;
    assert!(
        !t.connected().iter().any(|i| i == "someone"),
        "no join on the way"
    );

    // A stream room takes neither option.
    let stream = super::setup().await;
    let url = format!("{}?kind=screen", stream.whip(&stream.room));
    let reply = stream
        .http
        .post(url)
        .bearer_auth(stream.token("host", &stream.room))
        .header("Content-Type", "application/sdp")
        .body(offer)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 400);

    by_sid.close().await;
    camera.close().await;
    t.standin.shutdown().await;
    stream.standin.shutdown().await;
}
