//! The warm path over the real SDK clients: each endpoint's shipped success event through
//! the production adapters (the DynamoDB and SQS clients the three functions build) against
//! the emulator, so that SDK serialisation, request signing, the HTTP client and response
//! parsing are in the figure. Each request queues its delivery job, as in production; the
//! courier (another function) is not run, so its jobs stay on the queue. Process CPU per request: the emulator is
//! another process, and time spent waiting on it is not CPU.
//!
//! As in the in-memory scenarios, a clock the bench moves a day per request keeps every
//! limit and cooldown in its first window (the calls are the production ones: every limit
//! is counted), and confirm hashes at the minimal Argon2id parameters (`MINIMAL_HASH`),
//! whose time `run.py` subtracts as it does for the in-memory row.

use resetkit::adapters::dynamodb::DynamoStore;
use resetkit::adapters::memory::ManualClock;
use resetkit::adapters::sqs::SqsQueue;
use resetkit::domain::Timestamp;
use resetkit::ports::OsRandom;
use resetkit::service::Resetkit;
use serde_json::{json, Value};

use crate::scenarios::{
    confirm_event_from, expect_ok, CpuClock, FORGOT_PASSWORD_EVENT, GUEST_RESET_EVENT, MINIMAL_HASH,
};

/// Untimed requests per endpoint before the measured ones (connections, caches).
const WARM_UP: u64 = 5;

type SdkResetkit = Resetkit<DynamoStore, SqsQueue, ManualClock, OsRandom>;

/// Runs `n` requests per endpoint against the emulator at `endpoint`; JSON: per endpoint,
/// the median and mean process CPU per request in µs.
pub fn run(endpoint: &str, n: u64) -> Value {
    let rt = crate::scenarios::runtime();
    rt.block_on(async {
        let (service, clock) = wire(endpoint).await;
        let mut out = serde_json::Map::new();
        for name in ["guest-reset", "forgot-password", "password-confirm"] {
            let mut us = Vec::new();
            for i in 0..WARM_UP + n {
                clock.advance(86_400);
                let cpu = one(&service, name).await;
                if i >= WARM_UP {
                    us.push(cpu.as_secs_f64() * 1e6);
                }
            }
            us.sort_by(f64::total_cmp);
            let mean = us.iter().sum::<f64>() / us.len() as f64;
            out.insert(
                name.into(),
                json!({"requests": n, "median_us": us[us.len() / 2], "mean_us": mean}),
            );
        }
        Value::Object(out)
    })
}

/// CPU of one request of `name` (its untimed setup excluded).
async fn one(service: &SdkResetkit, name: &str) -> std::time::Duration {
    let event = match name {
        "password-confirm" => {
            let req = lambda_http::request::from_str(GUEST_RESET_EVENT).expect("event");
            let issued = guest_reset::handle(service, req).await.expect("handler");
            confirm_event_from(&issued)
        }
        "guest-reset" => GUEST_RESET_EVENT.to_owned(),
        _ => FORGOT_PASSWORD_EVENT.to_owned(),
    };
    let start = CpuClock::now();
    let req = lambda_http::request::from_str(&event).expect("event");
    let res = match name {
        "guest-reset" => guest_reset::handle(service, req).await,
        "forgot-password" => forgot_password::handle(service, req).await,
        _ => password_confirm::handle(service, req).await,
    }
    .expect("handler");
    let elapsed = start.elapsed();
    expect_ok(name, &res);
    elapsed
}

/// Fresh tables with the demo data, and the service as production wires it (default SDK
/// clients, the stage's configuration parser) but for the clock and the hash parameters.
async fn wire(endpoint: &str) -> (SdkResetkit, ManualClock) {
    let resetkit_bench::Stage {
        sdk, mut config, ..
    } = resetkit_bench::stage(endpoint, &format!("warm{}-", std::process::id())).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    config.settings.hash_params = MINIMAL_HASH;
    let clock = ManualClock::at(Timestamp::from_unix_seconds(1_800_000_000));
    let service = Resetkit::new(
        DynamoStore::new(dynamodb, &config.aws.table_prefix),
        SqsQueue::new(sqs, config.aws.queue_url.clone()),
        clock.clone(),
        OsRandom,
        resetkit::ports::NoMetrics,
        config.settings,
    );
    (service, clock)
}
