//! Production wiring, run once per cold start: configuration, one shared `SdkConfig`, the
//! clients built once, and the service over the AWS adapters.
//!
//! Locally the same code talks to the emulator: `AWS_ENDPOINT_URL` is honoured by
//! `aws_config`, so there is no code branch for it.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;

use super::dynamodb::DynamoStore;
use super::emf::EmfMetrics;
use super::notify::AwsNotifier;
use super::ssm::SsmSecrets;
use crate::config::{Config, ConfigError, UnresolvedConfig};
use crate::ports::{OsRandom, SystemClock};
use crate::service::Resetkit;

pub type AwsResetkit = Resetkit<DynamoStore, AwsNotifier, SystemClock, OsRandom, EmfMetrics>;

/// Initialises JSON logging, reads the configuration and the code secrets' parameter
/// (failing the cold start with the name of any bad setting or unreadable parameter) and
/// builds the service.
pub async fn init() -> Result<AwsResetkit, Box<dyn std::error::Error + Send + Sync>> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_current_span(false)
        .without_time() // CloudWatch stamps every line already
        .with_target(false)
        .init();
    let config = UnresolvedConfig::from_env()?;
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .load()
        .await;
    let config = resolve(&sdk, config, &PRODUCTION_BUDGETS.dynamodb).await?;
    Ok(build(&sdk, config))
}

/// The configuration with its code secrets: for a parameter, one SSM `GetParameter` with
/// decryption, under `budget` (production gives it DynamoDB's: a small read that answers in
/// milliseconds, well inside Lambda's 10 s for init). Inline secrets need no client.
pub async fn resolve(
    sdk: &aws_config::SdkConfig,
    config: UnresolvedConfig,
    budget: &Budget,
) -> Result<Config, ConfigError> {
    match config.inline() {
        Ok(config) => Ok(config),
        Err(config) => {
            let ssm = aws_sdk_ssm::config::Builder::from(sdk)
                .timeout_config(budget.timeouts())
                .retry_config(budget.retries());
            let secrets = SsmSecrets::new(aws_sdk_ssm::Client::from_conf(ssm.build()));
            config.resolve(&secrets).await
        }
    }
}

/// The SDK's default HTTPS client (hyper 1, rustls with aws-lc), trusting only the roots of
/// Amazon Trust Services. With its default trust store the client would read and parse the
/// whole system certificate store while the clients are built, in every cold start, to
/// trust CAs no AWS endpoint uses.
pub fn https_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
    let trust = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(AWS_ROOT_CAS);
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .expect("a TLS context from static parts");
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https()
}

/// Amazon Root CA 1-4 and Starfield Services Root G2, as PEM.
const AWS_ROOT_CAS: &[u8] = include_bytes!("aws_roots.pem");

/// Time budgets and retries per dependency, so that a throttling, failing or hanging
/// dependency costs a request a bounded time (inside the function's 10 s timeout) and ends in
/// a retryable 503 rather than a Lambda timeout. DynamoDB answers in milliseconds: 2 s per
/// attempt, 3 attempts with short jittered backoff, 5 s in all (a retried transaction carries
/// the SDK's ClientRequestToken, so DynamoDB applies it once). SES and SNS are slower and a
/// duplicate send is worse than a failed one: 3 s per attempt, 2 attempts, 7 s in all.
pub struct Budget {
    pub attempt: Duration,
    pub operation: Duration,
    pub max_attempts: u32,
}

/// The budgets of one service bundle: DynamoDB, and delivery (SES and SNS).
pub struct Budgets {
    pub dynamodb: Budget,
    pub delivery: Budget,
}

pub const PRODUCTION_BUDGETS: Budgets = Budgets {
    dynamodb: Budget {
        attempt: Duration::from_secs(2),
        operation: Duration::from_secs(5),
        max_attempts: 3,
    },
    delivery: Budget {
        attempt: Duration::from_secs(3),
        operation: Duration::from_secs(7),
        max_attempts: 2,
    },
};

/// For tests on one shared, single-threaded emulator under a loaded run: slowness there is
/// not a failure to answer. The fault tests use `PRODUCTION_BUDGETS`.
pub const EMULATOR_BUDGETS: Budgets = Budgets {
    dynamodb: Budget {
        attempt: Duration::from_secs(30),
        operation: Duration::from_secs(90),
        max_attempts: 3,
    },
    delivery: Budget {
        attempt: Duration::from_secs(30),
        operation: Duration::from_secs(90),
        max_attempts: 2,
    },
};

impl Budget {
    fn timeouts(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(1))
            .operation_attempt_timeout(self.attempt)
            .operation_timeout(self.operation)
            .build()
    }

    fn retries(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.max_attempts)
            .with_initial_backoff(Duration::from_millis(50))
            .with_max_backoff(Duration::from_millis(500))
    }
}

/// The service over clients made from `sdk`, with the production budgets: used by `init`.
pub fn build(sdk: &aws_config::SdkConfig, config: Config) -> AwsResetkit {
    build_with(sdk, config, &PRODUCTION_BUDGETS)
}

/// `build` with other time budgets (the integration tests on the emulator).
pub fn build_with(sdk: &aws_config::SdkConfig, config: Config, budgets: &Budgets) -> AwsResetkit {
    let (d, m) = (&budgets.dynamodb, &budgets.delivery);
    let dynamodb = aws_sdk_dynamodb::config::Builder::from(sdk)
        .timeout_config(d.timeouts())
        .retry_config(d.retries());
    let ses = aws_sdk_sesv2::config::Builder::from(sdk)
        .timeout_config(m.timeouts())
        .retry_config(m.retries());
    let sns = aws_sdk_sns::config::Builder::from(sdk)
        .timeout_config(m.timeouts())
        .retry_config(m.retries());
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::from_conf(dynamodb.build()),
        &config.aws.table_prefix,
    );
    let notifier = AwsNotifier::new(
        aws_sdk_sesv2::Client::from_conf(ses.build()),
        aws_sdk_sns::Client::from_conf(sns.build()),
        config.aws.sender_email.clone(),
        config.aws.configuration_set.clone(),
    );
    Resetkit::new(
        store,
        notifier,
        SystemClock,
        OsRandom,
        EmfMetrics,
        config.settings,
    )
}

#[cfg(test)]
mod tls_tests {
    use aws_config::{BehaviorVersion, Region, SdkConfig};

    #[test]
    fn a_client_builds_its_tls_connector_from_the_aws_roots_alone() {
        assert_eq!(
            String::from_utf8_lossy(super::AWS_ROOT_CAS)
                .matches("-----BEGIN CERTIFICATE-----")
                .count(),
            5
        );
        let sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .http_client(super::https_client())
            .build();
        // Building a client builds its connector now (not at the first request), and parses
        // every root: a malformed one panics here.
        let _ = aws_sdk_dynamodb::Client::new(&sdk);
    }
}
