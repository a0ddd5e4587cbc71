//! The one `main` every HTTP function shares: logs, the [`App`] built once per container, and
//! the Lambda runtime calling the endpoint's handler with it.

use std::future::Future;
use std::sync::Arc;

use lambda_http::{Body, Request, Response};

use crate::app::App;

/// Runs an HTTP function. A configuration error stops the cold start with a message naming the key.
pub async fn run_http<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(Arc<App>, Request) -> Fut,
    Fut: Future<Output = Response<Body>> + Send,
{
    crate::logging::init();
    let app = Arc::new(App::from_env().await.inspect_err(|err| {
        tracing::error!(error = %err, "the function cannot start");
    })?);
    lambda_http::run(lambda_http::service_fn(move |req| {
        let response = handler(app.clone(), req);
        async move { Ok::<_, std::convert::Infallible>(response.await) }
    }))
    .await
}
