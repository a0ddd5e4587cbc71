//! The local front door, as CloudFront is in production: one origin that serves `static/` with
//! the same security headers (`headers`), forwards the API paths to `cargo lambda watch`,
//! and forwards `/media/*` (WHIP/WHEP signalling) to the Twilio stand-in's relay. Development only.
//!
//! `onair-dev-server --port 8080 --static static --api http://127.0.0.1:9000 --media http://127.0.0.1:4010 --audience-mode room`

mod headers;

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use headers::{AudienceMode, security_headers};

/// The API paths routed to the functions, as the CloudFront behaviours route them.
const API_PATHS: [&str; 7] = [
    "/host_token",
    "/stream_start",
    "/stream_stop",
    "/audience_token",
    "/subscribe",
    "/meeting_create",
    "/meeting_token",
];
/// The largest body forwarded (the functions refuse more than 16 KiB anyway; SDP offers are small).
const MAX_BODY: usize = 256 * 1024;

#[derive(Clone)]
struct Upstreams {
    http: reqwest::Client,
    api: String,
    media: String,
}

struct Args {
    addr: SocketAddr,
    static_dir: String,
    audience_mode: AudienceMode,
    upstreams: Upstreams,
}

fn parse_args() -> Result<Args, String> {
    let mut bind = "127.0.0.1".to_owned();
    let mut port = "8080".to_owned();
    let mut static_dir = "static".to_owned();
    let mut api = "http://127.0.0.1:9000".to_owned();
    let mut media = "http://127.0.0.1:4010".to_owned();
    let mut audience_mode = AudienceMode::Room;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--bind" => bind = value,
            "--port" => port = value,
            "--static" => static_dir = value,
            "--api" => api = value,
            "--media" => media = value,
            "--audience-mode" => audience_mode = value.parse()?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    let addr = format!("{bind}:{port}")
        .parse()
        .map_err(|_| format!("bad address {bind}:{port}"))?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    Ok(Args {
        addr,
        static_dir,
        audience_mode,
        upstreams: Upstreams {
            http,
            api: api.trim_end_matches('/').to_owned(),
            media: media.trim_end_matches('/').to_owned(),
        },
    })
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt().with_target(false).init();
    let args = match parse_args() {
        Ok(args) => args,
        Err(err) => {
            eprintln!("onair-dev-server: {err}");
            std::process::exit(2);
        }
    };
    let mut app = Router::new();
    for path in API_PATHS {
        app = app.route(path, any(to_api));
    }
    let mut app = app
        .route("/media/{*rest}", any(to_media))
        .fallback_service(ServeDir::new(&args.static_dir).append_index_html_on_directories(true));
    for (name, value) in security_headers(args.audience_mode) {
        app = app.layer(SetResponseHeaderLayer::overriding(name, value));
    }
    let app = app.with_state(args.upstreams);
    let listener = match tokio::net::TcpListener::bind(args.addr).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("onair-dev-server: cannot listen on {}: {err}", args.addr);
            std::process::exit(1);
        }
    };
    eprintln!("onair dev server on http://{}", args.addr);
    let shutdown = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! { _ = tokio::signal::ctrl_c() => {}, _ = term.recv() => {} }
    };
    if let Err(err) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
    {
        eprintln!("onair-dev-server: {err}");
    }
}

async fn to_api(State(up): State<Upstreams>, req: Request) -> Response {
    let base = up.api.clone();
    forward(&up, &base, req).await
}

async fn to_media(State(up): State<Upstreams>, req: Request) -> Response {
    let base = up.media.clone();
    forward(&up, &base, req).await
}

/// Forwards a request with its method, path, query, headers (but `Host`) and body.
async fn forward(up: &Upstreams, base: &str, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "body too large").into_response();
    };
    let mut headers = parts.headers.clone();
    headers.remove(header::HOST);
    let upstream = up
        .http
        .request(parts.method, format!("{base}{path}"))
        .headers(headers)
        .body(body)
        .send()
        .await;
    let upstream = match upstream {
        Ok(upstream) => upstream,
        Err(_) => {
            let body = r#"{"error":{"code":"unavailable","message":"the local back end is not answering"}}"#;
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response();
        }
    };
    let status = upstream.status();
    let mut response = Response::builder().status(status);
    for (name, value) in upstream.headers() {
        if name != header::TRANSFER_ENCODING
            && name != header::CONNECTION
            && name != header::CONTENT_LENGTH
        {
            response = response.header(name, value);
        }
    }
    let bytes = upstream.bytes().await.unwrap_or_default();
    response
        .body(Body::from(bytes))
        .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
}
