//! The `room_events` handler behind a real HTTP listener on 127.0.0.1, so the stand-in's own
//! signed callbacks reach it end to end, as Twilio's reach the deployed function. The server
//! stops when its guard drops (also when the test fails).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use onair_common::App;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The largest body forwarded (the handler refuses more than 16 KiB anyway).
const MAX_BODY: usize = 64 * 1024;

pub struct EventsServer {
    task: JoinHandle<()>,
}

/// A listener on a free loopback port, bound before the App exists so its URL can go into the
/// App's settings (`ROOM_EVENTS_URL`).
pub async fn bind() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/room_events", listener.local_addr().unwrap());
    (listener, url)
}

impl EventsServer {
    /// Serves `POST /room_events` on `listener` with `app`.
    pub fn serve(listener: TcpListener, app: App) -> EventsServer {
        let router = Router::new()
            .route("/room_events", post(forward))
            .with_state(Arc::new(app));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        EventsServer { task }
    }
}

impl Drop for EventsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The HTTP request as the Lambda runtime would hand it to the handler, and its answer back.
async fn forward(
    State(app): State<Arc<App>>,
    req: axum::extract::Request,
) -> axum::response::Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .unwrap_or_default();
    let req = http::Request::from_parts(parts, lambda_http::Body::Binary(bytes.to_vec()));
    let (parts, body) = room_events::handle(&app, req).await.into_parts();
    let bytes = match body {
        lambda_http::Body::Text(text) => text.into_bytes(),
        lambda_http::Body::Binary(bytes) => bytes,
        _ => Vec::new(),
    };
    axum::response::Response::from_parts(parts, axum::body::Body::from(bytes))
}
