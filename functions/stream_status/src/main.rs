//! The `stream_status` Lambda: the shared runtime around [`stream_status::handle`].

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    onair_common::lambda::run_http(|app, req| async move { stream_status::handle(&app, req).await })
        .await
}
