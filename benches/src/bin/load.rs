//! A mixed load on the three functions and the courier, and where its writes land: staff
//! resets through many employee keys (each desk its own address), forgot-password for known
//! and unknown people and wrong confirm guesses through the shared portal and browser keys
//! (one source address per person asking), all concurrently through the functions' handlers
//! over the production adapters on the emulator; then the courier delivers what they
//! queued. An SDK interceptor counts every DynamoDB write per item (table, partition and
//! sort key): the largest share any one item takes is the design's hot item.
//!
//! ```text
//! RESETKIT_BENCH_ENDPOINT=http://127.0.0.1:PORT load [PEOPLE] [CONCURRENCY] [STAFF_KEYS]
//! ```
//!
//! Each person is the subject of one request of each kind (4 × PEOPLE requests). Prints
//! JSON: the answers per endpoint, total writes, the items written, and the hottest items
//! with their share. The emulator serves one request at a time, so the wall time says
//! nothing of DynamoDB's; the write counts are the point.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use futures::stream::{self, StreamExt};
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
use lambda_http::request::RequestContext;
use lambda_http::RequestExt;
use resetkit::adapters::dynamodb::DynamoStore;
use serde_json::{json, Value};

/// Each table's key attributes (template.yaml's `KeySchema`): partition, then sort.
const KEYS: [(&str, &[&str]); 6] = [
    ("users", &["user_id"]),
    ("identifiers", &["lookup", "user_id"]),
    ("verifications", &["verification_id"]),
    ("guards", &["guard_key"]),
    ("api-keys", &["key_hash"]),
    ("audit", &["stream", "event_id"]),
];

/// DynamoDB writes per (table, item key), as the requests went on the wire.
#[derive(Debug, Clone, Default)]
struct WritesPerItem(Arc<Mutex<BTreeMap<(String, String), u64>>>);

impl WritesPerItem {
    fn count(&self, table: &str, item: &Value) {
        // The item's key, e.g. `stream event_id` for an audit event.
        let attributes = KEYS
            .iter()
            .find(|(suffix, _)| table.ends_with(suffix))
            .map_or(&[][..], |(_, keys)| *keys);
        let key = attributes
            .iter()
            .filter_map(|k| item.get(*k))
            .filter_map(|v| v.as_object().and_then(|o| o.values().next()))
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" ");
        *self
            .0
            .lock()
            .expect("counter")
            .entry((table.to_owned(), key))
            .or_default() += 1;
    }
}

