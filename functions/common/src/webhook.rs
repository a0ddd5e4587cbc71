//! Twilio's webhook signatures (`X-Twilio-Signature`) and the URL room status callbacks go to.
//!
//! Twilio signs a callback with the account's auth token: base64 of HMAC-SHA1 over the URL it
//! called, followed by every form parameter as name and value, sorted by name, without
//! separators. A request is from Twilio only if that signature matches (compared in constant
//! time). The URL must be exactly the one Twilio was given, so the same [`callback_url`] is used
//! to create rooms (`StatusCallback`) and to verify their callbacks.

use aws_lc_rs::hmac;
use base64::Engine as _;
use lambda_http::Request;
use subtle::ConstantTimeEq;

use crate::config::{Secrets, Settings};
use crate::secret::{ExposeSecret, SecretString};

/// The header Twilio puts its signature in.
pub const SIGNATURE_HEADER: &str = "x-twilio-signature";

/// The path of the `room_events` function under the API's domain.
pub const ROOM_EVENTS_PATH: &str = "/room_events";

/// Twilio's signature of a request to `url` with form `params`.
pub fn signature(auth_token: &SecretString, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut signed = url.to_owned();
    for (name, value) in sorted {
        signed.push_str(name);
        signed.push_str(value);
    }
    // SHA-1 is what Twilio signs with; aws-lc-rs is already linked in for the access tokens.
    let key = hmac::Key::new(
        hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        auth_token.expose_secret().as_bytes(),
    );
    let tag = hmac::sign(&key, signed.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
}

/// Whether `candidate` is Twilio's signature of this request, compared in constant time.
pub fn verify(
    auth_token: &SecretString,
    url: &str,
    params: &[(String, String)],
    candidate: &str,
) -> bool {
    let expected = signature(auth_token, url, params);
    expected
        .as_bytes()
        .ct_eq(candidate.trim().as_bytes())
        .into()
}

/// The URL Twilio posts room status callbacks to: `ROOM_EVENTS_URL` when set, else
/// `https://<the API's domain name>/room_events` from the request's API Gateway context (the
/// domain the HTTP API itself answers on, also when the request came through CloudFront).
/// `None` when neither is known (a request without an API Gateway context, e.g. in tests, or a
/// local emulator's `localhost`).
pub fn callback_url(settings: &Settings, req: &Request) -> Option<String> {
    if let Some(url) = &settings.room_events_url {
        return Some(url.clone());
    }
    let domain = crate::request::gateway_context(req)?
        .domain_name
        .as_deref()?;
    // A public host name only: a local emulator's `localhost` or IP address is not a URL
    // Twilio could call (locally, ROOM_EVENTS_URL says where callbacks go).
    let public_name = domain.len() <= 253
        && domain.contains('.')
        && domain.parse::<std::net::IpAddr>().is_err()
        && domain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    public_name.then(|| format!("https://{domain}{ROOM_EVENTS_PATH}"))
}

/// The `StatusCallback` a new room gets: the callback URL, but only when an auth token is
/// configured to verify what Twilio sends there (and the URL is known).
pub fn status_callback(settings: &Settings, secrets: &Secrets, req: &Request) -> Option<String> {
    secrets.auth_token.as_ref()?;
    callback_url(settings, req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::RequestExt;
    use lambda_http::request::RequestContext;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Twilio's documented example ("Validating requests"): auth token `12345`.
    fn twilio_example() -> (SecretString, &'static str, Vec<(String, String)>) {
        (
            SecretString::from("12345"),
            "https://mycompany.com/myapp.php?foo=1&bar=2",
            pairs(&[
                ("CallSid", "CA1234567890ABCDE"),
                ("Caller", "+12349013030"),
                ("Digits", "1234"),
                ("From", "+12349013030"),
                ("To", "+18005551212"),
            ]),
        )
    }

    #[test]
    fn matches_twilios_documented_example() {
        let (token, url, params) = twilio_example();
        assert_eq!(
            signature(&token, url, &params),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        );
        assert!(verify(&token, url, &params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
    }

    #[test]
    fn parameter_order_does_not_matter_but_every_byte_does() {
        let (token, url, mut params) = twilio_example();
        params.reverse();
        let good = "0/KCTR6DLpKmkAf8muzZqo1nDgQ=";
        assert!(verify(&token, url, &params, good));
        assert!(!verify(
            &token,
            "https://mycompany.com/myapp.php",
            &params,
            good
        ));
        assert!(!verify(&SecretString::from("12346"), url, &params, good));
        let mut changed = params.clone();
        changed[0].1.push('9');
        assert!(!verify(&token, url, &changed, good));
        let mut extra = params.clone();
        extra.push(("Extra".into(), String::new()));
        assert!(!verify(&token, url, &extra, good));
        assert!(!verify(&token, url, &params, ""));
        assert!(!verify(&token, url, &params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ"));
    }

    fn settings(extra: &[(&str, &str)]) -> Settings {
        let source: std::collections::HashMap<String, String> = extra
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_source(&source).unwrap()
    }

    fn request_on(domain: Option<&str>) -> Request {
        let mut context =
            lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext::default();
        context.domain_name = domain.map(str::to_owned);
        http::Request::builder()
            .method("POST")
            .uri("https://ignored.example/room_events")
            .body(lambda_http::Body::Empty)
            .unwrap()
            .with_request_context(RequestContext::ApiGatewayV2(context))
    }

    #[test]
    fn the_callback_url_is_the_setting_or_the_apis_own_domain() {
        let derived = settings(&[]);
        assert_eq!(
            callback_url(
                &derived,
                &request_on(Some("abc123.execute-api.eu-west-1.amazonaws.com"))
            ),
            Some("https://abc123.execute-api.eu-west-1.amazonaws.com/room_events".into())
        );
        assert_eq!(callback_url(&derived, &request_on(None)), None);
        for unusable in ["evil.example/path?x=", "", "localhost", "127.0.0.1", "::1"] {
            assert_eq!(
                callback_url(&derived, &request_on(Some(unusable))),
                None,
                "{unusable}"
            );
        }
        let plain = http::Request::builder()
            .body(lambda_http::Body::Empty)
            .unwrap();
        assert_eq!(callback_url(&derived, &plain), None);

        let set = settings(&[("ROOM_EVENTS_URL", "http://127.0.0.1:9000/room_events")]);
        assert_eq!(
            callback_url(
                &set,
                &request_on(Some("abc123.execute-api.eu-west-1.amazonaws.com"))
            ),
            Some("http://127.0.0.1:9000/room_events".into())
        );
    }
}
