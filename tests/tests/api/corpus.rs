//! The bad-input corpus (`tests/corpus/<endpoint>.jsonl`, written by `generate.py`): every
//! hostile request gets its 4xx in the contract's shape (checked against `openapi.yaml`),
//! none a 5xx, and nothing is stored or sent — no verification, no password change, no
//! transaction, no SES or SNS call, as seen by the functions' own SDK clients.

use std::collections::BTreeMap;

use base64::Engine;
use lambda_http::{Body, Response};
use resetkit::ports::UserDirectory;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::fault_client::FaultPlan;
use crate::helpers::{spawn_app_on, TestApp};

#[derive(Debug, Deserialize)]
struct Case {
    name: String,
    method: String,
    uri: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
    body_b64: Option<String>,
    fill: Option<Fill>,
    expect: Value,
    #[serde(default)]
    generic: bool,
}

#[derive(Debug, Deserialize)]
struct Fill {
    prefix: String,
    repeat: String,
    times: usize,
    suffix: String,
}

impl Case {
    fn body(&self) -> Vec<u8> {
        if let Some(b) = &self.body_b64 {
            return base64::engine::general_purpose::STANDARD
                .decode(b)
                .expect("body_b64 is base64");
        }
        if let Some(f) = &self.fill {
            return format!("{}{}{}", f.prefix, f.repeat.repeat(f.times), f.suffix).into_bytes();
        }
        self.body.clone().unwrap_or_default().into_bytes()
    }
}

/// The canonical route of each endpoint, as `openapi.yaml` lists it.
fn route(endpoint: &str) -> &'static str {
    match endpoint {
        "guest-reset" => "/v1/guests/password",
        "forgot-password" => "/api/Authentication/ForgotPassword",
        _ => "/user/password/reset",
    }
}

async fn handle(app: &TestApp, endpoint: &str, req: lambda_http::Request) -> Response<Body> {
    match endpoint {
        "guest-reset" => guest_reset::handle(&app.service, req).await,
        "forgot-password" => forgot_password::handle(&app.service, req).await,
        _ => password_confirm::handle(&app.service, req).await,
    }
    .expect("the handlers answer every request")
}

/// The demo people as stored: what no hostile request may change.
async fn demo_people(app: &TestApp) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for id in [
        resetkit::demo::ANA,
        resetkit::demo::ZOE,
        resetkit::demo::ZARA,
        resetkit::demo::NUNO,
    ] {
        let id = resetkit::domain::UserId::parse(id).expect("a demo id");
        let user = app
            .stack
            .store
            .get_user(&id)
            .await
            .expect("get_user")
            .expect("a demo person");
        out.insert(
            id.to_string(),
            format!(
                "{:?}",
                (
                    user.credential_version,
                    user.password_hash.map(|h| h.as_phc().to_owned()),
                    user.latest_verification
                )
            ),
        );
    }
    out
}

async fn run_corpus(endpoint: &str) {
    // Arrange: the production wiring on fresh tables, its SDK calls recorded.
    let plan = FaultPlan::default();
    let app = spawn_app_on(
        &[(resetkit::config::FORGOT_RATE_LIMIT, "100000/1")],
        |sdk| sdk.to_builder().http_client(plan.http_client()).build(),
        &resetkit::adapters::aws::EMULATOR_BUDGETS,
    )
    .await;
    let path = format!("{}/corpus/{endpoint}.jsonl", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let cases: Vec<Case> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{path}: {e}: {l}")))
        .collect();
    assert!(
        cases.len() >= 100,
        "{path}: at least 100 cases, found {}",
        cases.len()
    );
    let people_before = demo_people(&app).await;
    let mark = plan.mark();

    // Act
    let mut failures = Vec::new();
    let mut limited = 0;
    for case in &cases {
        let mut builder = lambda_http::http::Request::builder()
            .method(case.method.as_str())
            .uri(case.uri.as_str());
        for (k, v) in &case.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let req = builder
            .body(Body::from(case.body()))
            .unwrap_or_else(|e| panic!("{}: not a valid HTTP request: {e}", case.name));
        let res = handle(&app, endpoint, req).await;
        let status = res.status().as_u16();
        let text = String::from_utf8_lossy(res.body().as_ref())
            .chars()
            .take(300)
            .collect::<String>();
        let expected = match &case.expect {
            Value::Number(n) => status == n.as_u64().unwrap_or(0) as u16,
            _ => (400..500).contains(&status),
        };
        // A limit is a fair answer to hostile traffic; it still must be in shape.
        let ok = expected || (status == 429 && case.expect != json!(200));
        limited += usize::from(status == 429 && !expected);
        if !ok {
            failures.push(format!(
                "{}: expected {}, got {status}: {text}",
                case.name, case.expect
            ));
            continue;
        }
        if let Err(e) = crate::openapi::check("POST", route(endpoint), &res) {
            failures.push(format!("{}: {e}", case.name));
        }
        if case.generic
            && res.body().as_ref()
                != br#"{"Status":"Success","Message":"Reset link sent successfully"}"#
        {
            failures.push(format!("{}: not the generic answer: {text}", case.name));
        }
    }

    // Assert: every answer as expected, and nothing stored or sent.
    assert!(
        failures.is_empty(),
        "{endpoint}: {} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    let ops = plan.operations_since(mark);
    let writes: Vec<&String> = ops
        .iter()
        .filter(|op| {
            !matches!(
                op.as_str(),
                "dynamodb:GetItem" | "dynamodb:Query" | "dynamodb:PutItem" | "dynamodb:UpdateItem"
            )
        })
        .collect();
    assert!(
        writes.is_empty(),
        "{endpoint}: the corpus caused {writes:?}"
    );
    let verifications = app
        .stack
        .dynamodb
        .scan()
        .table_name(&app.stack.store.tables().verifications)
        .send()
        .await
        .expect("scan");
    assert_eq!(
        verifications.count(),
        0,
        "{endpoint}: verifications were stored"
    );
    assert_eq!(
        demo_people(&app).await,
        people_before,
        "{endpoint}: a demo person changed"
    );
    crate::report::record(
        "corpus",
        &format!("{endpoint} bad-input cases: all 4xx in shape, nothing stored or sent ({limited} answered 429)"),
        cases.len(),
    );
}

#[tokio::test]
async fn hostile_guest_reset_requests_get_a_4xx_and_change_nothing() {
    run_corpus("guest-reset").await;
}

#[tokio::test]
async fn hostile_forgot_password_requests_get_a_4xx_or_the_generic_answer_and_change_nothing() {
    run_corpus("forgot-password").await;
}

#[tokio::test]
async fn hostile_password_confirm_requests_get_a_4xx_and_change_nothing() {
    run_corpus("password-confirm").await;
}
