//! Structured JSON logs, one object a line, with the Lambda request id from the runtime's span.
//! Libraries that could log requests in detail (hyper, reqwest, the AWS SDK) are held at `warn`.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// What is logged unless `RUST_LOG` says otherwise.
pub const DEFAULT_FILTER: &str =
    "info,hyper=warn,hyper_util=warn,reqwest=warn,aws=warn,aws_smithy_runtime=warn,rustls=warn";

/// Logs to standard output (CloudWatch, in Lambda).
pub fn init() {
    init_with_writer(std::io::stdout);
}

/// Logs in the same format to `writer` (tests capture the real lines this way). Only the first
/// call in a process takes effect.
pub fn init_with_writer<W>(writer: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .with_target(false)
        .with_writer(writer)
        .try_init();
}
