//! The stages' WHIP endpoint with real WebRTC peers (`onair_test_support::relay_peer`): a
//! publisher with a valid participant token (ES384, minted here with jsonwebtoken as the back
//! end mints them) joins the stage, which starts its session, and viewers watch it over the
//! relay's WHEP; refused tokens and offers leave no participant; DeleteStage and
//! DisconnectParticipant end the publisher's session; its DELETE ends the stage session.

use std::time::{Duration, Instant};

use aws_sdk_ivsrealtime::Client;
use aws_sdk_ivsrealtime::types::ParticipantState;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use onair_test_support::relay_peer::{Load, Peer, Refused};
use serde_json::{Value, json};
use twilio_standin::StandIn;

use super::{KeyPair, assert_calls_fit_the_model, client, keys, p384};
use crate::common::start;

const LIMIT: Duration = Duration::from_secs(10);

/// A stand-in with `keys()` imported and one stage: (client, stage ARN, stage id, WHIP URL,
/// public key ARN).
async fn stage(standin: &StandIn) -> (Client, String, String, String, String) {
    let ivs = client(standin);
    let key_arn = ivs
        .import_public_key()
        .public_key_material(&keys().public_pem)
        .send()
        .await
        .expect("ImportPublicKey")
        .public_key()
        .and_then(|k| k.arn())
        .expect("an ARN")
        .to_owned();
    let created = ivs
        .create_stage()
        .name("onair-main")
        .send()
        .await
        .expect("CreateStage");
    let stage = created.stage().expect("a stage");
    let arn = stage.arn().to_owned();
    let id = arn.rsplit('/').next().unwrap_or_default().to_owned();
    let whip = stage
        .endpoints()
        .and_then(|e| e.whip())
        .expect("a WHIP endpoint")
        .to_owned();
    (ivs, arn, id, whip, key_arn)
}

/// The host publishing screen and microphone to `whip` with a valid token for stage `arn`.
async fn publish_host(
    http: &reqwest::Client,
    whip: &str,
    key_arn: &str,
    arn: &str,
) -> Result<Peer, Refused> {
    Peer::publish(
        http,
        whip,
        &mint(keys(), Some(key_arn), &host(arn)),
        one_video_and_mic(),
    )
    .await
}

/// What a token says.
struct Claims<'a> {
    stage_arn: &'a str,
    jti: &'a str,
    user_id: &'a str,
    publish: bool,
    subscribe: bool,
    expires_in: i64,
}

/// A participant token as the IVS docs list its claims, ES384 with `kid` = the key's ARN.
fn mint(keys: &KeyPair, kid: Option<&str>, c: &Claims<'_>) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = json!({
        "exp": now + c.expires_in,
        "iat": now,
        "jti": c.jti,
        "resource": c.stage_arn,
        "topic": c.stage_arn.rsplit('/').next(),
        "events_url": "wss://global.events.live-video.net",
        "whip_url": "https://global.whip.live-video.net",
        "user_id": c.user_id,
        "attributes": {},
        "capabilities": { "allow_publish": c.publish, "allow_subscribe": c.subscribe },
        "version": "1.0",
    });
    let mut header = Header::new(Algorithm::ES384);
    header.kid = kid.map(str::to_owned);
    let key = EncodingKey::from_ec_pem(keys.private_pem.as_bytes()).expect("a P-384 PKCS#8 key");
    jsonwebtoken::encode(&header, &claims, &key).expect("a signed token")
}

fn host<'a>(stage_arn: &'a str) -> Claims<'a> {
    Claims {
        stage_arn,
        jti: "host-participant-1",
        user_id: "host",
        publish: true,
        subscribe: true,
        expires_in: 600,
    }
}

fn viewer<'a>(stage_arn: &'a str) -> Claims<'a> {
    Claims {
        stage_arn,
        jti: "viewer-1",
        user_id: "viewer-abc",
        publish: false,
        subscribe: true,
        expires_in: 600,
    }
}

fn one_video_and_mic() -> Load {
    Load {
        webcam: false,
        ..Load::default()
    }
}

async fn active_session(ivs: &Client, arn: &str) -> Option<String> {
    ivs.get_stage()
        .arn(arn)
        .send()
        .await
        .expect("GetStage")
        .stage()
        .and_then(|s| s.active_session_id())
        .map(str::to_owned)
}

