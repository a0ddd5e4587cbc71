//! Forwarding to the local back ends, as CloudFront's behaviours do in production
//! (docs/ARCHITECTURE.md, The path of a request): the POST API paths and `/media/*` pass through
//! uncached; `/status/*` goes through the edge cache (`edge_cache`), keyed by the path alone,
//! GET and HEAD only, the query string not forwarded, and answered with `Age` and `X-Cache` as
//! CloudFront answers.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::edge_cache::{EdgeCache, Source, Stored};

/// The largest body forwarded (the functions refuse more than 16 KiB anyway; SDP offers are small).
const MAX_BODY: usize = 256 * 1024;

/// Where the dev server forwards to, and its status cache.
#[derive(Clone)]
pub struct Upstreams {
    pub http: reqwest::Client,
    /// `cargo lambda watch`, e.g. `http://127.0.0.1:9000`.
    pub api: String,
    /// The Twilio stand-in's relay.
    pub media: String,
    pub status_cache: Arc<EdgeCache>,
}

impl Upstreams {
    pub fn new(api: &str, media: &str) -> Result<Upstreams, String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Upstreams {
            http,
            api: api.trim_end_matches('/').to_owned(),
            media: media.trim_end_matches('/').to_owned(),
            status_cache: Arc::new(EdgeCache::default()),
        })
    }
}

pub async fn to_api(State(up): State<Upstreams>, req: Request) -> Response {
    let base = up.api.clone();
    forward(&up, &base, req).await
}

pub async fn to_media(State(up): State<Upstreams>, req: Request) -> Response {
    let base = up.media.clone();
    forward(&up, &base, req).await
}

/// `/status/*`: the status behaviour. Other methods get CloudFront's 403 for a method the
/// behaviour does not allow; HEAD is answered from the GET copy.
pub async fn to_status(State(up): State<Upstreams>, req: Request) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let body =
            r#"{"error":{"code":"forbidden","message":"this path answers GET and HEAD only"}}"#;
        return json(StatusCode::FORBIDDEN, body);
    }
    let path = req.uri().path().to_owned();
    let mut headers = req.headers().clone();
    headers.remove(header::HOST);
    let url = format!("{}{path}", up.api);
    let fetched = up
        .status_cache
        .get(&path, || {
            fetch(&up.http, Method::GET, url, headers, Bytes::new())
        })
        .await;
    match fetched {
        Ok((stored, source)) => {
            let mut response = into_response(stored);
            let headers = response.headers_mut();
            match source {
                Source::Hit { age } => {
                    headers.insert(header::AGE, HeaderValue::from(age.as_secs()));
                    headers.insert("x-cache", HeaderValue::from_static("Hit from edge_cache"));
                }
                Source::Miss => {
                    headers.insert("x-cache", HeaderValue::from_static("Miss from edge_cache"));
                }
            }
            response
        }
        Err(()) => unavailable(),
    }
}

/// Forwards a request with its method, path, query, headers (but `Host`) and body.
async fn forward(up: &Upstreams, base: &str, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "body too large").into_response();
    };
    let mut headers = parts.headers;
    headers.remove(header::HOST);
    let url = format!("{base}{path}");
    match fetch(&up.http, parts.method, url, headers, body).await {
        Ok(stored) => into_response(stored),
        Err(()) => unavailable(),
    }
}

/// One upstream request; its answer without the hop-by-hop headers. `Err`: no answer.
async fn fetch(
    http: &reqwest::Client,
    method: Method,
    url: String,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Stored, ()> {
    let upstream = http
        .request(method, url)
        .headers(headers)
        .body(body)
        .send()
        .await
        .map_err(|_| ())?;
    let status = upstream.status();
    let mut headers = upstream.headers().clone();
    for hop in [
        header::TRANSFER_ENCODING,
        header::CONNECTION,
        header::CONTENT_LENGTH,
    ] {
        headers.remove(hop);
    }
    let body = upstream.bytes().await.map_err(|_| ())?;
    Ok(Stored {
        status,
        headers,
        body,
    })
}

fn into_response(stored: Stored) -> Response {
    let mut response = Response::new(Body::from(stored.body));
    *response.status_mut() = stored.status;
    *response.headers_mut() = stored.headers;
    response
}

fn unavailable() -> Response {
    let body =
        r#"{"error":{"code":"unavailable","message":"the local back end is not answering"}}"#;
    json(StatusCode::SERVICE_UNAVAILABLE, body)
}

fn json(status: StatusCode, body: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}
