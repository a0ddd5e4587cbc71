//! Room status callbacks: signed like Twilio's, delivered in order, logged, and never sent off
//! this machine.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::routing::any;
use twilio_standin::signature;

use crate::common::{Api, s, start};

/// What the receiver got: method, full URL, signature header, form parameters.
type Received = Arc<Mutex<Vec<(String, String, String, Vec<(String, String)>)>>>;

/// A receiver on a free loopback port; stops when the returned task handle is aborted.
async fn receiver() -> (String, Received, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let received: Received = Arc::default();
    let app = Router::new()
        .route("/events", any(record))
        .with_state((received.clone(), base.clone()));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("{base}/events"), received, task)
}

async fn record(State((received, base)): State<(Received, String)>, req: Request) -> &'static str {
    let method = req.method().to_string();
    let url = format!("{base}{}", req.uri());
    let signature = req
        .headers()
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = axum::body::to_bytes(req.into_body(), 1 << 16)
        .await
        .unwrap();
    let params: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap();
    received
        .lock()
        .unwrap()
        .push((method, url, signature, params));
    "ok"
}

async fn wait_for(received: &Received, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while received.lock().unwrap().len() < count {
        assert!(
            Instant::now() < deadline,
            "fewer than {count} callbacks arrived"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn a_rooms_life_is_posted_in_order_and_signed_with_the_auth_token() {
    let standin = start().await;
    let api = Api::new(&standin);
    let (url, received, server) = receiver().await;
    let room = api
        .post(
            "/v1/Rooms",
            &[("UniqueName", "livestream-cb"), ("StatusCallback", &url)],
        )
        .await;
    let room_sid = s(&room.body, "sid").to_owned();
    standin.connect_participant(&room_sid, "host").unwrap();
    let done = api
        .post(&format!("/v1/Rooms/{room_sid}"), &[("Status", "completed")])
        .await;
    assert!((200..300).contains(&done.status), "{:?}", done.body);
    wait_for(&received, 4).await;

    let token = &standin.account().auth_token;
    let got = received.lock().unwrap().clone();
    let events: Vec<&str> = got
        .iter()
        .map(|(_, _, _, p)| param(p, "StatusCallbackEvent").unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "room-created",
            "participant-connected",
            "participant-disconnected",
            "room-ended"
        ]
    );
    for (i, (method, called, sig, params)) in got.iter().enumerate() {
        assert_eq!((method.as_str(), called.as_str()), ("POST", url.as_str()));
        assert_eq!(sig, &signature(token, &url, params), "event {i}");
        assert_eq!(
            param(params, "AccountSid"),
            Some(standin.account().account_sid.as_str())
        );
        assert_eq!(param(params, "RoomSid"), Some(room_sid.as_str()));
        assert_eq!(param(params, "RoomName"), Some("livestream-cb"));
        assert_eq!(
            param(params, "SequenceNumber"),
            Some(i.to_string().as_str())
        );
    }
    assert_eq!(param(&got[1].3, "ParticipantIdentity"), Some("host"));
    assert_eq!(param(&got[3].3, "RoomStatus"), Some("completed"));
    assert!(param(&got[3].3, "RoomDuration").is_some());

    // The log says the same, over Rust and over the control API.
    let log = standin.callbacks();
    assert_eq!(log.len(), 4);
    assert!(
        log.iter()
            .all(|c| c.status == Some(200) && c.error.is_none())
    );
    let control = api.get("/__standin/callbacks").await;
    assert_eq!(control.body[3]["event"], "room-ended");
    assert_eq!(control.body[3]["signature"], got[3].2.as_str());
    server.abort();
}

#[tokio::test]
async fn get_callbacks_carry_the_parameters_in_the_signed_url() {
    let standin = start().await;
    let api = Api::new(&standin);
    let (url, received, server) = receiver().await;
    api.post(
        "/v1/Rooms",
        &[
            ("UniqueName", "livestream-get"),
            ("StatusCallback", &url),
            ("StatusCallbackMethod", "GET"),
        ],
    )
    .await;
    wait_for(&received, 1).await;
    let (method, called, sig, body) = received.lock().unwrap()[0].clone();
    assert_eq!(method, "GET");
    assert!(body.is_empty());
    assert!(called.starts_with(&format!("{url}?")) && called.contains("room-created"));
    assert_eq!(sig, signature(&standin.account().auth_token, &called, &[]));
    server.abort();
}

#[tokio::test]
async fn callbacks_never_leave_this_machine() {
    let standin = start().await;
    let api = Api::new(&standin);
    api.post(
        "/v1/Rooms",
        &[("StatusCallback", "https://example.com/room_events")],
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while standin.callbacks().is_empty() {
        assert!(Instant::now() < deadline, "the callback was not logged");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let logged = &standin.callbacks()[0];
    assert_eq!(logged.event, "room-created");
    assert_eq!(logged.status, None);
    assert!(logged.error.as_deref().unwrap().contains("loopback"));
}
