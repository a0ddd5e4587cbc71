//! The contract oracle (`onair_test_support::ivs_contract`) catches what the model forbids, and
//! the stand-in refuses such requests as the model says: 400 `ValidationException` for an
//! unknown member or a value out of its shape, 404 for an operation it does not serve.

use aws_sdk_ivsrealtime::error::ProvideErrorMetadata;
use onair_test_support::ivs_contract::Model;
use serde_json::json;

use super::{assert_calls_fit_the_model, client, new_stage};
use crate::common::start;

#[test]
fn the_validator_catches_what_the_model_forbids() {
    let model = Model::from_repo();
    let arn = "arn:aws:ivs:us-east-1:123456789012:stage/abcdEFGH1234";
    assert!(
        model
            .check_request("GetStage", &json!({ "arn": arn }))
            .is_ok()
    );
    for bad in [
        json!({}),
        json!({"arn": "nope"}),
        json!({"arn": arn, "extra": 1}),
        json!({"arn": 5}),
    ] {
        assert!(model.check_request("GetStage", &bad).is_err(), "{bad}");
    }
    assert!(
        model
            .check_request("ListStages", &json!({"maxResults": 0}))
            .is_err()
    );
    assert!(
        model
            .check_request("ListStages", &json!({"maxResults": 100}))
            .is_ok()
    );
    assert!(
        model
            .check_request(
                "ListParticipants",
                &json!({"stageArn": arn, "sessionId": "st-short"})
            )
            .is_err()
    );
    assert!(
        model
            .check_request("CreateStage", &json!({"name": "has space"}))
            .is_err()
    );
    let ok = json!({"participants": [{"participantId": "p1", "state": "CONNECTED",
        "firstJoinTime": "2026-12-04T22:00:00Z", "published": true}]});
    assert!(
        model
            .check_response("ListParticipants", 200, &ok, None)
            .is_ok()
    );
    let bad =
        json!({"participants": [{"participantId": "p1", "state": "GONE", "firstJoinTime": 5}]});
    assert_eq!(
        model
            .check_response("ListParticipants", 200, &bad, None)
            .unwrap_err()
            .len(),
        2
    );
    assert!(
        model
            .check_response("ListStages", 200, &json!({}), None)
            .is_err(),
        "stages is required"
    );
    let err = json!({"exceptionMessage": "no"});
    let not_found = Some("ResourceNotFoundException");
    assert!(
        model
            .check_response("GetStage", 404, &err, not_found)
            .is_ok()
    );
    assert!(
        model
            .check_response("GetStage", 400, &err, not_found)
            .is_err()
    );
    assert!(
        model
            .check_response("ListStages", 404, &err, not_found)
            .is_err()
    );
    assert!(model.check_response("GetStage", 404, &err, None).is_err());
    let internal = Some("InternalServerException");
    assert!(
        model
            .check_response("CreateStage", 503, &err, internal)
            .is_ok()
    );
    assert!(
        model
            .check_response("CreateStage", 500, &json!({"message": "x"}), internal)
            .is_err()
    );
    assert!(
        model
            .check_response("CreateParticipants", 200, &json!({}), None)
            .is_err()
    );
}

#[tokio::test]
async fn bodies_outside_the_input_shape_are_validation_errors() {
    let standin = start().await;
    let ivs = client(&standin);
    let arn = new_stage(&ivs).await;
    // Signed bodies the SDK would never send: the body is replaced before signing.
    for body in [
        json!({ "arn": arn, "unexpected": true }).to_string(),
        json!({ "arn": 12 }).to_string(),
        json!({ "arn": "arn:aws:ivs:us-east-1:123456789012:channel/abc" }).to_string(),
        json!({}).to_string(),
        "not json".to_owned(),
    ] {
        let sent = body.clone();
        let refused = ivs
            .get_stage()
            .arn(&arn)
            .customize()
            .mutate_request(move |request| {
                *request.body_mut() = sent.clone().into();
                let _ = request
                    .headers_mut()
                    .insert("content-length", sent.len().to_string());
            })
            .send()
            .await
            .expect_err("an invalid body");
        assert_eq!(refused.code(), Some("ValidationException"), "{body}");
        assert_eq!(
            refused.raw_response().map(|r| r.status().as_u16()),
            Some(400)
        );
    }
    let refused = ivs
        .list_stages()
        .max_results(0)
        .send()
        .await
        .expect_err("maxResults 0");
    assert_eq!(refused.code(), Some("ValidationException"));

    // An operation the stand-in does not serve.
    let unknown = ivs
        .list_stages()
        .customize()
        .mutate_request(|request| {
            let _ = request.set_uri(request.uri().replace("/ListStages", "/ListStageSessions"));
        })
        .send()
        .await
        .expect_err("not served");
    assert_eq!(
        unknown.raw_response().map(|r| r.status().as_u16()),
        Some(404)
    );

    // The log has the unknown operation too, which is in no model; the rest fits.
    let mut calls = serde_json::to_value(standin.ivs_calls()).expect("calls as JSON");
    let list = calls.as_array_mut().expect("a list");
    let last = list.pop().expect("the unknown operation was logged");
    assert_eq!(last["operation"], "ListStageSessions");
    assert_eq!(last["error_type"], "ResourceNotFoundException");
    Model::from_repo()
        .check_calls(&calls)
        .unwrap_or_else(|e| panic!("{e}"));
    standin.clear_ivs_calls();
    ivs.get_stage().arn(&arn).send().await.expect("GetStage");
    assert_calls_fit_the_model(&standin);
}
