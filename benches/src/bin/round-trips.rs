//! DynamoDB round trips per endpoint on its success path, counted by an SDK interceptor on
//! the production service wired to the emulator (moto) exactly as `resetkit::adapters::aws`
//! wires it, except that every client carries the counting interceptor. After each endpoint
//! the courier delivers what it queued, counted apart (`<endpoint> courier`). The courier
//! runs as `courier::local::drain` runs it, which plays Lambda's event source mapping: the
//! SQS `ReceiveMessage` and `DeleteMessageBatch` calls are the mapping's in production, not
//! the function's, so they are listed apart (`event_source_mapping_calls`; the drain's last,
//! empty receive included).
//!
//! ```text
//! RESETKIT_BENCH_ENDPOINT=http://127.0.0.1:PORT round-trips
//! ```
//!
//! Prints JSON: per endpoint, every AWS call it made (service, operation, table, for writes
//! the condition expression), DynamoDB write/read request units estimated from the requests
//! and responses, and the SES/SNS calls. Each endpoint answers one shipped success event
//! (`events/*-success.json`): forgot-password for Ana, then guest-reset for Zoë (a recipient
//! gets one code or link a minute), then password-confirm with Zoë's code at the production
//! Argon2 parameters.

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use serde_json::{json, Value};

const GUEST_RESET_EVENT: &str = include_str!("../../../events/guest-reset-success.json");
const FORGOT_PASSWORD_EVENT: &str = include_str!("../../../events/forgot-password-success.json");
const PASSWORD_CONFIRM_EVENT: &str = include_str!("../../../events/password-confirm-success.json");

/// One AWS call as it went on the wire.
#[derive(Debug, Clone)]
struct Call {
    service: String,
    operation: String,
    request: Value,
    response_bytes: usize,
}

/// Records every attempt each client transmits (retries would count: they are round trips).
#[derive(Debug, Clone, Default)]
struct Counter(Arc<Mutex<Vec<Call>>>);

impl Counter {
    fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.0.lock().expect("counter"))
    }
}

