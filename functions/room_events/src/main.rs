//! The `room_events` Lambda: the shared runtime around [`room_events::handle`].

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    onair_common::lambda::run_http(|app, req| async move { room_events::handle(&app, req).await })
        .await
}
