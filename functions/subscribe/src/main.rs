//! The `subscribe` Lambda: the shared runtime around [`subscribe::handle`].

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    onair_common::lambda::run_http(|app, req| async move { subscribe::handle(&app, req).await })
        .await
}
