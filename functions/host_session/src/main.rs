//! The `host_session` Lambda: the shared runtime around [`host_session::handle`].

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    onair_common::lambda::run_http(|app, req| async move { host_session::handle(&app, req).await })
        .await
}
