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
use super::sqs::SqsQueue;
use super::ssm::SsmSecrets;
use crate::config::{Config, ConfigError, UnresolvedConfig, DEAD_LETTER_QUEUE_URL};
use crate::ports::{OsRandom, SystemClock};
use crate::service::{AuditTrail, Resetkit};

/// The service as the three functions run it: delivery goes to the queue.
pub type AwsResetkit = Resetkit<DynamoStore, SqsQueue, SystemClock, OsRandom, EmfMetrics>;

/// The service as the courier runs it: delivery goes to SES and SNS.
pub type AwsCourier = Resetkit<DynamoStore, AwsNotifier, SystemClock, OsRandom, EmfMetrics>;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Initialises JSON logging, reads the configuration and the code secrets' parameter
/// (failing the cold start with the name of any bad setting or unreadable parameter) and
/// builds the service.
pub async fn init() -> Result<AwsResetkit, BoxError> {
    let (sdk, config) = load().await?;
    Ok(build(&sdk, config))
}

/// `init` for the courier: its service, and the queues it answers to.
pub async fn init_courier() -> Result<CourierParts, BoxError> {
    let (sdk, config) = load().await?;
    Ok(build_courier_with(&sdk, config, &PRODUCTION_BUDGETS)?)
}

/// `init` for the digest job: the audit log and the stage's code keys. It reads the same
/// configuration as every function, so a stage's settings fail the same way everywhere.
pub async fn init_audit_trail() -> Result<AuditTrail<DynamoStore>, BoxError> {
    let (sdk, config) = load().await?;
    Ok(AuditTrail::new(
        DynamoStore::new(
            dynamodb(&sdk, &PRODUCTION_BUDGETS),
            &config.aws.table_prefix,
        ),
        config.settings.code_keys,
    ))
}

async fn sdk() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .load()
        .await
}

async fn load() -> Result<(aws_config::SdkConfig, Config), BoxError> {
    init_logging();
    let config = UnresolvedConfig::from_env()?;
    let sdk = sdk().await;
    let config = resolve(&sdk, config, &PRODUCTION_BUDGETS.dynamodb).await?;
    Ok((sdk, config))
}

fn init_logging() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_current_span(false)
        .without_time() // CloudWatch stamps every line already
        .with_target(false)
        .init();
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

/// The code keys alone (tools: `resetctl deliveries`), read as `resolve` reads them.
pub async fn resolve_code_keys(
    sdk: &aws_config::SdkConfig,
    source: crate::config::CodeSecretsSource,
    budget: &Budget,
) -> Result<crate::domain::CodeKeys, ConfigError> {
    let ssm = aws_sdk_ssm::config::Builder::from(sdk)
        .timeout_config(budget.timeouts())
        .retry_config(budget.retries());
    let secrets = SsmSecrets::new(aws_sdk_ssm::Client::from_conf(ssm.build()));
    source.resolve(&secrets).await
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
    /// Opening a connection: AWS endpoints accept in milliseconds.
    pub connect: Duration,
    pub attempt: Duration,
    pub operation: Duration,
    pub max_attempts: u32,
}

/// The budgets of one service bundle: DynamoDB and SQS, and delivery (SES and SNS).
pub struct Budgets {
    pub dynamodb: Budget,
    pub delivery: Budget,
}

pub const PRODUCTION_BUDGETS: Budgets = Budgets {
    dynamodb: Budget {
        connect: Duration::from_secs(1),
        attempt: Duration::from_secs(2),
        operation: Duration::from_secs(5),
        max_attempts: 3,
    },
    delivery: Budget {
        connect: Duration::from_secs(1),
        attempt: Duration::from_secs(3),
        operation: Duration::from_secs(7),
        max_attempts: 2,
    },
};

