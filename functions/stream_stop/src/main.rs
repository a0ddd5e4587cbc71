//! The `stream_stop` Lambda: the shared runtime around [`stream_stop::handle`].

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    onair_common::lambda::run_http(|app, req| async move { stream_stop::handle(&app, req).await })
        .await
}
