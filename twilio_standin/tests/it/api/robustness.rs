//! Hostile or odd input never takes the stand-in down: every REST answer is a Twilio-shaped
//! error and the server keeps serving.

use std::time::Duration;

use serde_json::Value;

use crate::common::{self, Api};

fn is_twilio_error(body: &Value, status: u16) -> bool {
    body["status"] == status
        && body["code"].as_u64().is_some()
        && body["message"].is_string()
        && body["more_info"]
            .as_str()
            .is_some_and(|m| m.starts_with("https://www.twilio.com/docs/errors/"))
}

#[tokio::test]
async fn odd_requests_get_twilio_errors_and_the_server_survives() {
    let standin = common::start().await;
    let api = Api::new(&standin);
    api.create_room("livestream-odd").await;
    let huge = "9".repeat(40);
    let paths = [
        "/v1/Rooms/%FF%FE".to_owned(),
        "/v1/Rooms/%zz".to_owned(),
        "/v1/Rooms/%".to_owned(),
        "/v1/Rooms/".to_owned(),
        "//v1//Rooms".to_owned(),
        format!("/v1/Rooms?PageSize={huge}"),
        "/v1/Rooms?PageSize=1&Page=2147483647".to_owned(),
        "/v1/Rooms?PageToken=P".to_owned(),
        "/v1/Rooms?PageToken=PA%C3%A9%C3%A9".to_owned(),
        "/v1/Rooms?PageToken=%C3%A9x".to_owned(),
        "/v1/Rooms?DateCreatedAfter=yesterday".to_owned(),
        "/v1/Rooms?%=%".to_owned(),
        "/v1/Rooms/livestream-odd/Participants/%00/SubscribeRules".to_owned(),
        format!("/v1/{}", "a/".repeat(200)),
    ];
    for path in &paths {
        let reply = api.get(path).await;
        assert!(
            reply.status == 200 || is_twilio_error(&reply.body, reply.status),
            "{path}: {} {:?}",
            reply.status,
            reply.body
        );
    }
    let forms: [&[(&str, &str)]; 4] = [
        &[("MaxParticipantDuration", &huge)],
        &[("UniqueName", "\u{0}\u{202e}")],
        &[("VideoCodecs", "VP8"), ("VideoCodecs", "AV1")],
        &[("RecordingRules", "{not json")],
    ];
    for form in forms {
        let reply = api.post("/v1/Rooms", form).await;
        assert!(
            reply.status == 201 || is_twilio_error(&reply.body, reply.status),
            "{form:?}: {:?}",
            reply.body
        );
    }
    let raw = api
        .http
        .post(format!("{}/v1/Rooms", standin.base_url()))
        .basic_auth(
            &standin.account().account_sid,
            Some(&standin.account().auth_token),
        )
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![0xff, 0xfe, b'=', 0x80])
        .send()
        .await
        .expect("answer");
    assert!(raw.status().is_client_error() || raw.status().is_success());
    let odd_host = api
        .http
        .get(format!("{}/v1/Rooms", standin.base_url()))
        .basic_auth(
            &standin.account().account_sid,
            Some(&standin.account().auth_token),
        )
        .header("host", "evil host/../")
        .send()
        .await
        .expect("answer");
    let body: Value = odd_host.json().await.expect("json");
    assert!(
        s_starts(&body["meta"]["url"], &standin.base_url()),
        "an unusable Host falls back to the listener's address"
    );

    // A clock pushed to the end of time still answers.
    standin.advance_clock(Duration::from_secs(u64::MAX));
    standin.advance_clock(Duration::MAX);
    assert_eq!(api.get("/v1/Rooms").await.status, 200);
    assert!(standin.rooms().iter().all(|r| r.status == "completed"));
    assert_eq!(api.post("/v1/PlayerStreamers", &[]).await.status, 201);
    standin.shutdown().await;
}

fn s_starts(v: &Value, prefix: &str) -> bool {
    v.as_str().is_some_and(|s| s.starts_with(prefix))
}