impl Intercept for Counter {
    fn name(&self) -> &'static str {
        "RoundTripCounter"
    }

    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, operation) = cfg
            .load::<Metadata>()
            .map(|m| (m.service().to_owned(), m.name().to_owned()))
            .unwrap_or_default();
        let body = ctx.request().body().bytes().unwrap_or_default();
        let request = serde_json::from_slice(body).unwrap_or(Value::Null);
        self.0.lock().expect("counter").push(Call {
            service,
            operation,
            request,
            response_bytes: 0,
        });
        Ok(())
    }

    fn read_after_transmit(
        &self,
        ctx: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let n = ctx.response().body().bytes().map_or(0, <[u8]>::len);
        if let Some(last) = self.0.lock().expect("counter").last_mut() {
            last.response_bytes = n;
        }
        Ok(())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let endpoint = std::env::var("RESETKIT_BENCH_ENDPOINT")
        .expect("RESETKIT_BENCH_ENDPOINT: the emulator's URL");
    // Tables, queues and demo data through plain clients: not counted.
    let stage = resetkit_bench::stage(&endpoint, &format!("bench{}-", std::process::id())).await;
    let (sdk, prefix) = (&stage.sdk, stage.prefix.clone());

    // The service as `resetkit::adapters::aws::build` wires it, with counting clients.
    let counter = Counter::default();
    let resetkit_bench::Bundle {
        service,
        courier,
        queues,
    } = stage.bundle(resetkit_bench::Clients {
        dynamodb: aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(sdk)
                .interceptor(counter.clone())
                .build(),
        ),
        ses: aws_sdk_sesv2::Client::from_conf(
            aws_sdk_sesv2::config::Builder::from(sdk)
                .interceptor(counter.clone())
                .build(),
        ),
        sns: aws_sdk_sns::Client::from_conf(
            aws_sdk_sns::config::Builder::from(sdk)
                .interceptor(counter.clone())
                .build(),
        ),
        sqs: aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::config::Builder::from(sdk)
                .interceptor(counter.clone())
                .build(),
        ),
    });
    let deliver = || async {
        courier::local::drain(&courier, &queues)
            .await
            .expect("the courier drains the queue");
    };

    let mut out = serde_json::Map::new();
    counter.take();
    let res = forgot_password::handle(&service, event(FORGOT_PASSWORD_EVENT))
        .await
        .expect("handler");
    out.insert(
        "forgot-password".into(),
        report(&res, counter.take(), &prefix),
    );
    deliver().await;
    out.insert(
        "forgot-password courier".into(),
        report(&res, counter.take(), &prefix),
    );

    // Another person than forgot-password's: a recipient gets one code or link a minute.
    let mut guest = serde_json::from_str::<Value>(GUEST_RESET_EVENT).expect("event JSON");
    guest["body"] = json!(r#"{"username": "zoe.k"}"#);
    let res = guest_reset::handle(&service, event(&guest.to_string()))
        .await
        .expect("handler");
    out.insert("guest-reset".into(), report(&res, counter.take(), &prefix));
    deliver().await;
    out.insert(
        "guest-reset courier".into(),
        report(&res, counter.take(), &prefix),
    );
    let confirm = confirm_event(&res);

    let res = password_confirm::handle(&service, event(&confirm))
        .await
        .expect("handler");
    out.insert(
        "password-confirm".into(),
        report(&res, counter.take(), &prefix),
    );
    deliver().await;
    out.insert(
        "password-confirm courier".into(),
        report(&res, counter.take(), &prefix),
    );

    // The same three with an `Idempotency-Key` (its claim and its stored answer), each for
    // a person not served yet, in the same warm sandbox (the API key from its cache); what
    // the courier then does is not counted again.
    let keyed = |json: &str, body: Option<String>| {
        let mut e = serde_json::from_str::<Value>(json).expect("event JSON");
        e["headers"]["idempotency-key"] = json!(format!("bench-{}", std::process::id()));
        if let Some(body) = body {
            e["body"] = json!(body);
        }
        event(&e.to_string())
    };
    let res = forgot_password::handle(
        &service,
        keyed(
            FORGOT_PASSWORD_EVENT,
            Some(r#"{"EmailAddress": "johnwick@example.com"}"#.into()),
        ),
    )
    .await
    .expect("handler");
    out.insert(
        "forgot-password with Idempotency-Key".into(),
        report(&res, counter.take(), &prefix),
    );
    deliver().await;
    counter.take();
    let res = guest_reset::handle(
        &service,
        keyed(
            GUEST_RESET_EVENT,
            Some(r#"{"username": "nuno", "channel": "sms"}"#.into()),
        ),
    )
    .await
    .expect("handler");
    out.insert(
        "guest-reset with Idempotency-Key".into(),
        report(&res, counter.take(), &prefix),
    );
    deliver().await;
    counter.take();
    let confirm = confirm_event(&res);
    let res = password_confirm::handle(&service, keyed(&confirm, None))
        .await
        .expect("handler");
    out.insert(
        "password-confirm with Idempotency-Key".into(),
        report(&res, counter.take(), &prefix),
    );
    println!("{}", Value::Object(out));
}

/// Contract C's shipped success event with the code a guest reset answered with.
fn confirm_event(guest_reset: &lambda_http::Response<lambda_http::Body>) -> String {
    let body: Value =
        serde_json::from_slice(guest_reset.body().as_ref()).expect("guest-reset JSON");
    PASSWORD_CONFIRM_EVENT
        .replace(
            "REPLACE_WITH_verification_id",
            body["verification_id"].as_str().expect("verification_id"),
        )
        .replace(
            "REPLACE_WITH_verification_code",
            body["verification_code"]
                .as_str()
                .expect("verification_code"),
        )
}

fn event(json: &str) -> lambda_http::Request {
    lambda_http::request::from_str(json).expect("an API Gateway v2 event")
}

fn report(res: &lambda_http::Response<lambda_http::Body>, calls: Vec<Call>, prefix: &str) -> Value {
    let status = res.status().as_u16();
    let mut dynamodb = Vec::new();
    let (mut wru, mut rru) = (0.0f64, 0.0f64);
    let mut writes = Vec::new();
    let mut others = Vec::new();
    let mut event_source_mapping = Vec::new();
    for call in &calls {
        if matches!(
            call.operation.as_str(),
            "ReceiveMessage" | "DeleteMessageBatch"
        ) {
            event_source_mapping
                .push(json!({"service": call.service, "operation": call.operation}));
            continue;
        }
        if call.service != "DynamoDB" {
            others.push(json!({"service": call.service, "operation": call.operation}));
            continue;
        }
        let r = &call.request;
        let table = |v: &Value| {
            v["TableName"]
                .as_str()
                .unwrap_or("")
                .trim_start_matches(prefix)
                .to_owned()
        };
        let condition = |v: &Value| v["ConditionExpression"].as_str().map(str::to_owned);
        let kb = |v: &Value| (v.to_string().len() as f64 / 1024.0).ceil().max(1.0);
        let op = call.operation.as_str();
        let mut items = Vec::new();
        match op {
            "PutItem" | "UpdateItem" | "DeleteItem" => {
                wru += if op == "PutItem" { kb(&r["Item"]) } else { 1.0 };
                items.push(json!({"kind": op.trim_end_matches("Item"), "table": table(r), "condition": condition(r)}));
            }
            "TransactWriteItems" => {
                for item in r["TransactItems"].as_array().into_iter().flatten() {
                    for (kind, body) in item.as_object().into_iter().flatten() {
                        wru += 2.0
                            * if kind == "Put" {
                                kb(&body["Item"])
                            } else {
                                1.0
                            };
                        items.push(json!({"kind": kind, "table": table(body), "condition": condition(body)}));
                    }
                }
            }
            "BatchWriteItem" => {
                for (t, reqs) in r["RequestItems"].as_object().into_iter().flatten() {
                    for req in reqs.as_array().into_iter().flatten() {
                        wru += 1.0;
                        let kind = if req.get("PutRequest").is_some() {
                            "Put"
                        } else {
                            "Delete"
                        };
                        items.push(json!({"kind": kind, "table": t.trim_start_matches(prefix), "condition": null}));
                    }
                }
            }
            _ => {
                // Reads: 4 KB units from the response size; strongly consistent reads cost
                // 1 unit, eventually consistent 0.5, transactional 2.
                let units = (call.response_bytes as f64 / 4096.0).ceil().max(1.0);
                rru += units
                    * match op {
                        "TransactGetItems" => {
                            2.0 * r["TransactItems"].as_array().map_or(1, Vec::len) as f64
                        }
                        _ if r["ConsistentRead"].as_bool() == Some(true) => 1.0,
                        _ => 0.5,
                    };
            }
        }
        let is_write = !items.is_empty();
        writes.extend(items.iter().cloned());
        dynamodb.push(json!({
            "operation": op,
            "table": if is_write && op == "TransactWriteItems" { "(transaction)".to_owned() } else { table(r) },
            "write": is_write,
            "items": items,
            "consistent_read": r["ConsistentRead"].as_bool(),
        }));
    }
    let all_conditional = writes
        .iter()
        .all(|w| w["condition"].is_string() || w["kind"] == "ConditionCheck");
    json!({
        "status": status,
        "dynamodb_round_trips": dynamodb.len(),
        "dynamodb_calls": dynamodb,
        "write_items": writes,
        "all_writes_conditional": all_conditional,
        "write_request_units": wru,
        "read_request_units": rru,
        "other_aws_calls": others,
        "event_source_mapping_calls": event_source_mapping,
    })
}
