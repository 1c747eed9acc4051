//! The fault matrix: every DynamoDB, SES and SNS call of every flow fails in turn —
//! throttled, a 5xx, or hanging until the SDK's time budget ends it — through the functions'
//! real SDK clients (their retries, timeouts and error parsing run as in production).
//!
//! Each case asserts: the answer is the flow's success or a retryable 503 with `Retry-After`
//! in the contract's shape (checked against `openapi.yaml`), within a bounded time; the state
//! is consistent (no password changed without its code consumed and vice versa; no active
//! code that was never sent); and the client's retry with the same `Idempotency-Key`
//! succeeds without a second send of anything already sent.

use std::time::{Duration, Instant};

use lambda_http::{Body, Response};
use resetkit::demo::{BROWSER_KEY, PORTAL_KEY, STAFF_KEY};
use resetkit::domain::{Timestamp, VerificationId};
use resetkit::ports::VerificationStore;
use serde_json::{json, Value};

use crate::fault_client::{Fault, FaultPlan};
use crate::helpers::{random_hex, spawn_app_on, Person, TestApp};
use crate::openapi::{body_json, call, conforming};

/// Limits out of the way (each case has its own person, but the flows run fast): the
/// per-recipient cooldown is 1 s, so a retry after `Retry-After` is a new window.
const LIMITS: [(&str, &str); 6] = [
    (resetkit::config::FORGOT_RATE_LIMIT, "100000/1"),
    (resetkit::config::KEY_RATE_LIMIT, "100000/1"),
    (resetkit::config::IP_RATE_LIMIT, "100000/1"),
    (resetkit::config::RECIPIENT_COOLDOWN_SECONDS, "1"),
    (resetkit::config::RECIPIENT_HOURLY_LIMIT, "100000"),
    (resetkit::config::RECIPIENT_CEILING, "100000"),
];

/// A failing call costs at most its budget (5 s DynamoDB, 7 s SES/SNS; `aws.rs`), and the
/// other calls of a request take milliseconds on DynamoDB, inside the function's 10 s. On the
/// one single-threaded emulator every test shares, under a full parallel run, those other
/// calls can take seconds each: the bound here allows for that, and still catches a hang.
const BOUND: Duration = Duration::from_secs(15);
const NEW_PASSWORD: &str = "a tangerine rowboat at dusk";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    GuestResetByEmail,
    GuestResetBySms,
    ForgotPasswordByEmail,
    ForgotPasswordBySms,
    ConfirmWithStaffCode,
}

/// What one case starts from: a new person and, for a confirm, a code issued without faults.
struct Arranged {
    person: Person,
    code: Option<(String, String)>,
}

impl Flow {
    fn route(self) -> (&'static str, &'static str) {
        match self {
            Flow::GuestResetByEmail | Flow::GuestResetBySms => {
                ("/v1/guests/password?reset=true", "/v1/guests/password")
            }
            Flow::ForgotPasswordByEmail | Flow::ForgotPasswordBySms => (
                "/api/Authentication/ForgotPassword",
                "/api/Authentication/ForgotPassword",
            ),
            Flow::ConfirmWithStaffCode => ("/user/password/reset", "/user/password/reset"),
        }
    }

    async fn arrange(self, app: &TestApp) -> Arranged {
        let person = app.person("Faye").await;
        let code = if self == Flow::ConfirmWithStaffCode {
            // Production budgets on a busy emulator: a hiccup is a 503, and the caller retries.
            let mut tries = 0;
            let issued = loop {
                let (status, issued) = app
                    .post_guest_reset(STAFF_KEY, &json!({"email": person.email}))
                    .await;
                tries += 1;
                match status {
                    200 => break issued,
                    503 if tries < 5 => tokio::time::sleep(Duration::from_secs(2)).await,
                    _ => panic!("arranging a code: {status} {issued}"),
                }
            };
            let text = |k: &str| issued[k].as_str().expect("issued").to_owned();
            Some((text("verification_id"), text("verification_code")))
        } else {
            None
        };
        Arranged { person, code }
    }

