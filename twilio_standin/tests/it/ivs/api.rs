//! The operations OnAir calls, through the real client: public keys, stages and their
//! endpoints, paging, participants of a session, and the errors of unknown resources; every
//! call then checked against the model.

use aws_sdk_ivsrealtime::error::ProvideErrorMetadata;

use super::{assert_calls_fit_the_model, client, keys, new_stage};
use crate::common::start;

#[tokio::test]
async fn public_keys_are_imported_read_and_deleted() {
    let standin = start().await;
    let ivs = client(&standin);
    let imported = ivs
        .import_public_key()
        .public_key_material(&keys().public_pem)
        .name("onair")
        .tags("app", "onair")
        .send()
        .await
        .expect("ImportPublicKey");
    let key = imported.public_key().expect("a public key");
    let arn = key.arn().expect("an ARN").to_owned();
    assert!(
        arn.starts_with("arn:aws:ivs:us-east-1:123456789012:public-key/"),
        "{arn}"
    );
    assert_eq!(key.name(), Some("onair"));
    assert!(key.fingerprint().is_some_and(|f| !f.is_empty()));

    let again = ivs
        .import_public_key()
        .public_key_material(&keys().public_pem)
        .send()
        .await
        .expect_err("the same key twice");
    assert_eq!(again.code(), Some("ConflictException"));

    let p256 = super::key_pair("prime256v1");
    let wrong_curve = ivs
        .import_public_key()
        .public_key_material(&p256.public_pem)
        .send()
        .await
        .expect_err("a P-256 key");
    assert_eq!(wrong_curve.code(), Some("ValidationException"));

    let read = ivs
        .get_public_key()
        .arn(&arn)
        .send()
        .await
        .expect("GetPublicKey");
    assert_eq!(
        read.public_key().and_then(|k| k.public_key_material()),
        Some(keys().public_pem.as_str())
    );
    ivs.delete_public_key()
        .arn(&arn)
        .send()
        .await
        .expect("DeletePublicKey");
    let gone = ivs
        .get_public_key()
        .arn(&arn)
        .send()
        .await
        .expect_err("deleted");
    assert!(gone.into_service_error().is_resource_not_found_exception());
    assert_calls_fit_the_model(&standin);
}

#[tokio::test]
async fn stages_are_created_listed_in_pages_read_and_deleted() {
    let standin = start().await;
    let ivs = client(&standin);
    let mut arns = Vec::new();
    for n in 0..3 {
        let created = ivs
            .create_stage()
            .name(format!("onair-stream-{n}"))
            .tags("onair-stream", format!("stream-{n}"))
            .send()
            .await
            .expect("CreateStage");
        let stage = created.stage().expect("a stage");
        let id = stage
            .arn()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        assert!(
            stage
                .arn()
                .starts_with("arn:aws:ivs:us-east-1:123456789012:stage/")
        );
        assert_eq!(id.len(), 12);
        assert!(stage.active_session_id().is_none(), "no one has joined");
        let endpoints = stage.endpoints().expect("endpoints");
        assert_eq!(
            endpoints.whip(),
            Some(format!("{}/media/ivs/whip/{id}", standin.base_url()).as_str())
        );
        assert!(endpoints.events().is_some_and(|e| e.starts_with("wss://")));
        assert!(created.participant_tokens().is_empty());
        arns.push(stage.arn().to_owned());
    }

    let first = ivs
        .list_stages()
        .max_results(2)
        .send()
        .await
        .expect("ListStages");
    assert_eq!(first.stages().len(), 2);
    let token = first.next_token().expect("a second page").to_owned();
    let second = ivs
        .list_stages()
        .max_results(2)
        .next_token(token)
        .send()
        .await
        .expect("ListStages, page 2");
    assert_eq!(second.stages().len(), 1);
    assert!(second.next_token().is_none());
    let listed: Vec<&str> = first
        .stages()
        .iter()
        .chain(second.stages())
        .map(|s| s.arn())
        .collect();
    assert_eq!(listed, arns.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        first.stages()[1]
            .tags()
            .and_then(|t| t.get("onair-stream"))
            .map(String::as_str),
        Some("stream-1")
    );

    let read = ivs
        .get_stage()
        .arn(&arns[0])
        .send()
        .await
        .expect("GetStage");
    assert_eq!(read.stage().and_then(|s| s.name()), Some("onair-stream-0"));

    ivs.delete_stage()
        .arn(&arns[0])
        .send()
        .await
        .expect("DeleteStage");
    let gone = ivs
        .get_stage()
        .arn(&arns[0])
        .send()
        .await
        .expect_err("deleted");
    assert!(gone.into_service_error().is_resource_not_found_exception());
    let again = ivs
        .delete_stage()
        .arn(&arns[0])
        .send()
        .await
        .expect_err("twice");
    assert!(again.into_service_error().is_resource_not_found_exception());
    assert_eq!(
        ivs.list_stages()
            .send()
            .await
            .expect("ListStages")
            .stages()
            .len(),
        2
    );
    assert_calls_fit_the_model(&standin);
}

