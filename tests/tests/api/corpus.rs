//! The bad-input corpus (`tests/corpus/<endpoint>.jsonl`, written by `generate.py`): every
//! hostile request gets exactly its status and error code (`tests/corpus/expected/
//! <endpoint>.json`, reviewed and committed), in the contract's shape (checked against
//! `openapi.yaml`), and nothing is stored or sent: not one write call of any kind (no put,
//! update, delete or transaction, no SES or SNS call) as seen by the functions' own SDK
//! clients, no verification, no changed person.
//!
//! The stage runs with every limit switched off (limits that cannot trip), so no case can
//! pass as a 429, and no limit counts anything (a counter would be a write).
//!
//! After a deliberate change of an answer: `RESETKIT_CORPUS_BLESS=1 cargo test --workspace
//! -- corpus::` rewrites the expectations from the answers; review the diff before committing.

use std::collections::BTreeMap;
use std::sync::Mutex;

use base64::Engine;
use lambda_http::{Body, Response};
use resetkit::ports::UserDirectory;
use serde::Deserialize;
use serde_json::Value;

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
    /// The status the generator means this case to get.
    expect: u16,
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

/// Every limit of the stage switched off: `MAX/SECONDS` with MAX 0 and a zero cooldown and
/// hourly limit mean "no limit, nothing counted".
const NO_LIMITS: [(&str, &str); 5] = [
    (resetkit::config::FORGOT_RATE_LIMIT, "0/60"),
    (resetkit::config::KEY_RATE_LIMIT, "0/60"),
    (resetkit::config::IP_RATE_LIMIT, "0/60"),
    (resetkit::config::RECIPIENT_COOLDOWN_SECONDS, "0"),
    (resetkit::config::RECIPIENT_HOURLY_LIMIT, "0"),
];

/// The DynamoDB operations that only read; any other call (including every SES and SNS call)
/// writes or sends.
const READS: [&str; 5] = [
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:BatchGetItem",
    "dynamodb:TransactGetItems",
];

/// The error code of an answer, as each contract names it: A's `error.message` (its only
/// code besides the status), B's `ExceptionType` (`Status` on a 200), C's
/// `ResponseStatus.ErrorCode` with each field error's `FieldName:ErrorCode`.
fn error_code(endpoint: &str, res: &Response<Body>) -> String {
    let json: Value = serde_json::from_slice(res.body().as_ref()).unwrap_or(Value::Null);
    let text = |v: &Value| v.as_str().unwrap_or("(none)").to_owned();
    match endpoint {
        "guest-reset" => text(&json["error"]["message"]),
        "forgot-password" => match json.get("ExceptionType") {
            Some(t) => text(t),
            None => text(&json["Status"]),
        },
        _ => {
            let status = &json["ResponseStatus"];
            let fields: Vec<String> = status["Errors"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| format!("{}:{}", text(&e["FieldName"]), text(&e["ErrorCode"])))
                .collect();
            if fields.is_empty() {
                text(&status["ErrorCode"])
            } else {
                format!("{} [{}]", text(&status["ErrorCode"]), fields.join(", "))
            }
        }
    }
}

/// What a case must get: its status and error code, and the write calls it makes: none,
/// or the one audit record of a refusal worth auditing (a failed authentication, a search
/// that found nobody), as `dynamodb:PutItem audit`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
struct Expected {
    status: u16,
    code: String,
    writes: Vec<String>,
}

/// The only write a refused request may make: appending its audit record.
const AUDIT_APPEND: &str = "dynamodb:PutItem audit";
/// And the attempt a wrong guess costs whether or not anyone has a code (confirm does the
/// same work for every address): a conditional update of a record that does not exist,
/// which stores nothing (the verifications table stays empty, checked below).
const DECOY_ATTEMPT: &str = "dynamodb:UpdateItem verifications";
/// And, for a forgot-password request that parses (a well-formed address nobody has, say),
/// its job for the courier: queued before any lookup, whoever is named.
const QUEUED_JOB: &str = "sqs:SendMessage";

