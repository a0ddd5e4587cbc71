//! Issue 13's relay behaviour: a viewer that connects before anyone publishes receives from the
//! first packet of the host (and again when the host publishes anew), a stall of forwarding holds
//! media back without closing anything and resumes with a keyframe request, and the sessions
//! carry the first-packet timestamps.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::{CONNECT, MEDIA, eventually, received_all, setup};

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_waiting_before_the_host_receives_its_first_packets_and_its_next_session() {
    let t = setup().await;
    let started_ms = unix_ms();
    // The viewer joins the "ready" room and its rules name the host before the host is there.
    let viewer = t.watch("viewer").await;
    t.include_host("viewer").await;
    let (_, status) = t.counts(&t.token("viewer", &t.room)).await;
    assert_eq!(
        status,
        json!({"publishers": 0, "viewers": 1, "participants": []})
    );
    assert_eq!(viewer.counts().received, [0, 0, 0]);

    let host = t.publish("host").await;
    let c = viewer
        .wait_for("the waiting viewer to receive every slot", MEDIA, |c| {
            received_all(c, 10)
        })
        .await;
    assert_eq!(c.misrouted, 0, "{c:?}");
    assert!(
        host.counts().keyframe_requests >= 1,
        "the relay asks the new publisher for a keyframe: {:?}",
        host.counts()
    );

    // The first-frame timestamps: the host's first packet, then the first one forwarded.
    let sessions = t.standin.media_sessions();
    let of = |role: &str| {
        sessions
            .iter()
            .find(|s| s.role == role)
            .unwrap_or_else(|| panic!("a {role} session: {sessions:?}"))
            .clone()
    };
    let (publisher, watcher) = (of("publisher"), of("viewer"));
    let first_in = publisher.first_packet_at_ms.expect("first packet recorded");
    let first_out = watcher
        .first_forwarded_at_ms
        .expect("first forward recorded");
    assert!(started_ms <= first_in && first_in <= first_out && first_out <= unix_ms());
    assert_eq!(
        (publisher.first_forwarded_at_ms, watcher.first_packet_at_ms),
        (None, None)
    );
    // The same over the control API.
    let media: Value = t
        .http
        .get(format!("{}/__standin/media", t.standin.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed = media["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .find(|s| s["id"] == watcher.id.as_str())
        .expect("the viewer's session")
        .clone();
    assert_eq!(listed["first_forwarded_at_ms"], json!(first_out));
    assert_eq!(listed["first_packet_at_ms"], Value::Null);

    // The host leaves (DELETE) and publishes again in the same room: the viewer keeps its
    // session and receives the new one, which is asked for a keyframe.
    let deleted = t
        .http
        .delete(format!("{}{}", t.standin.base_url(), host.location))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 204);
    host.wait_for("the relay to close the old host", CONNECT, |c| c.closed)
        .await;
    let before = viewer.counts().received;
    let again = t.publish("host").await;
    viewer
        .wait_for("media from the host's next session", MEDIA, |c| {
            (0..3).all(|i| c.received[i] >= before[i] + 10)
        })
        .await;
    assert!(
        again.counts().keyframe_requests >= 1,
        "{:?}",
        again.counts()
    );

    // A reconnecting host that does not DELETE first replaces its earlier session.
    let before = viewer.counts().received;
    let third = t.publish("host").await;
    again
        .wait_for("the replaced host session to close", CONNECT, |c| c.closed)
        .await;
    let c = viewer
        .wait_for("media from the third session", MEDIA, |c| {
            (0..3).all(|i| c.received[i] >= before[i] + 10)
        })
        .await;
    assert_eq!(c.misrouted, 0, "{c:?}");
    assert!(!viewer.counts().closed);
    assert_eq!(t.participant_status("viewer").await, "connected");

    for p in [viewer, host, again, third] {
        p.close().await;
    }
    t.standin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_holds_media_back_closes_nothing_and_resumes_with_a_keyframe() {
    let t = setup().await;
    let host = t.publish("host").await;
    let viewer = t.watch("viewer").await;
    t.include_host("viewer").await;
    viewer
        .wait_for("media before the stall", MEDIA, |c| received_all(c, 10))
        .await;
    let stall_url = format!("{}/__standin/media/stall", t.standin.base_url());

    // Longer than the relay's 10 s silence rule: the stall must not end any session.
    let seconds = 11;
    let asked_ms = unix_ms();
    let reply = t
        .http
        .post(&stall_url)
        .json(&json!({"room": t.room, "seconds": seconds}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 200);
    let body: Value = reply.json().await.unwrap();
    assert_eq!(body["room_sid"], t.room_sid.as_str());
    let until_ms = body["until_ms"].as_u64().expect("until_ms");
    assert!(until_ms >= asked_ms + seconds * 1000 && until_ms <= unix_ms() + seconds * 1000);
    let keyframes_before = host.counts().keyframe_requests;

    // Once packets are being held back, the viewer gets nothing more.
    let standin = &t.standin;
    eventually("packets to be held back", MEDIA, || {
        standin.media_stats().packets_stalled > 50
    })
    .await;
    let frozen = viewer.counts().received;
    let held = standin.media_stats().packets_stalled;
    eventually("a second more of held-back packets", MEDIA, || {
        standin.media_stats().packets_stalled > held + 150
    })
    .await;
    assert_eq!(viewer.counts().received, frozen, "nothing forwarded");

    // Afterwards media flows again, not before the stall's end, and the host is asked for a
    // keyframe; nobody was closed or disconnected meanwhile.
    let limit = Duration::from_secs(seconds) + MEDIA;
    viewer
        .wait_for("media after the stall", limit, |c| {
            (0..3).all(|i| c.received[i] > frozen[i] + 5)
        })
        .await;
    assert!(
        unix_ms() + 100 >= until_ms,
        "resumed before the stall ended"
    );
    host.wait_for("a keyframe request on resume", MEDIA, |c| {
        c.keyframe_requests > keyframes_before
    })
    .await;
    assert!(!viewer.counts().closed && !host.counts().closed);
    assert_eq!(t.standin.media_stats().sessions_closed, 0);
    assert_eq!(t.participant_status("viewer").await, "connected");
    assert_eq!(t.participant_status("host").await, "connected");
    assert_eq!(viewer.counts().misrouted, 0);

    // The Rust API: a long stall, ended early with a zero length.
    t.standin
        .stall_media(&t.room, Duration::from_secs(60))
        .expect("stalled");
    let held = standin.media_stats().packets_stalled;
    eventually("packets held back again", MEDIA, || {
        standin.media_stats().packets_stalled > held + 20
    })
    .await;
    t.standin
        .stall_media(&t.room_sid, Duration::ZERO)
        .expect("stall ended");
    let resumed = viewer.counts().received;
    viewer
        .wait_for("media once the stall is ended early", MEDIA, |c| {
            c.received[0] > resumed[0] + 10
        })
        .await;

    // Refused: no such room, out of range, a malformed body.
    assert!(
        t.standin
            .stall_media("livestream-nope", Duration::ZERO)
            .is_err()
    );
    for (body, status) in [
        (json!({"room": "livestream-nope", "seconds": 1}), 404),
        (json!({"room": t.room, "seconds": 601}), 400),
        (json!({"room": t.room, "seconds": -1}), 400),
        (json!({"room": t.room}), 400),
        (json!({"room": t.room, "seconds": 1, "extra": true}), 400),
    ] {
        let reply = t.http.post(&stall_url).json(&body).send().await.unwrap();
        assert_eq!(reply.status().as_u16(), status, "{body}");
        let error: Value = reply.json().await.unwrap();
        assert!(
            error["error"].as_str().is_some_and(|m| !m.is_empty()),
            "{error}"
        );
    }
    viewer.close().await;
    host.close().await;
    t.standin.shutdown().await;
}