/// Polls until the stage has no active session (the relay ends sessions on its own task).
async fn wait_no_session(ivs: &Client, arn: &str) {
    let deadline = Instant::now() + LIMIT;
    while active_session(ivs, arn).await.is_some() {
        assert!(Instant::now() < deadline, "the stage session never ended");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn participants(ivs: &Client, arn: &str, session: &str) -> Vec<(String, String, bool, bool)> {
    ivs.list_participants()
        .stage_arn(arn)
        .session_id(session)
        .send()
        .await
        .expect("ListParticipants")
        .participants()
        .iter()
        .map(|p| {
            (
                p.participant_id().unwrap_or_default().to_owned(),
                p.user_id().unwrap_or_default().to_owned(),
                p.state() == Some(&ParticipantState::Connected),
                p.published(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_publisher_with_a_valid_token_goes_live_and_viewers_watch_it() {
    let standin = start().await;
    let (ivs, arn, id, whip, key_arn) = stage(&standin).await;
    assert_eq!(whip, format!("{}/media/ivs/whip/{id}", standin.base_url()));
    let http = reqwest::Client::new();
    let publisher = publish_host(&http, &whip, &key_arn, &arn)
        .await
        .expect("201 for a publish token");
    assert!(
        publisher.location.starts_with("/media/sessions/"),
        "{}",
        publisher.location
    );

    let session = active_session(&ivs, &arn)
        .await
        .expect("the stage session started");
    assert!(
        session.starts_with("st-") && session.len() == 16,
        "{session}"
    );
    assert_eq!(
        participants(&ivs, &arn, &session).await,
        [(
            "host-participant-1".to_owned(),
            "host".to_owned(),
            true,
            true
        )]
    );
    let listed = ivs.list_stages().send().await.expect("ListStages");
    assert_eq!(
        listed.stages()[0].active_session_id(),
        Some(session.as_str())
    );

    // A viewer with a subscribe-only token (no kid: any imported key) watches over WHEP.
    let watch_token = mint(keys(), None, &viewer(&arn));
    let room = format!("{}/media/whep/ivs-{id}", standin.base_url());
    let watcher = Peer::watch(&http, &room, &watch_token)
        .await
        .expect("201 for a viewer");
    watcher
        .wait_for("screen and microphone packets", LIMIT, |c| {
            c.received[0] > 0 && c.received[1] > 0
        })
        .await;
    let status: Value = http
        .get(format!("{}/media/rooms/ivs-{id}", standin.base_url()))
        .bearer_auth(&watch_token)
        .send()
        .await
        .expect("the relay answers")
        .json()
        .await
        .expect("the room status");
    assert_eq!(status["publishers"], 1, "{status}");
    assert_eq!(status["viewers"], 1, "{status}");
    // Watching does not make a participant of the stage.
    assert_eq!(participants(&ivs, &arn, &session).await.len(), 1);
    let inspected = standin.ivs_stages();
    assert_eq!(inspected.len(), 1);
    assert_eq!(
        inspected[0].active_session_id.as_deref(),
        Some(session.as_str())
    );
    assert_eq!(inspected[0].participants.len(), 1);
    assert!(inspected[0].participants[0].connected);

    // The page's DELETE ends the publisher's session, and with it the stage's.
    let deleted = http
        .delete(format!("{}{}", standin.base_url(), publisher.location))
        .send()
        .await
        .expect("the relay answers");
    assert_eq!(deleted.status().as_u16(), 204);
    wait_no_session(&ivs, &arn).await;
    assert_eq!(
        participants(&ivs, &arn, &session).await,
        [(
            "host-participant-1".to_owned(),
            "host".to_owned(),
            false,
            true
        )]
    );
    watcher.close().await;
    publisher.close().await;
    assert_calls_fit_the_model(&standin);
}

/// A VP8-only offer, which IVS refuses.
const VP8_ONLY: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n\
    m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\na=rtpmap:96 VP8/90000\r\n\
    m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=sendonly\r\na=rtpmap:111 opus/48000/2\r\n";

#[tokio::test]
async fn bad_tokens_and_offers_are_refused_and_make_no_participant() {
    let standin = start().await;
    let (ivs, arn, id, whip, key_arn) = stage(&standin).await;
    let http = reqwest::Client::new();
    let other_keys = p384();
    let kid = Some(key_arn.as_str());
    let other_stage = arn.replace(&id, "zzzzzzzzzzzz");
    let expired = Claims {
        expires_in: -5,
        ..host(&arn)
    };
    let no_jti = Claims {
        jti: "",
        ..host(&arn)
    };
    let cases: Vec<(&str, String, u16)> = vec![
        ("no token", String::new(), 401),
        ("not a JWT", "abc.def.ghi".to_owned(), 401),
        ("expired", mint(keys(), kid, &expired), 401),
        (
            "another stage",
            mint(
                keys(),
                kid,
                &Claims {
                    stage_arn: &other_stage,
                    ..host(&arn)
                },
            ),
            401,
        ),
        (
            "a key never imported",
            mint(&other_keys, None, &host(&arn)),
            401,
        ),
        (
            "a kid that is not imported",
            mint(
                keys(),
                Some("arn:aws:ivs:us-east-1:123456789012:public-key/nope"),
                &host(&arn),
            ),
            401,
        ),
        ("no participant id", mint(keys(), kid, &no_jti), 401),
        ("subscribe only", mint(keys(), kid, &viewer(&arn)), 403),
    ];
    for (what, token, status) in cases {
        let refused: Refused = match Peer::publish(&http, &whip, &token, one_video_and_mic()).await
        {
            Ok(_) => panic!("{what}: published"),
            Err(refused) => refused,
        };
        assert_eq!(refused.status, status, "{what}: {}", refused.body);
    }
    let unknown = Peer::publish(
        &http,
        &whip.replace(&id, "000000000000"),
        &mint(keys(), kid, &host(&arn)),
        one_video_and_mic(),
    )
    .await
    .err()
    .expect("an unknown stage");
    assert_eq!(unknown.status, 404);
    let vp8 = http
        .post(&whip)
        .bearer_auth(mint(keys(), kid, &host(&arn)))
        .header("content-type", "application/sdp")
        .body(VP8_ONLY)
        .send()
        .await
        .expect("the relay answers");
    assert_eq!(vp8.status().as_u16(), 400);
    // A viewer token needs allow_subscribe to watch.
    let publish_only = Claims {
        subscribe: false,
        ..host(&arn)
    };
    let refused = Peer::watch(
        &http,
        &format!("{}/media/whep/ivs-{id}", standin.base_url()),
        &mint(keys(), kid, &publish_only),
    )
    .await
    .err()
    .expect("no subscribe capability");
    assert_eq!(refused.status, 403);

    // The fault layer covers the IVS WHIP route too.
    standin.inject(twilio_standin::Fault::once(
        Some("POST"),
        "/media/ivs/whip/",
        twilio_standin::FaultAction::Status(503),
    ));
    let faulted = Peer::publish(
        &http,
        &whip,
        &mint(keys(), kid, &host(&arn)),
        one_video_and_mic(),
    )
    .await
    .err()
    .expect("the injected fault");
    assert_eq!(faulted.status, 503);

    assert_eq!(active_session(&ivs, &arn).await, None, "no one joined");
    assert!(standin.ivs_stages()[0].participants.is_empty());
    assert!(standin.media_sessions().is_empty());
    assert_calls_fit_the_model(&standin);
}

#[tokio::test]
async fn delete_stage_and_disconnect_participant_end_the_publishers_session() {
    let standin = start().await;
    let (ivs, arn, id, whip, key_arn) = stage(&standin).await;
    let http = reqwest::Client::new();

    // DisconnectParticipant ends that participant's relay session and the stage session.
    let publisher = publish_host(&http, &whip, &key_arn, &arn)
        .await
        .expect("201");
    publisher
        .wait_for("connected", LIMIT, |c| c.connected)
        .await;
    let session = active_session(&ivs, &arn).await.expect("a session");
    ivs.disconnect_participant()
        .stage_arn(&arn)
        .participant_id("host-participant-1")
        .reason("stream stopped")
        .send()
        .await
        .expect("DisconnectParticipant");
    publisher
        .wait_for("the relay closing the session", LIMIT, |c| c.closed)
        .await;
    wait_no_session(&ivs, &arn).await;
    assert!(
        !participants(&ivs, &arn, &session).await[0].2,
        "disconnected"
    );
    publisher.close().await;

    // DeleteStage ends the stage's room: publisher and viewer closed, the stage gone.
    let publisher = publish_host(&http, &whip, &key_arn, &arn)
        .await
        .expect("201 again");
    let second = active_session(&ivs, &arn).await.expect("a new session");
    assert_ne!(second, session);
    let watcher = Peer::watch(
        &http,
        &format!("{}/media/whep/ivs-{id}", standin.base_url()),
        &mint(keys(), Some(&key_arn), &viewer(&arn)),
    )
    .await
    .expect("a viewer");
    watcher.wait_for("connected", LIMIT, |c| c.connected).await;
    ivs.delete_stage()
        .arn(&arn)
        .send()
        .await
        .expect("DeleteStage");
    publisher
        .wait_for("the publisher closed", LIMIT, |c| c.closed)
        .await;
    watcher
        .wait_for("the viewer closed", LIMIT, |c| c.closed)
        .await;
    let deadline = Instant::now() + LIMIT;
    while !standin.media_sessions().is_empty() {
        assert!(
            Instant::now() < deadline,
            "sessions left: {:?}",
            standin.media_sessions()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !participants(&ivs, &arn, &second).await[0].2,
        "disconnected"
    );
    let gone = publish_host(&http, &whip, &key_arn, &arn)
        .await
        .err()
        .expect("a deleted stage");
    assert_eq!(gone.status, 404);
    publisher.close().await;
    watcher.close().await;
    assert_calls_fit_the_model(&standin);
}

/// An offer as a browser makes it: VP8 listed before H.264, PCMU before Opus.
const VP8_FIRST: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n\
    a=fingerprint:sha-256 8F:7D:2E:13:4C:9A:51:66:0B:D2:4A:7E:93:1C:5F:08:AA:42:6D:E1:37:90:BC:5E:21:F4:0D:98:C3:6A:7B:15\r\n\
    a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=setup:actpass\r\n\
    m=video 9 UDP/TLS/RTP/SAVPF 96 102\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\na=rtcp-mux\r\n\
    a=rtpmap:96 VP8/90000\r\na=rtpmap:102 H264/90000\r\n\
    a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\na=ssrc:1 cname:x\r\n\
    m=audio 9 UDP/TLS/RTP/SAVPF 0 111\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=sendonly\r\na=rtcp-mux\r\n\
    a=rtpmap:0 PCMU/8000\r\na=rtpmap:111 opus/48000/2\r\na=ssrc:2 cname:x\r\n";

/// The codec names of an SDP's m-line of `kind`, in its payload order.
fn codecs(sdp: &str, kind: &str) -> Vec<String> {
    let section = sdp
        .split("\r\nm=")
        .find(|s| s.starts_with(kind))
        .unwrap_or_default();
    let order: Vec<&str> = section
        .lines()
        .next()
        .unwrap_or_default()
        .split(' ')
        .skip(3)
        .collect();
    order
        .iter()
        .filter_map(|pt| {
            let prefix = format!("a=rtpmap:{pt} ");
            section
                .lines()
                .find_map(|l| l.strip_prefix(prefix.as_str()))
                .map(|rest| rest.split('/').next().unwrap_or_default().to_owned())
        })
        .collect()
}

#[tokio::test]
async fn a_stage_answers_with_h264_and_opus_only_whatever_the_offer_lists_first() {
    let standin = start().await;
    let (_ivs, arn, _id, whip, key_arn) = stage(&standin).await;
    let http = reqwest::Client::new();
    let answered = http
        .post(&whip)
        .bearer_auth(mint(keys(), Some(&key_arn), &host(&arn)))
        .header("content-type", "application/sdp")
        .body(VP8_FIRST)
        .send()
        .await
        .expect("the relay answers");
    assert_eq!(answered.status().as_u16(), 201);
    let location = answered
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("a Location")
        .to_owned();
    let answer = answered.text().await.expect("an SDP answer");
    assert_eq!(codecs(&answer, "video"), ["H264"], "{answer}");
    assert_eq!(codecs(&answer, "audio"), ["opus"], "{answer}");
    let deleted = http
        .delete(format!("{}{location}", standin.base_url()))
        .send()
        .await
        .expect("the relay answers");
    assert_eq!(deleted.status().as_u16(), 204);
    assert_calls_fit_the_model(&standin);
}
