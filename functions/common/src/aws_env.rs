//! The AWS SDK configuration of this container (credentials and region from the default chain),
//! loaded at most once, and only by what needs AWS: the Secrets Manager store (`SECRET_ID`) and
//! the IVS client (`AUDIENCE_MODE=ivs`) share it (docs/ARCHITECTURE.md, Layers).

use aws_config::SdkConfig;
use tokio::sync::OnceCell;

/// The shared configuration, loaded on first use.
#[derive(Default)]
pub struct AwsEnvironment {
    loaded: OnceCell<SdkConfig>,
}

impl AwsEnvironment {
    /// The configuration from the environment; without a region anywhere in the chain,
    /// `us-east-1`.
    pub async fn config(&self) -> &SdkConfig {
        self.loaded
            .get_or_init(|| async {
                let region = aws_config::meta::region::RegionProviderChain::default_provider()
                    .or_else(aws_config::Region::from_static("us-east-1"));
                aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .region(region)
                    .load()
                    .await
            })
            .await
    }
}
