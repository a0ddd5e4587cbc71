//! The dev server as a browser meets it: a fake API behind it counts what reaches the functions,
//! so these tests see the status behaviour's caching (collapsing, max-age, no-store, methods,
//! the key without the query string) end to end over HTTP.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::any;
use tokio::net::TcpListener;

use crate::headers::AudienceMode;
use crate::proxy::Upstreams;
use crate::router;

/// What the fake API was asked: the path and query of every request, in order.
type Seen = Arc<Mutex<Vec<String>>>;

/// The fake API: `/status/<name>` answers after 50 ms (long enough for a crowd to gather) with
/// `Cache-Control` chosen by the name: `max-age=1` but for `nostore` (`no-store`).
async fn fake_api(State(seen): State<Seen>, req: Request) -> (StatusCode, HeaderMap, String) {
    let target = req
        .uri()
        .path_and_query()
        .map_or("", |p| p.as_str())
        .to_owned();
    let n = {
        let mut seen = seen.lock().unwrap();
        seen.push(target.clone());
        seen.len()
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut headers = HeaderMap::new();
    let cache_control = if req.uri().path().ends_with("/nostore") {
        "no-store"
    } else {
        "public, max-age=1"
    };
    headers.insert(header::CACHE_CONTROL, cache_control.parse().unwrap());
    headers.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
    (StatusCode::OK, headers, format!(r#"{{"answer":{n}}}"#))
}

async fn serve(app: Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// The fake API and a dev server in front of it (both end with the test's runtime).
async fn stack() -> (String, Seen) {
    let seen = Seen::default();
    let api = serve(
        Router::new()
            .fallback(any(fake_api))
            .with_state(seen.clone()),
    )
    .await;
    let upstreams = Upstreams::new(&api, "http://127.0.0.1:9").unwrap();
    let dev = serve(router("static", AudienceMode::Room, upstreams)).await;
    (dev, seen)
}

fn asked(seen: &Seen) -> Vec<String> {
    seen.lock().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crowd_polling_a_stream_costs_one_upstream_request_and_shares_its_answer() {
    let (dev, seen) = stack().await;
    let client = reqwest::Client::new();
    let crowd: Vec<_> = (0..60)
        .map(|viewer| {
            let (client, url) = (client.clone(), format!("{dev}/status/main?viewer={viewer}"));
            tokio::spawn(async move { client.get(url).send().await.unwrap() })
        })
        .collect();
    let mut misses = 0;
    for viewer in crowd {
        let response = viewer.await.unwrap();
        assert_eq!(response.status(), 200);
        let headers = response.headers().clone();
        assert_eq!(headers[header::CACHE_CONTROL], "public, max-age=1");
        assert!(
            headers.contains_key("content-security-policy"),
            "security headers too"
        );
        match headers["x-cache"].to_str().unwrap() {
            "Miss from edge_cache" => misses += 1,
            "Hit from edge_cache" => assert_eq!(headers[header::AGE], "0"),
            other => panic!("x-cache {other}"),
        }
        assert_eq!(response.text().await.unwrap(), r#"{"answer":1}"#);
    }
    assert_eq!(misses, 1);
    assert_eq!(
        asked(&seen),
        ["/status/main"],
        "one request, without the query string"
    );
}

#[tokio::test]
async fn an_answer_is_asked_again_once_its_max_age_is_over_and_not_before() {
    let (dev, seen) = stack().await;
    let client = reqwest::Client::new();
    let url = format!("{dev}/status/talk-2");
    let first = client.get(&url).send().await.unwrap();
    assert_eq!(first.headers()["x-cache"], "Miss from edge_cache");
    let kept_since = Instant::now();
    let deadline = kept_since + Duration::from_secs(5);
    loop {
        let response = client.get(&url).send().await.unwrap();
        let hit = response.headers()["x-cache"] == "Hit from edge_cache";
        let body = response.text().await.unwrap();
        if !hit {
            assert!(
                kept_since.elapsed() >= Duration::from_millis(900),
                "kept its max-age"
            );
            assert_eq!(body, r#"{"answer":2}"#);
            break;
        }
        assert_eq!(body, r#"{"answer":1}"#);
        assert!(
            Instant::now() < deadline,
            "still a hit after 5 s of max-age=1"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(asked(&seen), ["/status/talk-2", "/status/talk-2"]);
}

#[tokio::test]
async fn a_no_store_answer_is_never_kept_and_other_methods_never_reach_the_function() {
    let (dev, seen) = stack().await;
    let client = reqwest::Client::new();
    for n in 1..=3 {
        let response = client
            .get(format!("{dev}/status/nostore"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["x-cache"], "Miss from edge_cache");
        assert_eq!(
            response.text().await.unwrap(),
            format!(r#"{{"answer":{n}}}"#)
        );
    }
    let post = client
        .post(format!("{dev}/status/main"))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::FORBIDDEN);
    let head = client
        .head(format!("{dev}/status/main"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(
        asked(&seen).len(),
        4,
        "three no-store GETs and the HEAD, not the POST"
    );
}

#[tokio::test]
async fn the_post_paths_pass_through_uncached() {
    let (dev, seen) = stack().await;
    let client = reqwest::Client::new();
    for _ in 0..2 {
        let response = client
            .post(format!("{dev}/audience_token?x=1"))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers().get("x-cache").is_none());
    }
    assert_eq!(asked(&seen), ["/audience_token?x=1", "/audience_token?x=1"]);
}
