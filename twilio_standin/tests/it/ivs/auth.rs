//! SigV4: only requests signed with the stand-in's key pair are served; a wrong secret, an
//! unknown key id, a body or signed header changed after signing, or no signature at all is a
//! 403 `AccessDeniedException`, as on AWS.

use aws_sdk_ivsrealtime::error::ProvideErrorMetadata;
use serde_json::Value;

use super::{client_with, keys};
use crate::common::start;

#[tokio::test]
async fn requests_signed_with_another_key_or_unsigned_are_refused() {
    let standin = start().await;
    for (key_id, secret) in [
        (twilio_standin::DEFAULT_ACCESS_KEY_ID, "not-the-secret"),
        (
            "AKIDSOMEONEELSE00000",
            twilio_standin::DEFAULT_SECRET_ACCESS_KEY,
        ),
    ] {
        let refused = client_with(&standin, key_id, secret)
            .create_stage()
            .name("x")
            .send()
            .await
            .expect_err("a wrong key pair");
        let raw = refused.raw_response().map(|r| r.status().as_u16());
        assert_eq!(raw, Some(403));
        assert_eq!(refused.code(), Some("AccessDeniedException"));
    }

    let http = reqwest::Client::new();
    let unsigned = http
        .post(format!("{}/ivs/ImportPublicKey", standin.base_url()))
        .header("content-type", "application/json")
        .body(serde_json::json!({ "publicKeyMaterial": keys().public_pem }).to_string())
        .send()
        .await
        .expect("the stand-in answers");
    assert_eq!(unsigned.status().as_u16(), 403);
    assert_eq!(
        unsigned
            .headers()
            .get("x-amzn-ErrorType")
            .and_then(|v| v.to_str().ok()),
        Some("AccessDeniedException")
    );
    let body: Value = unsigned.json().await.expect("a JSON body");
    assert!(body["exceptionMessage"].is_string());

    // Dated now, with the right key id and scope, so only the signature itself is wrong.
    let now = time::OffsetDateTime::now_utc();
    let day = format!(
        "{:04}{:02}{:02}",
        now.year(),
        u8::from(now.month()),
        now.day()
    );
    let amz_date = format!(
        "{day}T{:02}{:02}{:02}Z",
        now.hour(),
        now.minute(),
        now.second()
    );
    let forged = http
        .post(format!("{}/ivs/ListStages", standin.base_url()))
        .header(
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential={}/{day}/us-east-1/ivs/aws4_request, SignedHeaders=host;x-amz-date, Signature=00",
                twilio_standin::DEFAULT_ACCESS_KEY_ID
            ),
        )
        .header("x-amz-date", amz_date)
        .body("{}")
        .send()
        .await
        .expect("the stand-in answers");
    assert_eq!(forged.status().as_u16(), 403);
    let body: Value = forged.json().await.expect("a JSON body");
    let message = body["exceptionMessage"].as_str().unwrap_or_default();
    assert!(
        message.contains("signature we calculated does not match"),
        "refused for the signature, not the clock: {message}"
    );

    // Refused calls are logged too, and fit the model.
    super::assert_calls_fit_the_model(&standin);
}

/// Changes the request after the SDK signed it: the body, or a signed header.
#[derive(Debug)]
struct Tamper {
    body: bool,
}

impl aws_sdk_ivsrealtime::config::Intercept for Tamper {
    fn name(&self) -> &'static str {
        "Tamper"
    }

    fn modify_before_transmit(
        &self,
        context: &mut aws_sdk_ivsrealtime::config::interceptors::BeforeTransmitInterceptorContextMut<'_>,
        _: &aws_sdk_ivsrealtime::config::RuntimeComponents,
        _: &mut aws_sdk_ivsrealtime::config::ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let request = context.request_mut();
        if self.body {
            let forged = r#"{"name":"forged"}"#;
            *request.body_mut() = forged.into();
            let _ = request
                .headers_mut()
                .insert("content-length", forged.len().to_string());
        } else {
            let _ = request
                .headers_mut()
                .insert("x-amz-user-agent", "someone-else".to_owned());
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_request_changed_after_signing_is_refused() {
    let standin = start().await;
    let ivs = super::client(&standin);
    for body in [true, false] {
        let refused = ivs
            .create_stage()
            .name("original")
            .customize()
            .interceptor(Tamper { body })
            .send()
            .await
            .expect_err("a tampered request");
        assert_eq!(
            refused.code(),
            Some("AccessDeniedException"),
            "body changed: {body}"
        );
    }
    // Untouched, the same request is served.
    ivs.create_stage()
        .name("original")
        .send()
        .await
        .expect("CreateStage");
    assert_eq!(standin.ivs_stages().len(), 1);
}