#[tokio::test]
async fn participants_of_an_unknown_session_are_none_and_cannot_be_disconnected() {
    let standin = start().await;
    let ivs = client(&standin);
    let arn = new_stage(&ivs).await;
    let listed = ivs
        .list_participants()
        .stage_arn(&arn)
        .session_id("st-0123456789abc")
        .send()
        .await
        .expect("ListParticipants");
    assert!(listed.participants().is_empty());
    let nobody = ivs
        .disconnect_participant()
        .stage_arn(&arn)
        .participant_id("nobody")
        .send()
        .await
        .expect_err("no such participant");
    assert!(
        nobody
            .into_service_error()
            .is_resource_not_found_exception()
    );
    let bad_session = ivs
        .list_participants()
        .stage_arn(&arn)
        .session_id("st-short")
        .send()
        .await
        .expect_err("a session id of the wrong length");
    assert_eq!(bad_session.code(), Some("ValidationException"));
    assert_calls_fit_the_model(&standin);
}

#[tokio::test]
async fn a_simulated_publisher_starts_a_session_until_it_is_disconnected() {
    let standin = start().await;
    let ivs = client(&standin);
    let arn = new_stage(&ivs).await;
    assert!(
        standin
            .ivs_connect_publisher("arn:aws:ivs:us-east-1:123456789012:stage/nope", "host")
            .is_err()
    );
    let id = standin.ivs_connect_publisher(&arn, "host").expect("joined");
    let stage = ivs.get_stage().arn(&arn).send().await.expect("GetStage");
    let session = stage
        .stage()
        .and_then(|s| s.active_session_id())
        .expect("a session")
        .to_owned();
    let listed = ivs
        .list_participants()
        .stage_arn(&arn)
        .session_id(&session)
        .filter_by_published(true)
        .send()
        .await
        .expect("ListParticipants");
    assert_eq!(listed.participants().len(), 1);
    assert_eq!(listed.participants()[0].participant_id(), Some(id.as_str()));
    assert_eq!(listed.participants()[0].user_id(), Some("host"));
    ivs.disconnect_participant()
        .stage_arn(&arn)
        .participant_id(&id)
        .send()
        .await
        .expect("DisconnectParticipant");
    // Again: it has already left, which is no error.
    ivs.disconnect_participant()
        .stage_arn(&arn)
        .participant_id(&id)
        .send()
        .await
        .expect("DisconnectParticipant twice");
    let stage = ivs.get_stage().arn(&arn).send().await.expect("GetStage");
    assert_eq!(stage.stage().and_then(|s| s.active_session_id()), None);
    let connected = ivs
        .list_participants()
        .stage_arn(&arn)
        .session_id(&session)
        .filter_by_state(aws_sdk_ivsrealtime::types::ParticipantState::Connected)
        .send()
        .await
        .expect("ListParticipants");
    assert!(connected.participants().is_empty());
    assert_calls_fit_the_model(&standin);
}
