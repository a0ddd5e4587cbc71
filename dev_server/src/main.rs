//! The local front door, as CloudFront is in production: one origin that serves `static/` with
//! the same security headers (`headers`), forwards the POST API paths to `cargo lambda watch`,
//! `/status/*` to it through a copy of CloudFront's cache (`edge_cache`, so a waiting crowd asks
//! the function as rarely as in production), and `/media/*` (WHIP/WHEP signalling) to the Twilio
//! stand-in's relay (`proxy`). Development only.
//!
//! `onair-dev-server --port 8080 --static static --api http://127.0.0.1:9000 --media http://127.0.0.1:4010 --audience-mode room`

mod edge_cache;
mod headers;
mod proxy;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;

use axum::Router;
use axum::routing::any;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use headers::{AudienceMode, security_headers};
use proxy::Upstreams;

/// The POST API paths routed to the functions uncached, as the CloudFront behaviours route them.
const API_PATHS: [&str; 8] = [
    "/host_session",
    "/host_token",
    "/stream_start",
    "/stream_stop",
    "/audience_token",
    "/subscribe",
    "/meeting_create",
    "/meeting_token",
];

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
    Ok(Args {
        addr,
        static_dir,
        audience_mode,
        upstreams: Upstreams::new(&api, &media)?,
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
    let app = router(&args.static_dir, args.audience_mode, args.upstreams);
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

/// The dev server: the pages, the API paths, `/status/*` through the edge cache, `/media/*`,
/// every answer with the security headers of `mode`.
fn router(static_dir: &str, mode: AudienceMode, upstreams: Upstreams) -> Router {
    let mut app = Router::new();
    for path in API_PATHS {
        app = app.route(path, any(proxy::to_api));
    }
    let mut app = app
        .route("/status/{*rest}", any(proxy::to_status))
        .route("/media/{*rest}", any(proxy::to_media))
        .fallback_service(ServeDir::new(static_dir).append_index_html_on_directories(true));
    for (name, value) in security_headers(mode) {
        app = app.layer(SetResponseHeaderLayer::overriding(name, value));
    }
    app.with_state(upstreams)
}