impl Intercept for WritesPerItem {
    fn name(&self) -> &'static str {
        "WritesPerItem"
    }

    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let op = cfg
            .load::<Metadata>()
            .map(|m| m.name().to_owned())
            .unwrap_or_default();
        let body = ctx.request().body().bytes().unwrap_or_default();
        let r: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let table = |v: &Value| v["TableName"].as_str().unwrap_or_default().to_owned();
        match op.as_str() {
            "PutItem" => self.count(&table(&r), &r["Item"]),
            "UpdateItem" | "DeleteItem" => self.count(&table(&r), &r["Key"]),
            "TransactWriteItems" => {
                for item in r["TransactItems"].as_array().into_iter().flatten() {
                    for (kind, w) in item.as_object().into_iter().flatten() {
                        let at = if kind == "Put" { &w["Item"] } else { &w["Key"] };
                        self.count(&table(w), at);
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let endpoint = std::env::var("RESETKIT_BENCH_ENDPOINT")
        .expect("RESETKIT_BENCH_ENDPOINT: the emulator's URL");
    let mut args = std::env::args().skip(1);
    let mut arg = |default: usize| args.next().and_then(|n| n.parse().ok()).unwrap_or(default);
    let (people, concurrency, staff_keys) = (arg(100), arg(50), arg(20));
    let run = std::process::id();
    // Tables, queues, demo data, people and keys through plain clients: not counted.
    let stage = resetkit_bench::stage(&endpoint, &format!("load{run}-")).await;
    let (sdk, prefix) = (&stage.sdk, stage.prefix.clone());
    let plain = DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), &prefix);
    let lines: String = (0..people)
        .map(|i| {
            format!(
                "{}\n",
                json!({"first_name": "Load", "email": format!("person-{i}-{run}@example.com")})
            )
        })
        .collect();
    let report = resetctl::people::import_users(
        &plain,
        &stage.config.settings.fields,
        lines.as_bytes(),
        |_| {},
    )
    .await
    .expect("import the people");
    assert_eq!(report.imported, people, "{report:?}");
    let mut staff = Vec::new();
    for _ in 0..staff_keys {
        let key = resetctl::keys::mint_key(&plain, "employee", &["guests:edit".to_owned()])
            .await
            .expect("mint a staff key");
        staff.push(key.secret);
    }

    // The functions' service and the courier as `resetkit::adapters::aws` wires them,
    // DynamoDB counted.
    let writes = WritesPerItem::default();
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(sdk)
            .interceptor(writes.clone())
            .build(),
    );
    let resetkit_bench::Bundle {
        service,
        courier,
        queues,
    } = stage.bundle(resetkit_bench::Clients {
        dynamodb,
        sqs: aws_sdk_sqs::Client::new(&stage.sdk),
        ses: aws_sdk_sesv2::Client::new(&stage.sdk),
        sns: aws_sdk_sns::Client::new(&stage.sdk),
    });

    let started = Instant::now();
    let answers: Vec<(&str, u16)> = stream::iter(0..people * 4)
        .map(|n| {
            let (service, staff) = (&service, &staff);
            async move {
                let (i, kind) = (n / 4, n % 4);
                let email = format!("person-{i}-{run}@example.com");
                // One address per person asking; a desk's address per staff key.
                let ip = format!("198.{}.{}.{}", 18 + kind, i / 250, 1 + i % 250);
                let desk = format!("192.0.2.{}", 1 + i % staff.len());
                let wrong = json!({"EmailAddress": email, "TemporaryPassword": "000000",
                    "Password": "a tangerine rowboat at dusk",
                    "PasswordConfirm": "a tangerine rowboat at dusk",
                    "ApiKey": resetkit::demo::BROWSER_KEY});
                let (endpoint, res) = match kind {
                    0 => {
                        let key = format!("apikey {}", staff[i % staff.len()]);
                        let req = request(GUEST, &desk, Some(&key), json!({"email": email}));
                        ("guest-reset", guest_reset::handle(service, req).await)
                    }
                    1 => {
                        let req =
                            request(FORGOT, &ip, Some(PORTAL), json!({"EmailAddress": email}));
                        (
                            "forgot-password (known)",
                            forgot_password::handle(service, req).await,
                        )
                    }
                    2 => {
                        let nobody = format!("nobody-{i}-{run}@example.com");
                        let req =
                            request(FORGOT, &ip, Some(PORTAL), json!({"EmailAddress": nobody}));
                        (
                            "forgot-password (unknown)",
                            forgot_password::handle(service, req).await,
                        )
                    }
                    _ => {
                        let req = request(CONFIRM, &ip, None, wrong);
                        (
                            "password-confirm (wrong code)",
                            password_confirm::handle(service, req).await,
                        )
                    }
                };
                (endpoint, res.map_or(500, |r| r.status().as_u16()))
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let request_wall = started.elapsed().as_secs_f64();
    let delivered = courier::local::drain(&courier, &queues)
        .await
        .expect("the courier drains the queue");

    let mut by_endpoint: BTreeMap<&str, BTreeMap<String, usize>> = BTreeMap::new();
    for (endpoint, status) in answers {
        *by_endpoint
            .entry(endpoint)
            .or_default()
            .entry(status.to_string())
            .or_default() += 1;
    }
    let counted = writes.0.lock().expect("counter").clone();
    let mut hot: Vec<((String, String), u64)> = counted.into_iter().collect();
    hot.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    let total: u64 = hot.iter().map(|(_, n)| n).sum();
    let share = |n: u64| (n as f64) * 100.0 / (total.max(1) as f64);
    let output = json!({
        "people": people, "staff_keys": staff_keys, "concurrency": concurrency,
        "requests": people * 4, "request_wall_s": request_wall, "courier_jobs": delivered,
        "answers": by_endpoint,
        "writes": {"total": total, "items": hot.len(),
            "largest_share_percent": hot.first().map_or(0.0, |(_, n)| share(*n)),
            "hottest": hot.iter().take(8).map(|((table, key), n)| json!({
                "table": table.trim_start_matches(&prefix), "item": key, "writes": n,
                "share_percent": share(*n)})).collect::<Vec<_>>()},
    });
    println!("{}", serde_json::to_string_pretty(&output).expect("JSON"));
}

const GUEST: &str = "/v1/guests/password?reset=true";
const FORGOT: &str = "/api/Authentication/ForgotPassword";
const CONFIRM: &str = "/user/password/reset";
const PORTAL: &str = resetkit::demo::PORTAL_KEY;

/// A request as API Gateway hands it to a function, from `source_ip`.
fn request(uri: &str, source_ip: &str, key: Option<&str>, body: Value) -> lambda_http::Request {
    let mut builder = lambda_http::http::Request::builder()
        .method("POST")
        .uri(uri)
        .header("content-type", "application/json");
    if let Some(key) = key {
        builder = builder.header("authorization", key);
    }
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.http.source_ip = Some(source_ip.to_owned());
    builder
        .body(lambda_http::Body::from(body.to_string()))
        .expect("a request")
        .with_request_context(RequestContext::ApiGatewayV2(context))
}
