//! An HTTP client for the functions' real SDK clients: it passes every request on to the
//! emulator, records which AWS operation each one was, and on demand fails the Nth
//! operation — every attempt of it, retries included — with throttling, a 5xx or a hang,
//! or lets its first attempt reach the emulator and then loses the answer (the SDK retries).
//! The SDK's own retry, timeout and error-parsing code runs as in production.
//!
//! Two things the emulator does not do, this client does:
//! - DynamoDB's `ClientRequestToken` on `TransactWriteItems`: a retry carrying the token of
//!   a transaction that was applied gets DynamoDB's answer for it (success, nothing done
//!   again). moto 5.2.5 ignores the token (it cancels the retry on its conditions), so the
//!   client answers such a retry itself; a retry with another token or none goes through to
//!   the emulator as usual, and fails its conditions there.
//! - Telling its own failures apart: every attempt the emulator answered with a 5xx, or did
//!   not answer before the SDK gave up on it, is recorded ([`FaultPlan::emulator_failures_since`]),
//!   so that a test excuses a 503 only when the emulator is shown to have failed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpClient, HttpConnector, HttpConnectorFuture, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The service's throttling error (DynamoDB `ThrottlingException`, SES v2 429
    /// `TooManyRequestsException`, SNS `Throttling`).
    Throttle,
    /// A 500 with the service's internal error.
    ServerError,
    /// No answer at all: the SDK's attempt and operation timeouts must end it.
    Timeout,
    /// The first attempt reaches the emulator and is applied, then its answer is lost (a
    /// timeout); the SDK retries, and the retries get the emulator's answers.
    AppliedThenTimeout,
}

impl Fault {
    /// What any call can meet.
    pub const ALL: [Fault; 3] = [Fault::Throttle, Fault::ServerError, Fault::Timeout];
    /// What every write can also meet.
    pub const WRITES: [Fault; 4] = [
        Fault::Throttle,
        Fault::ServerError,
        Fault::Timeout,
        Fault::AppliedThenTimeout,
    ];

    /// The faults `op` (`service:Operation`) can meet: a write also the lost answer.
    pub fn for_operation(op: &str) -> &'static [Fault] {
        if is_write(op) {
            &Self::WRITES
        } else {
            &Self::ALL
        }
    }
}

/// A call that changes stored state: every DynamoDB operation but the reads. Sends are left
/// out of the lost answer: SES and SNS take no idempotency token, so the SDK's retry of a
/// send whose answer was lost is a second message whatever the functions do.
pub fn is_write(op: &str) -> bool {
    op.starts_with("dynamodb:")
        && !matches!(
            op,
            "dynamodb:GetItem"
                | "dynamodb:Query"
                | "dynamodb:Scan"
                | "dynamodb:BatchGetItem"
                | "dynamodb:TransactGetItems"
        )
}

#[derive(Debug, Default)]
struct State {
    /// One entry per operation (SDK invocation), in order: invocation id and operation name.
    invocations: Vec<(String, String)>,
    /// The DynamoDB table each operation named (`TableName`), by the same index; empty
    /// for other services and for transactions.
    tables: Vec<String>,
    /// Fail the operation with this index, every attempt.
    armed: Option<(usize, Fault)>,
    /// Attempts answered with a fault.
    faulted_attempts: usize,
    /// What is known of each transaction's `ClientRequestToken`.
    tokens: HashMap<String, TokenState>,
    /// Attempts the emulator failed on its own: invocation index and what happened.
    emulator_failures: Vec<(usize, String)>,
    /// Attempts of this operation wait at the gate until it opens.
    gate: Option<(String, Gate)>,
    /// Every attempt of this operation is throttled until this instant.
    throttled_until: Option<(String, std::time::Instant)>,
    /// Attempts answered with that throttling.
    throttled_attempts: usize,
}

/// A transaction's `ClientRequestToken`, as DynamoDB would track it.
#[derive(Debug, Clone)]
enum TokenState {
    /// An attempt is at the emulator; the value turns true once it has answered.
    InFlight(tokio::sync::watch::Receiver<bool>),
    Applied,
    NotApplied,
}

