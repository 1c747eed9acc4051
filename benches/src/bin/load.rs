//! Load on the request path, and where its writes land: many concurrent clients drive
//! forgot-password (the portal key, unknown people, one source address each) and confirm
//! (the browser key, wrong guesses by address) through the functions' handlers over the
//! production adapters on the emulator, while an SDK interceptor counts the DynamoDB writes
//! per partition key. The items at the top of that list are the hot items of the design.
//!
//! ```text
//! RESETKIT_BENCH_ENDPOINT=http://127.0.0.1:PORT load [REQUESTS_PER_ENDPOINT] [CONCURRENCY]
//! ```
//!
//! Prints JSON: per endpoint the answers by status and the wall time, then the partition
//! keys with the most writes (table, key, writes). The emulator serves one request at a
//! time, so the wall time says nothing of DynamoDB's; the write counts are the point.

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
use resetkit::adapters::sqs::SqsQueue;
use resetkit::ports::{NoMetrics, OsRandom, SystemClock};
use resetkit::Resetkit;
use serde_json::{json, Value};

/// The partition key attribute of each table (template.yaml's `HASH` keys).
const PARTITION_KEYS: [&str; 6] = [
    "guard_key",
    "stream",
    "verification_id",
    "user_id",
    "lookup",
    "key_hash",
];

/// DynamoDB writes per (table, partition key), as the requests went on the wire.
#[derive(Debug, Clone, Default)]
struct WritesPerItem(Arc<Mutex<BTreeMap<(String, String), u64>>>);

impl WritesPerItem {
    fn count(&self, table: &str, item: &Value) {
        let key = PARTITION_KEYS
            .iter()
            .find_map(|k| item.get(*k))
            .map(|v| {
                v.as_object()
                    .and_then(|o| o.values().next())
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            })
            .unwrap_or_default();
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
    let requests: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(200);
    let concurrency: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(50);
    // Tables, queues and demo data through plain clients: not counted.
    let resetkit_bench::Stage {
        sdk,
        prefix,
        config,
        ..
    } = resetkit_bench::stage(&endpoint, &format!("load{}-", std::process::id())).await;
    let queue_url = config.aws.queue_url.clone();
    let sqs = aws_sdk_sqs::Client::new(&sdk);

    // The functions' service as `resetkit::adapters::aws` wires it, DynamoDB counted.
    let writes = WritesPerItem::default();
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .interceptor(writes.clone())
            .build(),
    );
    let service = Resetkit::new(
        DynamoStore::new(dynamodb, &config.aws.table_prefix),
        SqsQueue::new(sqs, queue_url.clone()),
        SystemClock,
        OsRandom,
        NoMetrics,
        config.settings,
    );

    let mut out = serde_json::Map::new();
    for endpoint in ["forgot-password", "password-confirm"] {
        let started = Instant::now();
        let statuses: Vec<u16> = stream::iter(0..requests)
            .map(|i| {
                let service = &service;
                async move {
                    // One source address per client, as many people behind a shared key.
                    let ip = format!("198.51.{}.{}", 100 + i / 250, 1 + i % 250);
                    let nobody = format!("nobody-{i}-{}@example.com", std::process::id());
                    let res = if endpoint == "forgot-password" {
                        let req = request(
                            "/api/Authentication/ForgotPassword",
                            &ip,
                            Some(resetkit::demo::PORTAL_KEY),
                            json!({"EmailAddress": nobody}),
                        );
                        forgot_password::handle(service, req).await
                    } else {
                        let req = request(
                            "/user/password/reset",
                            &ip,
                            None,
                            json!({"EmailAddress": nobody, "TemporaryPassword": "000000",
                                   "Password": "a tangerine rowboat at dusk",
                                   "PasswordConfirm": "a tangerine rowboat at dusk",
                                   "ApiKey": resetkit::demo::BROWSER_KEY}),
                        );
                        password_confirm::handle(service, req).await
                    };
                    res.map_or(500, |r| r.status().as_u16())
                }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
        for s in statuses {
            *by_status.entry(s.to_string()).or_default() += 1;
        }
        out.insert(
            endpoint.into(),
            json!({"requests": requests, "concurrency": concurrency, "answers": by_status,
                   "wall_s": started.elapsed().as_secs_f64()}),
        );
    }
    let counted = writes.0.lock().expect("counter").clone();
    let mut hot: Vec<((String, String), u64)> = counted.into_iter().collect();
    hot.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    let total: u64 = hot.iter().map(|(_, n)| n).sum();
    out.insert(
        "writes".into(),
        json!({"total": total, "items": hot.len(),
               "hottest": hot.iter().take(10).map(|((table, key), n)| json!({
                   "table": table.trim_start_matches(&prefix), "partition_key": key, "writes": n}))
                   .collect::<Vec<_>>()}),
    );
    println!(
        "{}",
        serde_json::to_string_pretty(&Value::Object(out)).expect("JSON")
    );
}

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
