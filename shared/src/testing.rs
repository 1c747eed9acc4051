//! A memory-backed service with known people and keys, for handler and domain tests.

use std::time::Duration;

use crate::adapters::memory::{ManualClock, MemoryMetrics, MemoryOutbox, MemoryStore};
use crate::domain::catalogue::{self, Brand};
use crate::domain::code::CodeKeys;
use crate::domain::message::LinkTemplate;
use crate::domain::password::HashParams;
use std::sync::{Arc, Mutex};

use crate::domain::{CourierOutcome, DeliveryJob, Locale, Locales, RetryPolicy, Timestamp, UserId};
use crate::ports::{
    ApiKeyStore, DeliveryQueue, OsRandom, QueueError, RandomSource, RateLimit, UserDirectory,
};
use crate::service::{Limits, Resetkit, Settings};

pub type MemoryResetkit = Resetkit<MemoryStore, InlineQueue, ManualClock, OsRandom, MemoryMetrics>;

/// The courier of the memory-backed service: it sends into a `MemoryOutbox`.
pub type MemoryCourier = Resetkit<MemoryStore, MemoryOutbox, ManualClock, OsRandom, MemoryMetrics>;

/// The delivery queue of the memory-backed service: each job goes through its wire form to
/// a courier over the same store, at once, as if the queue delivered it immediately, so a
/// handler test sees the message in the outbox when the handler returns. A job the courier
/// defers stays in `pending`; one it gives up on lands in `dead_letters`.
#[derive(Clone)]
pub struct InlineQueue {
    courier: Arc<MemoryCourier>,
    state: Arc<Mutex<QueueState>>,
}

#[derive(Default)]
struct QueueState {
    refusing: bool,
    queued: Vec<DeliveryJob>,
    pending: Vec<DeliveryJob>,
    dead_letters: Vec<DeliveryJob>,
}