/// Holds every attempt of one operation until the test opens it: a barrier, so that a test
/// knows a request has got that far and is still running.
#[derive(Debug, Clone)]
pub struct Gate {
    reached: Arc<tokio::sync::Notify>,
    open: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Gate {
    /// Returns once an attempt of the operation has arrived (or had arrived) at the gate.
    pub async fn reached(&self) {
        self.reached.notified().await;
    }

    /// Lets every held attempt, and all later ones, through.
    pub fn open(&self) {
        self.open.send_replace(true);
    }

    async fn pass(&self) {
        self.reached.notify_one();
        let mut open = self.open.subscribe();
        // The sender lives as long as the gate: wait_for only fails once it is gone.
        let _ = open.wait_for(|o| *o).await;
    }
}

/// Shared between the test and the HTTP client it hands the SDK.
#[derive(Debug, Clone, Default)]
pub struct FaultPlan(Arc<Mutex<State>>);

impl FaultPlan {
    /// An HTTP client that forwards to plain HTTP (the emulator) unless told otherwise.
    pub fn http_client(&self) -> SharedHttpClient {
        let inner = aws_smithy_http_client::Builder::new().build_http();
        let plan = self.clone();
        http_client_fn(move |settings, components| {
            SharedHttpConnector::new(FaultyConnector {
                inner: inner.http_connector(settings, components),
                plan: plan.clone(),
            })
        })
    }

    /// How many operations have been seen so far: a mark for [`Self::operations_since`].
    pub fn mark(&self) -> usize {
        self.0.lock().unwrap().invocations.len()
    }

    /// Fails the `nth` operation after `mark` (0-based), on every attempt.
    pub fn arm(&self, mark: usize, nth: usize, fault: Fault) {
        let mut s = self.0.lock().unwrap();
        s.armed = Some((mark + nth, fault));
        s.faulted_attempts = 0;
    }

    /// Stops failing; returns how many attempts were failed.
    pub fn disarm(&self) -> usize {
        let mut s = self.0.lock().unwrap();
        s.armed = None;
        s.faulted_attempts
    }

    /// Holds every attempt of `op` (`ses:SendEmail`, …) at a gate until the test opens it.
    pub fn gate(&self, op: &str) -> Gate {
        let gate = Gate {
            reached: Arc::new(tokio::sync::Notify::new()),
            open: Arc::new(tokio::sync::watch::channel(false).0),
        };
        self.0.lock().unwrap().gate = Some((op.to_owned(), gate.clone()));
        gate
    }

    /// Answers every attempt of `op` with the service's throttling error until `until`, as a
    /// provider over its sending rate does; afterwards the emulator answers.
    pub fn throttle_until(&self, op: &str, until: std::time::Instant) {
        self.0.lock().unwrap().throttled_until = Some((op.to_owned(), until));
    }

    /// How many attempts `throttle_until` has throttled.
    pub fn throttled_attempts(&self) -> usize {
        self.0.lock().unwrap().throttled_attempts
    }

    /// The emulator's own failures (a 5xx, or no answer before the SDK gave up) on the
    /// operations after `mark`: `(operation, what happened)`.
    pub fn emulator_failures_since(&self, mark: usize) -> Vec<(String, String)> {
        let s = self.0.lock().unwrap();
        s.emulator_failures
            .iter()
            .filter(|(i, _)| *i >= mark)
            .map(|(i, what)| (s.invocations[*i].1.clone(), what.clone()))
            .collect()
    }

    /// The calls after `mark` that write or send, each with the DynamoDB table it names:
    /// `(operation, table)` (the table empty for a transaction, which names several, and
    /// for SES and SNS).
    pub fn writes_since(&self, mark: usize) -> Vec<(String, String)> {
        let s = self.0.lock().unwrap();
        s.invocations[mark..]
            .iter()
            .zip(&s.tables[mark..])
            .filter(|((_, op), _)| is_write(op) || !op.starts_with("dynamodb:"))
            .map(|((_, op), table)| (op.clone(), table.clone()))
            .collect()
    }

