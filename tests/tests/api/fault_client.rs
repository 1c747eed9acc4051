//! An HTTP client for the functions' real SDK clients: it passes every request on to the
//! emulator, records which AWS operation each one was, and on demand fails the Nth
//! operation — every attempt of it, retries included — with throttling, a 5xx or a hang.
//! The SDK's own retry, timeout and error-parsing code runs as in production.

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
}

impl Fault {
    pub const ALL: [Fault; 3] = [Fault::Throttle, Fault::ServerError, Fault::Timeout];
}

#[derive(Debug, Default)]
struct State {
    /// One entry per operation (SDK invocation), in order: invocation id and operation name.
    invocations: Vec<(String, String)>,
    /// Fail the operation with this index, every attempt.
    armed: Option<(usize, Fault)>,
    /// Attempts answered with a fault.
    faulted_attempts: usize,
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
        let fault = {
            let mut s = self.plan.0.lock().unwrap();
            let known = s
                .invocations
                .iter()
                .position(|(i, _)| !id.is_empty() && *i == id);
            let index = known.unwrap_or_else(|| {
                s.invocations.push((id, op.clone()));
                s.invocations.len() - 1
            });
            match s.armed {
                Some((n, fault)) if n == index => {
                    s.faulted_attempts += 1;
                    Some(fault)
                }
                _ => None,
            }
        };
        match fault {
            None => self.inner.call(request),
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

/// `service:Operation` from what each protocol puts on the wire.
fn operation(request: &HttpRequest) -> String {
    if let Some(target) = request.headers().get("x-amz-target") {
        return format!("dynamodb:{}", target.rsplit('.').next().unwrap_or(target));
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