fn expected_path(endpoint: &str) -> String {
    format!(
        "{}/corpus/expected/{endpoint}.json",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// The committed expectations, by case name (empty when blessing a new file).
fn expectations(endpoint: &str, bless: bool) -> BTreeMap<String, Expected> {
    let path = expected_path(endpoint);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}")),
        Err(_) if bless => BTreeMap::new(),
        Err(e) => panic!("{path}: {e}"),
    }
}

/// One bless at a time writes the files.
static BLESS: Mutex<()> = Mutex::new(());

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
        &NO_LIMITS,
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
    let bless = std::env::var_os("RESETKIT_CORPUS_BLESS").is_some();
    let expected = expectations(endpoint, bless);
    let people_before = demo_people(&app).await;
    let mark = plan.mark();

    // Act
    let mut failures = Vec::new();
    let mut seen = BTreeMap::new();
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
        let before = plan.mark();
        let res = handle(&app, endpoint, req).await;
        let writes: Vec<String> = plan
            .writes_since(before)
            .into_iter()
            .map(|(op, table)| {
                let table = table.strip_prefix(&app.stack.prefix).unwrap_or(&table);
                format!("{op} {table}").trim_end().to_owned()
            })
            .collect();
        let status = res.status().as_u16();
        let text = String::from_utf8_lossy(res.body().as_ref())
            .chars()
            .take(300)
            .collect::<String>();
        let got = Expected {
            status,
            code: error_code(endpoint, &res),
            writes,
        };
        seen.insert(case.name.clone(), got.clone());
        if status != case.expect {
            failures.push(format!(
                "{}: the generator expects {}, got {status}: {text}",
                case.name, case.expect
            ));
        }
        match expected.get(&case.name) {
            Some(want) if *want == got => {}
            Some(want) => failures.push(format!(
                "{}: expected {} {:?} writing {:?}, got {status} {:?} writing {:?}: {text}",
                case.name, want.status, want.code, want.writes, got.code, got.writes
            )),
            None if bless => {}
            None => failures.push(format!(
                "{}: no expectation in {} (bless and review)",
                case.name,
                expected_path(endpoint)
            )),
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

    if bless {
        let _one = BLESS.lock().unwrap_or_else(|e| e.into_inner());
        let path = expected_path(endpoint);
        let dir = std::path::Path::new(&path).parent().expect("a folder");
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let text = serde_json::to_string_pretty(&seen).expect("JSON") + "\n";
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
    let stale: Vec<&String> = expected.keys().filter(|k| !seen.contains_key(*k)).collect();
    assert!(
        bless || stale.is_empty(),
        "{endpoint}: expectations for cases the corpus no longer has: {stale:?}"
    );

    // Assert: every answer as expected, and nothing stored or sent.
    assert!(
        failures.is_empty(),
        "{endpoint}: {} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    let ops = plan.operations_since(mark);
    let mut writes: BTreeMap<&str, usize> = BTreeMap::new();
    for op in ops.iter().filter(|op| !READS.contains(&op.as_str())) {
        *writes.entry(op.as_str()).or_default() += 1;
    }
    let audited: usize = seen.values().map(|e| e.writes.len()).sum();
    let decoys: usize = seen
        .values()
        .map(|e| e.writes.iter().filter(|w| *w == DECOY_ATTEMPT).count())
        .sum();
    let queued: usize = seen
        .values()
        .map(|e| e.writes.iter().filter(|w| *w == QUEUED_JOB).count())
        .sum();
    let other: Vec<(&String, &Expected)> = seen
        .iter()
        .filter(|(_, e)| {
            e.writes.iter().any(|w| {
                w != AUDIT_APPEND
                    && !(endpoint == "password-confirm" && w == DECOY_ATTEMPT)
                    && !(endpoint == "forgot-password" && w == QUEUED_JOB)
            })
        })
        .collect();
    assert!(
        other.is_empty(),
        "{endpoint}: write calls other than an audit record: {other:?}"
    );
    assert_eq!(
        writes.values().sum::<usize>(),
        audited,
        "{endpoint}: every write call of the corpus: {writes:?}"
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
        &format!("{endpoint} bad-input cases with limits off: each its exact status and error code, in shape; write calls: {} audit records of refusals, {decoys} decoy attempts, {queued} jobs queued for the courier, 0 others", audited - decoys - queued),
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