    async fn act(self, app: &TestApp, a: &Arranged, idempotency_key: &str) -> Response<Body> {
        let staff = format!("apikey {STAFF_KEY}");
        let (uri, _) = self.route();
        let (auth, body) = match self {
            Flow::GuestResetByEmail => (Some(staff.as_str()), json!({"email": a.person.email})),
            Flow::GuestResetBySms => (
                Some(staff.as_str()),
                json!({"mobile": a.person.mobile, "channel": "sms"}),
            ),
            Flow::ForgotPasswordByEmail => {
                (Some(PORTAL_KEY), json!({"EmailAddress": a.person.email}))
            }
            Flow::ForgotPasswordBySms => (
                Some(PORTAL_KEY),
                json!({"SearchKeyData": {"SchemaName": "mx_Member_Code", "Value": a.person.member_code}, "RecipientField": {"SchemaName": "Phone"}}),
            ),
            Flow::ConfirmWithStaffCode => {
                let (vid, code) = a.code.clone().expect("a code");
                (
                    None,
                    json!({"VerificationId": vid, "TemporaryPassword": code, "Password": NEW_PASSWORD, "PasswordConfirm": NEW_PASSWORD, "ApiKey": BROWSER_KEY}),
                )
            }
        };
        let mut headers = vec![
            ("content-type", "application/json"),
            ("idempotency-key", idempotency_key),
        ];
        if let Some(auth) = auth {
            headers.push(("authorization", auth));
        }
        call(app, "POST", uri, &headers, body.to_string()).await
    }
}

fn is_send(op: &str) -> bool {
    op == "ses:SendEmail" || op == "sns:Publish"
}

/// What a case found, for the consistency rules.
#[derive(Debug)]
struct State {
    credential_version: u64,
    password_changed: bool,
    latest: Option<VerificationId>,
    code_consumed: Option<bool>,
}

async fn state(app: &TestApp, a: &Arranged) -> State {
    let user = app.user(&a.person.id).await;
    let password_changed = user
        .password_hash
        .as_ref()
        .is_some_and(|h| h.verifies(NEW_PASSWORD));
    let code_consumed = match &a.code {
        Some((vid, _)) => {
            let vid = VerificationId::parse(vid).expect("an id");
            let now = Timestamp::from_unix_seconds(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs(),
            );
            let record = app
                .stack
                .store
                .get_verification(&vid, now)
                .await
                .expect("get_verification");
            Some(record.expect("the code's record").consumed)
        }
        None => None,
    };
    State {
        credential_version: user.credential_version,
        password_changed,
        latest: user.latest_verification,
        code_consumed,
    }
}

/// Counts of what the matrix saw, for the summary.
#[derive(Default)]
struct Tally {
    cases: usize,
    unavailable: usize,
    succeeded: usize,
    replayed: usize,
    held: usize,
    spurious: usize,
}

