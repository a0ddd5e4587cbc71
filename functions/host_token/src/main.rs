//! The `host_token` Lambda: the shared runtime around [`host_token::handle`].

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    onair_common::lambda::run_http(|app, req| async move { host_token::handle(&app, req).await })
        .await
}
