//! Requests as API Gateway hands them to a function's handler, and the handler's answer read
//! back as status and JSON.

use lambda_http::http;
use lambda_http::{Body, Request, Response};
use serde_json::Value;

/// A request to the endpoint with `method`, an optional `Content-Type` and `body`.
pub fn request(method: &str, content_type: Option<&str>, body: Body) -> Request {
    let mut builder = http::Request::builder()
        .method(method)
        .uri("https://onair.test/endpoint");
    if let Some(content_type) = content_type {
        builder = builder.header("content-type", content_type);
    }
    builder.body(body).expect("a valid request")
}

/// A JSON `POST`.
pub fn post_json(body: Value) -> Request {
    request(
        "POST",
        Some("application/json"),
        Body::Text(body.to_string()),
    )
}

/// A form POST as Twilio sends a callback, with `X-Twilio-Signature: signature` if given.
pub fn post_form(params: &[(String, String)], signature: Option<&str>) -> Request {
    let body = serde_urlencoded::to_string(params).expect("form parameters encode");
    let mut req = request(
        "POST",
        Some("application/x-www-form-urlencoded; charset=utf-8"),
        Body::Text(body),
    );
    if let Some(signature) = signature {
        req.headers_mut().insert(
            "x-twilio-signature",
            signature.parse().expect("a header value"),
        );
    }
    req
}

/// A `POST` without a body.
pub fn post_empty() -> Request {
    request("POST", None, Body::Empty)
}

/// `req` with `Authorization: Bearer <token>`.
pub fn with_bearer(mut req: Request, token: &str) -> Request {
    req.headers_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("a header value"),
    );
    req
}

/// A `POST` without a body, with `Authorization: Bearer <token>`.
pub fn bearer(token: &str) -> Request {
    with_bearer(post_empty(), token)
}

/// `req` as API Gateway delivers it from `source_ip` (`requestContext.http.sourceIp`).
pub fn from_address(req: Request, source_ip: &str) -> Request {
    use lambda_http::RequestExt;
    use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
    use lambda_http::request::RequestContext;
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.http.source_ip = Some(source_ip.to_owned());
    req.with_request_context(RequestContext::ApiGatewayV2(context))
}

/// Status and JSON body of a handler's answer; panics if the body is not JSON text.
pub fn answer(response: &Response<Body>) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = match response.body() {
        Body::Text(text) => serde_json::from_str(text).expect("the answer is JSON"),
        other => panic!("the answer is not text: {other:?}"),
    };
    (status, body)
}