    /// The operations seen after `mark`, e.g. `dynamodb:GetItem`, `ses:SendEmail`, `sns:Publish`.
    pub fn operations_since(&self, mark: usize) -> Vec<String> {
        self.0.lock().unwrap().invocations[mark..]
            .iter()
            .map(|(_, op)| op.clone())
            .collect()
    }
}

#[derive(Debug)]
struct FaultyConnector {
    inner: SharedHttpConnector,
    plan: FaultPlan,
}

impl HttpConnector for FaultyConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let op = operation(&request);
        let id = request
            .headers()
            .get("amz-sdk-invocation-id")
            .unwrap_or_default()
            .to_owned();
        let token = transaction_token(&op, &request);
        let (index, fault, gate) = {
            let mut s = self.plan.0.lock().unwrap();
            let gate = match &s.gate {
                Some((gated, gate)) if *gated == op => Some(gate.clone()),
                _ => None,
            };
            let known = s
                .invocations
                .iter()
                .position(|(i, _)| !id.is_empty() && *i == id);
            let index = known.unwrap_or_else(|| {
                s.invocations.push((id, op.clone()));
                s.tables.push(table_name(&request));
                s.invocations.len() - 1
            });
            let throttled = matches!(&s.throttled_until,
                Some((throttled, until)) if *throttled == op && std::time::Instant::now() < *until);
            if throttled {
                s.throttled_attempts += 1;
            }
            let fault = match s.armed {
                _ if throttled => Some(Fault::Throttle),
                // The lost answer is the first attempt's; the SDK's retries go through.
                Some((n, Fault::AppliedThenTimeout)) if n == index && s.faulted_attempts > 0 => {
                    None
                }
                Some((n, fault)) if n == index => {
                    s.faulted_attempts += 1;
                    Some(fault)
                }
                _ => None,
            };
            (index, fault, gate)
        };
        if let Some(gate) = gate {
            let inner = self.inner.clone();
            return HttpConnectorFuture::new(async move {
                gate.pass().await;
                inner.call(request).await
            });
        }
        match fault {
            None => self.pass_on(index, token, request, false),
            Some(Fault::AppliedThenTimeout) => self.pass_on(index, token, request, true),
            Some(Fault::Timeout) => HttpConnectorFuture::new(async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                Err(ConnectorError::timeout(
                    "the fault plan never answered".into(),
                ))
            }),
            Some(fault) => HttpConnectorFuture::ready(Ok(error_response(&op, fault))),
        }
    }
}

impl FaultyConnector {
    /// Sends `request` to the emulator (a transaction through [`transact`]), recording the
    /// emulator's own failures; with `lose_answer`, the answer is then dropped and the SDK
    /// told the attempt timed out.
    fn pass_on(
        &self,
        index: usize,
        token: Option<String>,
        request: HttpRequest,
        lose_answer: bool,
    ) -> HttpConnectorFuture {
        let mut watch = AttemptWatch {
            plan: self.plan.clone(),
            index,
            done: false,
        };
        let (plan, inner) = (self.plan.clone(), self.inner.clone());
        HttpConnectorFuture::new(async move {
            let result = match token {
                Some(token) => transact(&plan, inner, token, request).await,
                None => inner.call(request).await,
            };
            watch.answered();
            {
                let mut s = plan.0.lock().unwrap();
                match &result {
                    Ok(res) if res.status().is_server_error() => s
                        .emulator_failures
                        .push((index, format!("answered {}", res.status().as_u16()))),
                    Ok(_) => {}
                    Err(e) => s.emulator_failures.push((index, format!("{e}"))),
                }
            }
            if lose_answer {
                return Err(ConnectorError::timeout(
                    "the fault plan lost the answer of an applied request".into(),
                ));
            }
            result
        })
    }
}

/// A `TransactWriteItems` carrying `token`, as DynamoDB treats it: a token whose transaction
/// was applied gets success without running again, and an attempt waits for an earlier one
/// with the same token to finish first. Each attempt runs at the emulator to its end, even
/// when the SDK's time budget gives up on it (the emulator applies it either way), so that
/// its outcome is known to the retry.
async fn transact(
    plan: &FaultPlan,
    inner: SharedHttpConnector,
    token: String,
    request: HttpRequest,
) -> Result<HttpResponse, ConnectorError> {
    let done = loop {
        let earlier = {
            let mut s = plan.0.lock().unwrap();
            match s.tokens.get(&token) {
                Some(TokenState::Applied) => return Ok(json_response(200, "{}")),
                Some(TokenState::InFlight(rx)) => rx.clone(),
                Some(TokenState::NotApplied) | None => {
                    let (tx, rx) = tokio::sync::watch::channel(false);
                    s.tokens.insert(token.clone(), TokenState::InFlight(rx));
                    break tx;
                }
            }
        };
        let mut earlier = earlier;
        // The sender goes away only with the attempt's task, which sets the state first.
        let _ = earlier.wait_for(|answered| *answered).await;
    };
    let plan = plan.clone();
    tokio::spawn(async move {
        let result = inner.call(request).await;
        let applied = matches!(&result, Ok(res) if res.status().is_success());
        plan.0.lock().unwrap().tokens.insert(
            token,
            if applied {
                TokenState::Applied
            } else {
                TokenState::NotApplied
            },
        );
        let _ = done.send(true);
        result
    })
    .await
    .expect("the transaction's attempt ran")
}

/// Records an attempt the SDK gave up on (its timeout dropped it) before the emulator answered.
struct AttemptWatch {
    plan: FaultPlan,
    index: usize,
    done: bool,
}