async fn run_matrix(flow: Flow) {
    // The functions' warnings (the cause of each 503) go with a failing case's output.
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("warn")
        .try_init();
    // Arrange: the production wiring, its SDK clients behind the fault plan.
    let plan = FaultPlan::default();
    let app = spawn_app_on(
        &LIMITS,
        |sdk| sdk.to_builder().http_client(plan.http_client()).build(),
        &resetkit::adapters::aws::PRODUCTION_BUDGETS,
    )
    .await;
    let (_, spec_path) = flow.route();

    // A dry run learns the flow's calls, in order.
    let mut tries = 0;
    let calls = loop {
        let arranged = flow.arrange(&app).await;
        let mark = plan.mark();
        let res = flow.act(&app, &arranged, &random_hex(8)).await;
        tries += 1;
        if res.status().as_u16() == 200 {
            break plan.operations_since(mark);
        }
        // Only learning the calls here: any miss is retried on a fresh arrangement. On the
        // shared single-threaded emulator a timed-out write can land and its SDK retry then
        // fail its condition (moto ignores ClientRequestToken; DynamoDB would not).
        assert!(
            tries < 5,
            "{flow:?} without faults, 5 times: {}",
            String::from_utf8_lossy(res.body().as_ref())
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    assert!(
        calls.iter().any(|op| is_send(op)) && calls.iter().any(|op| op.starts_with("dynamodb:")),
        "{flow:?}: {calls:?}"
    );
    // Does this build honour Idempotency-Key yet (issue 6)? Then every retry must replay.
    let idempotent = {
        let (a, key) = (flow.arrange(&app).await, random_hex(8));
        flow.act(&app, &a, &key).await;
        flow.act(&app, &a, &key)
            .await
            .headers()
            .get("idempotent-replayed")
            .is_some_and(|v| v == "true")
    };

    let mut tally = Tally::default();
    for (nth, op) in calls.iter().enumerate() {
        for fault in Fault::ALL {
            let label = format!("{flow:?}, call {nth} ({op}) {fault:?}");
            let mut tries = 0;
            let (a, key, res, seen) = loop {
                let a = flow.arrange(&app).await;
                let key = random_hex(16);

                // Act
                let mark = plan.mark();
                plan.arm(mark, nth, fault);
                let started = Instant::now();
                let res = flow.act(&app, &a, &key).await;
                let elapsed = started.elapsed();
                let faulted = plan.disarm();
                let seen = plan.operations_since(mark);
                let res = conforming("POST", spec_path, res);
                let (status, body) = (res.status().as_u16(), body_json(&res));
                let after = state(&app, &a).await;

                // Assert: answered in time, as success or a retryable 503, consistently.
                assert!(elapsed < BOUND, "{label}: took {elapsed:?}");
                assert!(
                    status == 200 || status == 503,
                    "{label}: answered {status}: {body}"
                );
                let sends_delivered = seen
                    .iter()
                    .enumerate()
                    .filter(|(i, o)| is_send(o) && (*i != nth || faulted == 0))
                    .count();
                check_consistency(flow, &label, status, &body, &after, sends_delivered);
                // The emulator, serving every test on one thread, is sometimes slower than a
                // budget and a call fails before the fault's turn: same checks, then again.
                if seen.get(nth) == Some(op) && faulted >= 1 {
                    break (a, key, res, seen);
                }
                tries += 1;
                tally.spurious += 1;
                assert!(
                    tries < 3,
                    "{label}: the fault never hit its call; calls were {seen:?}"
                );
            };
            let status = res.status().as_u16();
            if status == 503 {
                assert!(
                    res.headers().get("retry-after").is_some(),
                    "{label}: 503 without Retry-After"
                );
                tally.unavailable += 1;
            } else {
                tally.succeeded += 1;
            }
            let sends_delivered = seen
                .iter()
                .enumerate()
                .filter(|(i, o)| is_send(o) && *i != nth)
                .count();

            // The client retries with the same Idempotency-Key, without faults, after the
            // Retry-After it was given.
            if let Some(wait) = res
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()?.parse().ok())
            {
                tokio::time::sleep(Duration::from_secs(wait)).await;
            }
            let mark = plan.mark();
            let mut retry = conforming("POST", spec_path, flow.act(&app, &a, &key).await);
            // A hiccup of the busy emulator is a 503 too; the client waits and tries again.
            for _ in 0..3 {
                if retry.status().as_u16() != 503 {
                    break;
                }
                tally.spurious += 1;
                tokio::time::sleep(Duration::from_secs(2)).await;
                retry = conforming("POST", spec_path, flow.act(&app, &a, &key).await);
            }
            let resent = plan
                .operations_since(mark)
                .iter()
                .filter(|o| is_send(o))
                .count();
            let replayed = retry
                .headers()
                .get("idempotent-replayed")
                .is_some_and(|v| v == "true");
            if idempotent && retry.status().as_u16() == 409 {
                // The key is still held: the answer could not be stored for replay (the faulted
                // call was that write), or a claim whose first attempt timed out but landed
                // met itself on the SDK's retry. The retry is told to wait, never run twice.
                assert!(
                    retry.headers().get("retry-after").is_some(),
                    "{label}: 409 without Retry-After"
                );
                assert_eq!(resent, 0, "{label}: a held key sent again");
                tally.held += 1;
                tally.cases += 1;
                continue;
            }
            let spent = !idempotent && flow == Flow::ConfirmWithStaffCode && status == 200;
            if spent {
                // Without idempotency the retry finds its code spent: the generic 400.
                assert_eq!(
                    retry.status().as_u16(),
                    400,
                    "{label}: {}",
                    body_json(&retry)
                );
                tally.cases += 1;
                continue;
            }
            assert_eq!(
                retry.status().as_u16(),
                200,
                "{label}: answered {status}, then the retry failed: {}; calls {seen:?}, then {:?}",
                body_json(&retry),
                plan.operations_since(mark)
            );
            if idempotent && status == 200 {
                assert!(replayed, "{label}: the retry was not replayed");
            }
            if replayed {
                tally.replayed += 1;
                assert_eq!(status, 200, "{label}: a 503 was stored and replayed");
                assert_eq!(resent, 0, "{label}: a replay sent again");
            }
            let retried = state(&app, &a).await;
            check_consistency(
                flow,
                &format!("{label}, retried"),
                200,
                &body_json(&retry),
                &retried,
                sends_delivered + resent,
            );
            tally.cases += 1;
        }
    }
    crate::report::record(
        "faults",
        &format!(
            "{flow:?} cases over {} calls × {} faults: {} answered 503 + Retry-After, {} succeeded; retries with the same Idempotency-Key: {}",
            calls.len(),
            Fault::ALL.len(),
            tally.unavailable,
            tally.succeeded,
            if idempotent {
                format!(
                    "{} replayed without a second send, {} told to wait (409) while the key is held; {} runs repeated after an emulator hiccup",
                    tally.replayed, tally.held, tally.spurious
                )
            } else {
                "not yet replayed by this build".to_owned()
            }
        ),
        tally.cases,
    );
}

/// The state rules after an answer `status` with `body`, given how many messages went out.
fn check_consistency(
    flow: Flow,
    label: &str,
    status: u16,
    body: &Value,
    s: &State,
    sends_delivered: usize,
) {
    match flow {
        Flow::GuestResetByEmail | Flow::GuestResetBySms => {
            // No active code that was never sent.
            if s.latest.is_some() {
                assert!(
                    sends_delivered >= 1,
                    "{label}: an active code was never sent: {s:?}"
                );
            }
            if status == 200 {
                let vid = body["verification_id"]
                    .as_str()
                    .and_then(|v| VerificationId::parse(v).ok());
                if sends_delivered >= 1 {
                    assert_eq!(
                        s.latest, vid,
                        "{label}: the code staff got is not the active one"
                    );
                }
            } else {
                assert_eq!(s.latest, None, "{label}: a 503 left a code active");
            }
        }
        Flow::ForgotPasswordByEmail | Flow::ForgotPasswordBySms => {
            if s.latest.is_some() {
                assert!(
                    sends_delivered >= 1,
                    "{label}: an active link was never sent: {s:?}"
                );
            }
            if status == 200 {
                assert_eq!(
                    body,
                    &json!({"Status": "Success", "Message": "Reset link sent successfully"}),
                    "{label}"
                );
            } else {
                assert_eq!(s.latest, None, "{label}: a 503 left a link active");
            }
        }
        Flow::ConfirmWithStaffCode => {
            let consumed = s.code_consumed.expect("a code");
            assert_eq!(
                s.password_changed, consumed,
                "{label}: password changed ≠ code consumed: {s:?}"
            );
            assert_eq!(s.credential_version, u64::from(consumed), "{label}: {s:?}");
            if status == 200 {
                assert!(consumed, "{label}: 200 without the change");
                assert!(
                    body["SystemUserId"]
                        .as_i64()
                        .is_some_and(|n| (1..=i64::from(i32::MAX)).contains(&n)),
                    "{label}: {body}"
                );
            } else {
                assert!(!consumed, "{label}: a 503 after the change");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dependency_call_of_a_guest_reset_by_email_can_fail_without_harm() {
    run_matrix(Flow::GuestResetByEmail).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dependency_call_of_a_guest_reset_by_sms_can_fail_without_harm() {
    run_matrix(Flow::GuestResetBySms).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dependency_call_of_a_forgot_password_by_email_can_fail_without_harm() {
    run_matrix(Flow::ForgotPasswordByEmail).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dependency_call_of_a_forgot_password_by_sms_can_fail_without_harm() {
    run_matrix(Flow::ForgotPasswordBySms).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dependency_call_of_a_password_confirm_can_fail_without_harm() {
    run_matrix(Flow::ConfirmWithStaffCode).await;
}
