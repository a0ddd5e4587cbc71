//! The fault layer covers the IVS API: an injected status answers the model's error shape for
//! it (500 `InternalServerException`, 429 `ThrottlingException`) before anything else, and the
//! call is logged; the next call is served.

use aws_sdk_ivsrealtime::error::ProvideErrorMetadata;
use twilio_standin::{Fault, FaultAction};

use super::{assert_calls_fit_the_model, client};
use crate::common::start;

#[tokio::test]
async fn injected_faults_on_create_stage_answer_model_shaped_errors() {
    let standin = start().await;
    let ivs = client(&standin);
    for (status, shape) in [
        (500, "InternalServerException"),
        (429, "ThrottlingException"),
    ] {
        standin.inject(Fault::once(
            Some("POST"),
            "/ivs/CreateStage",
            FaultAction::Status(status),
        ));
        let failed = ivs
            .create_stage()
            .name("onair-main")
            .send()
            .await
            .expect_err("the injected fault");
        assert_eq!(
            failed.raw_response().map(|r| r.status().as_u16()),
            Some(status)
        );
        assert_eq!(failed.code(), Some(shape));
    }
    assert!(
        ivs.list_stages()
            .send()
            .await
            .expect("ListStages")
            .stages()
            .is_empty(),
        "a faulted CreateStage made nothing"
    );
    ivs.create_stage()
        .send()
        .await
        .expect("the next call is served");
    assert_eq!(standin.faults_fired(), 2);
    let logged: Vec<(String, u16)> = standin
        .ivs_calls()
        .into_iter()
        .map(|c| (c.operation, c.status))
        .collect();
    assert_eq!(
        logged,
        [
            ("CreateStage".to_owned(), 500),
            ("CreateStage".to_owned(), 429),
            ("ListStages".to_owned(), 200),
            ("CreateStage".to_owned(), 200),
        ]
    );
    assert_calls_fit_the_model(&standin);
}
