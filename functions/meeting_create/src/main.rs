//! The `meeting_create` Lambda: the shared runtime around [`meeting_create::handle`].

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    onair_common::lambda::run_http(
        |app, req| async move { meeting_create::handle(&app, req).await },
    )
    .await
}
