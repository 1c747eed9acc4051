//! Production wiring, run once per cold start: configuration, one shared `SdkConfig`, the
//! clients built once, and the service over the AWS adapters.
//!
//! Locally the same code talks to the emulator: `AWS_ENDPOINT_URL` is honoured by
//! `aws_config`, so there is no code branch for it.

use aws_config::BehaviorVersion;

use super::dynamodb::DynamoStore;
use super::notify::AwsNotifier;
use crate::config::Config;
use crate::ports::{OsRandom, SystemClock};
use crate::service::Resetkit;

pub type AwsResetkit = Resetkit<DynamoStore, AwsNotifier, SystemClock, OsRandom>;

/// Initialises JSON logging, reads the configuration (failing the cold start with the
/// name of any bad setting) and builds the service.
pub async fn init() -> Result<AwsResetkit, Box<dyn std::error::Error + Send + Sync>> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_current_span(false)
        .without_time() // CloudWatch stamps every line already
        .with_target(false)
        .init();
    let config = Config::from_env()?;
    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    Ok(build(&sdk, config))
}

/// The service over clients made from `sdk`: used by `init` and by the integration tests.
pub fn build(sdk: &aws_config::SdkConfig, config: Config) -> AwsResetkit {
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), &config.aws.table_prefix);
    let notifier = AwsNotifier::new(
        aws_sdk_sesv2::Client::new(sdk),
        aws_sdk_sns::Client::new(sdk),
        config.aws.sender_email.clone(),
        config.aws.configuration_set.clone(),
    );
    Resetkit::new(store, notifier, SystemClock, OsRandom, config.settings)
}
