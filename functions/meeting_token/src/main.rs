//! The `meeting_token` Lambda: the shared runtime around [`meeting_token::handle`].

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    onair_common::lambda::run_http(|app, req| async move { meeting_token::handle(&app, req).await })
        .await
}
