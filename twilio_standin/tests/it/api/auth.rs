//! HTTP Basic auth: both credential pairs work, anything else is 401 with code 20003.

use crate::common::{self, Api};
use twilio_standin::Account;

fn is_sid(s: &str, prefix: &str) -> bool {
    s.len() == 34 && s.starts_with(prefix) && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

#[test]
fn test_account_looks_like_a_real_one() {
    let a = Account::for_tests();
    assert!(is_sid(&a.account_sid, "AC"), "{}", a.account_sid);
    assert!(is_sid(&a.api_key_sid, "SK"), "{}", a.api_key_sid);
    assert_eq!(a.auth_token.len(), 32);
    assert_eq!(a.api_key_secret.len(), 32);
    let shown = format!("{a:?}");
    assert!(!shown.contains(&a.auth_token) && !shown.contains(&a.api_key_secret));
}

#[tokio::test]
async fn both_credential_pairs_are_accepted() {
    let standin = common::start().await;
    let account = standin.account().clone();
    for api in [
        Api::with(&standin, &account.account_sid, &account.auth_token),
        Api::with(&standin, &account.api_key_sid, &account.api_key_secret),
    ] {
        assert_eq!(api.get("/v1/Rooms").await.status, 200);
        assert_eq!(api.post("/v1/PlayerStreamers", &[]).await.status, 201);
    }
    assert_eq!(standin.player_streamers().len(), 2);
    standin.shutdown().await;
}

#[tokio::test]
async fn wrong_or_missing_credentials_get_401_with_code_20003_and_change_nothing() {
    let standin = common::start().await;
    let account = standin.account().clone();
    let base = standin.base_url();
    let http = reqwest::Client::new();
    let attempts = [
        None,
        Some(format!(
            "Basic {}",
            b64(&format!("{}:wrong", account.account_sid))
        )),
        // Each half right, but crossed between the two pairs.
        Some(format!(
            "Basic {}",
            b64(&format!("{}:{}", account.api_key_sid, account.auth_token))
        )),
        Some(format!(
            "Basic {}",
            b64(&format!(
                "{}:{}",
                account.account_sid, account.api_key_secret
            ))
        )),
        Some(format!("Bearer {}", account.auth_token)),
        Some("Basic !!!not-base64".to_owned()),
        Some(format!("Basic {}", b64(&account.account_sid))),
    ];
    for header in attempts {
        let mut request = http
            .post(format!("{base}/v1/Rooms"))
            .form(&[("UniqueName", "livestream-x")]);
        if let Some(h) = &header {
            request = request.header("Authorization", h);
        }
        let response = request.send().await.expect("answer");
        assert_eq!(response.status().as_u16(), 401, "{header:?}");
        assert!(response.headers().contains_key("www-authenticate"));
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(body["code"], 20003, "{header:?}");
        assert_eq!(body["status"], 401);
        assert_eq!(
            body["more_info"],
            "https://www.twilio.com/docs/errors/20003"
        );
        assert!(body["message"].is_string());
    }
    assert!(
        standin.rooms().is_empty(),
        "an unauthenticated call changed state"
    );
    let calls = standin.calls();
    assert_eq!(calls.len(), 7, "rejected calls are still logged");
    assert!(calls.iter().all(|c| c.status == 401));
    // The control API needs no credentials.
    let state = http
        .get(format!("{base}/__standin/state"))
        .send()
        .await
        .expect("answer");
    assert_eq!(state.status().as_u16(), 200);
    standin.shutdown().await;
}

fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}
