//! Structured JSON logs, one object a line, with the Lambda request id from the runtime's span.
//! Libraries that could log requests in detail (hyper, reqwest, the AWS SDK) are held at `warn`.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,hyper=warn,hyper_util=warn,reqwest=warn,aws=warn,aws_smithy_runtime=warn,rustls=warn"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .with_target(false)
        .try_init();
}
