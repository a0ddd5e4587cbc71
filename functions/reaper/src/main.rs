//! The `reaper` Lambda, run on a schedule: builds the [`onair_common::App`] once, then reaps on
//! every scheduled event.

use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    onair_common::logging::init();
    let app = onair_common::App::from_env().await?;
    lambda_runtime::run(service_fn(|_: LambdaEvent<serde_json::Value>| async {
        Ok::<_, std::convert::Infallible>(reaper::reap(&app, onair_common::token::unix_now()).await)
    }))
    .await
}