impl InlineQueue {
    pub fn new(courier: MemoryCourier) -> Self {
        Self {
            courier: Arc::new(courier),
            state: Arc::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// While `refusing`, every enqueue fails as an unreachable queue does.
    pub fn refuse(&self, refusing: bool) {
        self.state().refusing = refusing;
    }

    /// Every job queued so far, in order.
    pub fn queued(&self) -> Vec<DeliveryJob> {
        self.state().queued.clone()
    }

    /// Jobs the courier deferred (the provider could not take them yet).
    pub fn pending(&self) -> Vec<DeliveryJob> {
        self.state().pending.clone()
    }

    pub fn dead_letters(&self) -> Vec<DeliveryJob> {
        self.state().dead_letters.clone()
    }
}

impl DeliveryQueue for InlineQueue {
    async fn enqueue(&self, job: &DeliveryJob) -> Result<(), QueueError> {
        if self.state().refusing {
            return Err(QueueError("the test queue refuses jobs".into()));
        }
        let received = DeliveryJob::parse(&job.to_body(), &self.courier.settings().fields)
            .unwrap_or_else(|e| panic!("a queued job reads back: {e}"));
        self.state().queued.push(received.clone());
        let outcome = self
            .courier
            .deliver(&received, 1)
            .await
            .unwrap_or_else(|e| panic!("the memory store fails nothing: {e}"));
        match outcome {
            CourierOutcome::Done => {}
            CourierOutcome::RetryIn(_) => self.state().pending.push(received),
            CourierOutcome::DeadLetter => self.state().dead_letters.push(received),
        }
        Ok(())
    }
}

pub use crate::demo::{ANA, NUNO as NOEMAIL, ZARA, ZOE};

pub fn settings() -> Settings {
    Settings {
        fields: crate::demo::catalog(),
        code_keys: CodeKeys::new(vec![b"test-secret-test-secret-test-secret!".to_vec()])
            .unwrap_or_else(|e| panic!("{e}")),
        code_ttl: Duration::from_secs(600),
        link_ttl: Duration::from_secs(3600),
        max_attempts: 5,
        link_template: LinkTemplate::parse(
            "https://reset.example.com/reset#LeadId={LeadId}&TemporaryPassword={TemporaryPassword}",
        )
        .unwrap_or_else(|e| panic!("{e}")),
        staff_code_in_response: true,
        notify_password_changed: true,
        // Light parameters keep tests fast; the OWASP ones are tested in `password`.
        hash_params: HashParams {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        },
        limits: Limits {
            forgot_per_key: RateLimit {
                max: 25,
                window_secs: 5,
            },
            per_key: RateLimit {
                max: 600,
                window_secs: 60,
            },
            per_ip: RateLimit {
                max: 60,
                window_secs: 60,
            },
            // Off for handler tests that send to the same demo person again and again;
            // the limit tests set their own.
            recipient_cooldown: RateLimit {
                max: 1000,
                window_secs: 60,
            },
            recipient_hourly: RateLimit {
                max: 1000,
                window_secs: 3600,
            },
            recipient_ceiling: RateLimit {
                max: 1000,
                window_secs: 3600,
            },
        },
        retry: RetryPolicy {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(60),
            max_tries: 5,
        },
        browser_confirm_key: Some(crate::demo::BROWSER_KEY.into()),
        key_cache: Duration::from_secs(30),
        brand: Brand {
            name: "Demo Salon".into(),
            support: Some("help@demo-salon.example".into()),
        },
        locales: all_locales(),
    }
}

/// Every locale the catalogue has, English the default: what a stage offers unless told.
pub fn all_locales() -> Locales {
    let parse = |l: &str| Locale::parse(l).unwrap_or_else(|e| panic!("{e}"));
    Locales::new(
        parse("en"),
        catalogue::LOCALES.iter().map(|l| parse(l)).collect(),
        catalogue::LOCALES,
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Keys of each kind, as a caller would present them (the demo keys).
pub struct Keys {
    pub staff: String,
    pub staff_without_permission: String,
    pub guest: String,
    pub portal: String,
    pub server: String,
    pub browser: String,
}

pub struct TestKit {
    pub service: MemoryResetkit,
    pub store: MemoryStore,
    /// What the courier sent.
    pub outbox: MemoryOutbox,
    pub queue: InlineQueue,
    pub clock: ManualClock,
    /// What the service counted.
    pub metrics: MemoryMetrics,
    pub keys: Keys,
}

impl TestKit {
    pub async fn new() -> Self {
        Self::with_settings(settings()).await
    }

    pub async fn with_settings(settings: Settings) -> Self {
        let store = MemoryStore::new();
        let outbox = MemoryOutbox::new();
        let clock = ManualClock::at(Timestamp::from_unix_seconds(1_800_000_000));
        for person in crate::demo::people() {
            let (user, keys) = person
                .into_user(&settings.fields, || UserId::from_random([0; 16]))
                .unwrap_or_else(|e| panic!("demo person: {e}"));
            store
                .create_user(&user, &keys)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        for key in crate::demo::keys() {
            store.put_key(&key).await.unwrap_or_else(|e| panic!("{e}"));
        }
        let keys = Keys {
            staff: crate::demo::STAFF_KEY.into(),
            staff_without_permission: crate::demo::STAFF_READONLY_KEY.into(),
            guest: crate::demo::GUEST_TOKEN.into(),
            portal: crate::demo::PORTAL_KEY.into(),
            server: crate::demo::SERVER_KEY.into(),
            browser: crate::demo::BROWSER_KEY.into(),
        };
        let metrics = MemoryMetrics::new();
        let courier = Resetkit::new(
            store.clone(),
            outbox.clone(),
            clock.clone(),
            OsRandom,
            metrics.clone(),
            settings.clone(),
        );
        let queue = InlineQueue::new(courier);
        let service = Resetkit::new(
            store.clone(),
            queue.clone(),
            clock.clone(),
            OsRandom,
            metrics.clone(),
            settings,
        );
        Self {
            service,
            store,
            outbox,
            queue,
            clock,
            metrics,
            keys,
        }
    }
}

/// A request as API Gateway hands it to a function, for handler tests.
pub fn http_request(
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: impl Into<String>,
) -> lambda_http::Request {
    let mut builder = lambda_http::http::Request::builder()
        .method(method)
        .uri(uri);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    builder
        .body(lambda_http::Body::from(body.into()))
        .unwrap_or_else(|e| panic!("test request: {e}"))
}

/// Status, headers and parsed JSON body of a handler's response.
pub fn read_response(
    res: lambda_http::Response<lambda_http::Body>,
) -> (u16, lambda_http::http::HeaderMap, serde_json::Value) {
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let bytes: &[u8] = res.body().as_ref();
    let json = serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(bytes)));
    (status, headers, json)
}

/// Draws for `SystemUserId` that are sure to collide, for tests of the claim: 1, 2, 3, …;
/// or, from `contested_then_unique`, only the first few of those and then numbers from a
/// base up. Two sources that both start at 1 contest number 1 at least, and since the second
/// contests at most `contested` numbers, no person of either loses more draws than that
/// (keep it below `SYSTEM_USER_ID_DRAWS`). Buffers of other lengths get OS randomness.
pub struct CollidingDraws {
    /// After this many draws, numbers come from `unique_from` up.
    contested: u32,
    unique_from: u32,
    draws: std::sync::atomic::AtomicU32,
}

impl CollidingDraws {
    pub fn counting() -> Self {
        Self::contested_then_unique(u32::MAX, 0)
    }

    pub fn contested_then_unique(contested: u32, unique_from: u32) -> Self {
        Self {
            contested,
            unique_from,
            draws: 0.into(),
        }
    }

    /// How many numbers have been drawn.
    pub fn draws(&self) -> u32 {
        self.draws.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl RandomSource for CollidingDraws {
    fn fill(&self, buf: &mut [u8]) {
        if buf.len() != 4 {
            return OsRandom.fill(buf);
        }
        let draw = self.draws.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let number = if draw < self.contested {
            draw + 1
        } else {
            self.unique_from + (draw - self.contested)
        };
        // `SystemUserId::from_random` adds one to what it reads.
        buf.copy_from_slice(&(number - 1).to_le_bytes());
    }
}
