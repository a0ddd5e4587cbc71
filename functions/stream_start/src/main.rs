//! The `stream_start` Lambda: the shared runtime around [`stream_start::handle`].

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    onair_common::lambda::run_http(|app, req| async move { stream_start::handle(&app, req).await })
        .await
}