/// For tests on one shared, single-threaded emulator under a loaded run: slowness there is
/// not a failure to answer. The fault tests use `PRODUCTION_BUDGETS`.
pub const EMULATOR_BUDGETS: Budgets = Budgets {
    dynamodb: Budget {
        connect: EMULATOR_CONNECT,
        attempt: Duration::from_secs(30),
        operation: Duration::from_secs(90),
        max_attempts: 3,
    },
    delivery: Budget {
        connect: EMULATOR_CONNECT,
        attempt: Duration::from_secs(30),
        operation: Duration::from_secs(90),
        max_attempts: 2,
    },
};

/// A burst of hundreds of new connections overflows the emulator's listen backlog (128):
/// the kernel drops the excess SYNs and the client resends them after 1 s, then 3 s.
const EMULATOR_CONNECT: Duration = Duration::from_secs(10);

impl Budget {
    fn timeouts(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.connect)
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
    Resetkit::new(
        DynamoStore::new(dynamodb(sdk, budgets), &config.aws.table_prefix),
        SqsQueue::new(sqs(sdk, budgets), config.aws.queue_url),
        SystemClock,
        OsRandom,
        EmfMetrics,
        config.settings,
    )
}

/// What the courier function runs on: its service, the queue it takes jobs from (to
/// schedule a retry), and the dead-letter queue (for a job it gives up on).
pub struct CourierParts {
    pub courier: AwsCourier,
    pub queue: SqsQueue,
    pub dead_letters: SqsQueue,
}

/// The courier over clients made from `sdk`. Fails without a dead-letter queue.
pub fn build_courier_with(
    sdk: &aws_config::SdkConfig,
    config: Config,
    budgets: &Budgets,
) -> Result<CourierParts, ConfigError> {
    let dead_letters = config
        .aws
        .dead_letter_queue_url
        .clone()
        .ok_or(ConfigError::Missing(DEAD_LETTER_QUEUE_URL))?;
    let store = DynamoStore::new(dynamodb(sdk, budgets), &config.aws.table_prefix);
    let notifier = notifier(sdk, budgets, &config);
    let sqs = sqs(sdk, budgets);
    Ok(CourierParts {
        courier: Resetkit::new(
            store,
            notifier,
            SystemClock,
            OsRandom,
            EmfMetrics,
            config.settings,
        ),
        queue: SqsQueue::new(sqs.clone(), config.aws.queue_url),
        dead_letters: SqsQueue::new(sqs, dead_letters),
    })
}

/// The clients, each with its budget; the functions build only DynamoDB's and SQS's, the
/// courier SES's and SNS's too. SQS answers as fast as DynamoDB, and a job sent twice is
/// harmless (the courier recognises it): the same budget.
fn dynamodb(sdk: &aws_config::SdkConfig, b: &Budgets) -> aws_sdk_dynamodb::Client {
    let d = &b.dynamodb;
    aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(sdk)
            .timeout_config(d.timeouts())
            .retry_config(d.retries())
            .build(),
    )
}

fn sqs(sdk: &aws_config::SdkConfig, b: &Budgets) -> aws_sdk_sqs::Client {
    let d = &b.dynamodb;
    aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::config::Builder::from(sdk)
            .timeout_config(d.timeouts())
            .retry_config(d.retries())
            .build(),
    )
}

fn notifier(sdk: &aws_config::SdkConfig, b: &Budgets, config: &Config) -> AwsNotifier {
    let m = &b.delivery;
    let ses = aws_sdk_sesv2::config::Builder::from(sdk)
        .timeout_config(m.timeouts())
        .retry_config(m.retries());
    let sns = aws_sdk_sns::config::Builder::from(sdk)
        .timeout_config(m.timeouts())
        .retry_config(m.retries());
    AwsNotifier::new(
        aws_sdk_sesv2::Client::from_conf(ses.build()),
        aws_sdk_sns::Client::from_conf(sns.build()),
        config.aws.sender_email.clone(),
        config.aws.configuration_set.clone(),
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