impl AttemptWatch {
    fn answered(&mut self) {
        self.done = true;
    }
}

impl Drop for AttemptWatch {
    fn drop(&mut self) {
        if !self.done {
            if let Ok(mut s) = self.plan.0.lock() {
                s.emulator_failures.push((
                    self.index,
                    "no answer before the SDK's time budget ended the attempt".into(),
                ));
            }
        }
    }
}

/// The `TableName` of a DynamoDB request, or "".
fn table_name(request: &HttpRequest) -> String {
    request
        .body()
        .bytes()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
        .and_then(|body| body["TableName"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The `ClientRequestToken` of a `TransactWriteItems` request (the SDK fills one in when
/// the caller sets none, once per operation, so every retry carries the same).
fn transaction_token(op: &str, request: &HttpRequest) -> Option<String> {
    if op != "dynamodb:TransactWriteItems" {
        return None;
    }
    let body: serde_json::Value = serde_json::from_slice(request.body().bytes()?).ok()?;
    body["ClientRequestToken"].as_str().map(str::to_owned)
}

fn json_response(status: u16, body: &'static str) -> HttpResponse {
    let mut res = HttpResponse::new(
        StatusCode::try_from(status).expect("a status"),
        SdkBody::from(body),
    );
    res.headers_mut()
        .insert("content-type", "application/x-amz-json-1.0");
    res
}

/// `service:Operation` from what each protocol puts on the wire.
fn operation(request: &HttpRequest) -> String {
    if let Some(target) = request.headers().get("x-amz-target") {
        // AWS JSON protocols: `DynamoDB_20120810.GetItem`, `AmazonSQS.SendMessage`.
        let service = if target.starts_with("AmazonSQS.") {
            "sqs"
        } else {
            "dynamodb"
        };
        return format!("{service}:{}", target.rsplit('.').next().unwrap_or(target));
    }
    let auth = request.headers().get("authorization").unwrap_or_default();
    let service = auth
        .split("Credential=")
        .nth(1)
        .and_then(|c| c.split('/').nth(3))
        .unwrap_or("unknown")
        .to_owned();
    let body = request
        .body()
        .bytes()
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    if let Some(action) = body.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
        return format!("{service}:{action}");
    }
    if service == "ses" && request.uri().contains("/v2/email/outbound-emails") {
        return "ses:SendEmail".into();
    }
    let path = request
        .uri()
        .split('?')
        .next()
        .unwrap_or_default()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    format!("{service}:{} {path}", request.method())
}

fn error_response(op: &str, fault: Fault) -> HttpResponse {
    let (status, headers, body): (u16, &[(&str, &str)], &str) = match (op.split(':').next().unwrap_or(""), fault) {
        ("dynamodb", Fault::Throttle) => (
            400,
            &[("content-type", "application/x-amz-json-1.0")],
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#,
        ),
        ("dynamodb", _) => (
            500,
            &[("content-type", "application/x-amz-json-1.0")],
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error"}"#,
        ),
        ("sqs", Fault::Throttle) => (
            400,
            &[("content-type", "application/x-amz-json-1.0")],
            r#"{"__type":"com.amazonaws.sqs#ThrottlingException","message":"Rate exceeded"}"#,
        ),
        ("sqs", _) => (
            500,
            &[("content-type", "application/x-amz-json-1.0")],
            r#"{"__type":"com.amazonaws.sqs#InternalError","message":"Internal error"}"#,
        ),
        ("ses", Fault::Throttle) => (
            429,
            &[("content-type", "application/json"), ("x-amzn-errortype", "TooManyRequestsException")],
            r#"{"message":"Maximum sending rate exceeded."}"#,
        ),
        ("ses", _) => (500, &[("content-type", "application/json"), ("x-amzn-errortype", "InternalFailure")], r#"{"message":"Internal failure"}"#),
        (_, Fault::Throttle) => (
            400,
            &[("content-type", "text/xml")],
            "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>fault</RequestId></ErrorResponse>",
        ),
        (_, _) => (
            500,
            &[("content-type", "text/xml")],
            "<ErrorResponse><Error><Type>Receiver</Type><Code>InternalError</Code><Message>Internal error</Message></Error><RequestId>fault</RequestId></ErrorResponse>",
        ),
    };
    let mut res = HttpResponse::new(
        StatusCode::try_from(status).expect("a status"),
        SdkBody::from(body),
    );
    for (k, v) in headers {
        res.headers_mut().insert(*k, *v);
    }
    res
}
