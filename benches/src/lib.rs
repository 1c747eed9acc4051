//! What the benchmark programs share: a stage on the emulator, set up as `scripts/dev.sh`
//! sets one up (tables from template.yaml, the courier's queues, the demo people and keys,
//! the SES sender) and the functions' configuration for it, through plain clients (nothing
//! here is counted or timed).

use aws_config::{BehaviorVersion, Region, SdkConfig};
use resetkit::adapters::dynamodb::DynamoStore;
use resetkit::adapters::notify::AwsNotifier;
use resetkit::adapters::sqs::SqsQueue;
use resetkit::config::Config;
use resetkit::ports::{NoMetrics, OsRandom, SystemClock};
use resetkit::Resetkit;

const TEMPLATE: &str = include_str!("../../template.yaml");
const SENDER: &str = "no-reply@resetkit.bench";

/// A stage named `prefix` on the emulator.
pub struct Stage {
    /// For the emulator: its endpoint, us-east-1, test credentials.
    pub sdk: SdkConfig,
    pub prefix: String,
    /// The functions' configuration, read by their own parser.
    pub config: Config,
    pub dead_letter_url: String,
}

/// Sets up a stage on the emulator at `endpoint`, its names prefixed with `prefix`.
pub async fn stage(endpoint: &str, prefix: &str) -> Stage {
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint.trim_end_matches('/'))
        .region(Region::new("us-east-1"))
        .test_credentials()
        .load()
        .await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    resetctl::create_tables(&dynamodb, TEMPLATE, prefix)
        .await
        .expect("create tables");
    resetctl::people::seed_demo(&DynamoStore::new(dynamodb, prefix))
        .await
        .expect("seed demo people and keys");
    if let Err(e) = aws_sdk_sesv2::Client::new(&sdk)
        .create_email_identity()
        .email_identity(SENDER)
        .send()
        .await
    {
        assert!(
            e.as_service_error()
                .is_some_and(|s| s.is_already_exists_exception()),
            "SES identity: {e:?}"
        );
    }
    let (queue_url, dead_letter_url) =
        resetctl::queues::create_queues(&aws_sdk_sqs::Client::new(&sdk), prefix, 30)
            .await
            .expect("create queues");
    let base = [
        (resetkit::config::QUEUE_URL, queue_url.as_str()),
        (resetkit::config::TABLE_PREFIX, prefix),
        (resetkit::config::SENDER_EMAIL, SENDER),
        (
            resetkit::config::CODE_SECRETS,
            "bench-secret-bench-secret-bench-secret-0001",
        ),
        (
            resetkit::config::RESET_LINK_TEMPLATE,
            "https://reset.example.com/reset#LeadId={LeadId}&TemporaryPassword={TemporaryPassword}",
        ),
        (resetkit::config::EXTRA_FIELDS, resetkit::demo::EXTRA_FIELDS),
        (
            resetkit::config::BROWSER_CONFIRM_KEY,
            resetkit::demo::BROWSER_KEY,
        ),
    ];
    let config = Config::from_lookup(|k| {
        base.iter()
            .find(|(key, _)| *key == k)
            .map(|(_, v)| (*v).to_owned())
    })
    .expect("configuration");
    Stage {
        sdk,
        prefix: prefix.to_owned(),
        config,
        dead_letter_url,
    }
}

/// The AWS clients a bundle runs on (the benchmarks put their counting interceptors on some).
pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub ses: aws_sdk_sesv2::Client,
    pub sns: aws_sdk_sns::Client,
}

/// The functions' service (delivery to the queue) and the courier (delivery to SES and
/// SNS) with its queues, wired as `resetkit::adapters::aws` wires them, over `clients`.
pub struct Bundle {
    pub service: Resetkit<DynamoStore, SqsQueue, SystemClock, OsRandom, NoMetrics>,
    pub courier: Resetkit<DynamoStore, AwsNotifier, SystemClock, OsRandom, NoMetrics>,
    pub queues: courier::SqsQueues,
}

impl Stage {
    pub fn bundle(&self, clients: Clients) -> Bundle {
        let config = &self.config;
        let store = DynamoStore::new(clients.dynamodb, &config.aws.table_prefix);
        let queue = SqsQueue::new(clients.sqs.clone(), config.aws.queue_url.clone());
        let notifier = AwsNotifier::new(
            clients.ses,
            clients.sns,
            config.aws.sender_email.clone(),
            config.aws.configuration_set.clone(),
        );
        Bundle {
            service: Resetkit::new(
                store.clone(),
                queue.clone(),
                SystemClock,
                OsRandom,
                NoMetrics,
                config.settings.clone(),
            ),
            courier: Resetkit::new(
                store,
                notifier,
                SystemClock,
                OsRandom,
                NoMetrics,
                config.settings.clone(),
            ),
            queues: courier::SqsQueues::new(
                queue,
                SqsQueue::new(clients.sqs, self.dead_letter_url.clone()),
            ),
        }
    }
}
