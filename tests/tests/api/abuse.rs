//! Abuse resistance on the production adapters: every limit at its edge, recipient
//! suppression behind the generic answer, and `Idempotency-Key` replays and refusals.
//!
//! Nothing here waits on the wall clock: the limits run under a clock the test moves (the
//! production adapters otherwise), and a request that must still be in flight is held at
//! its SES call until the test lets it go.

use futures::future::join;
use resetkit::config;
use resetkit::demo::{BROWSER_KEY, PORTAL_KEY, STAFF_KEY};
use resetkit::domain::AuditAction;
use resetkit::ports::{AuditLog, VerificationStore};
use serde_json::{json, Value};

use crate::fault_client::FaultPlan;
use crate::helpers::{gateway_request, spawn_app, spawn_app_on, spawn_clocked_app_with, Answer};

const FORGOT: &str = "/api/Authentication/ForgotPassword";
const GUEST: &str = "/v1/guests/password?reset=true";
const CONFIRM: &str = "/user/password/reset";

fn json_of(answer: &Answer) -> Value {
    serde_json::from_slice(&answer.2)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&answer.2)))
}

fn retry_after(answer: &Answer) -> u64 {
    let value = answer
        .1
        .get("retry-after")
        .unwrap_or_else(|| panic!("no Retry-After on {}", answer.0));
    value
        .to_str()
        .ok()
        .and_then(|v| v.parse().ok())
        .expect("Retry-After is whole seconds")
}

fn nobody() -> Value {
    json!({"EmailAddress": format!("nobody-{}@example.com", crate::helpers::random_hex(6))})
}

#[tokio::test]
async fn the_last_call_a_key_may_make_passes_the_next_is_429_and_a_new_window_passes() {
    // Arrange: 3 calls per 2 s per key; the clock stands 1 s into a window.
    let app = spawn_clocked_app_with(&[(config::FORGOT_RATE_LIMIT, "3/2")]).await;
    app.clock.advance(1);
    let call = || {
        app.forgot_password(gateway_request(
            FORGOT,
            "198.51.100.1",
            &[("authorization", PORTAL_KEY)],
            &nobody(),
        ))
    };

    // Act
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(call().await.0);
    }
    let limited = call().await;
    app.clock.advance(retry_after(&limited));
    let next_window = call().await;

    // Assert
    assert_eq!(
        statuses,
        [200, 200, 200],
        "the 3rd call is still within the limit"
    );
    assert_eq!(limited.0, 429);
    assert_eq!(retry_after(&limited), 1, "the rest of the window");
    let body = json_of(&limited);
    assert_eq!(
        (body["ExceptionType"].as_str(), body["Reason"].as_str()),
        (
            Some("MXAPIRateLimitExceededException"),
            Some("api_key_rate_limited")
        )
    );
    assert_eq!(next_window.0, 200, "the next window starts afresh");
}

#[tokio::test]
async fn a_source_address_over_its_limit_gets_429_while_others_pass() {
    // Arrange: 2 confirm calls per 2 s per address; the clock stands at the top of a window.
    let app = spawn_clocked_app_with(&[(config::IP_RATE_LIMIT, "2/2")]).await;
    let guess = json!({"EmailAddress": "ana@example.com", "TemporaryPassword": "123456",
        "Password": "a tangerine rowboat at dusk", "PasswordConfirm": "a tangerine rowboat at dusk", "ApiKey": BROWSER_KEY});
    let from = |ip: &str| app.confirm(gateway_request(CONFIRM, ip, &[], &guess));

    // Act
    let first = from("198.51.100.7").await;
    let second = from("198.51.100.7").await;
    let third = from("198.51.100.7").await;
    let elsewhere = from("198.51.100.8").await;
    app.clock.advance(retry_after(&third));
    let later = from("198.51.100.7").await;

    // Assert: wrong guesses are 400 until the address is limited.
    assert_eq!(
        (first.0, second.0, third.0, elsewhere.0, later.0),
        (400, 400, 429, 400, 400)
    );
    assert_eq!(retry_after(&third), 2, "the whole window is left");
    let status = &json_of(&third)["ResponseStatus"];
    assert_eq!(
        (
            status["ErrorCode"].as_str(),
            status["Meta"]["Reason"].as_str()
        ),
        (Some("TooManyRequests"), Some("source_ip_rate_limited"))
    );
}

#[tokio::test]
async fn a_recipient_over_its_limit_gets_no_second_link_and_the_caller_sees_no_difference() {
    // Arrange: the default one send per recipient per minute.
    let app = spawn_app().await;
    let person = app.person("Beatriz").await;
    let ask = || {
        app.forgot_password(gateway_request(
            FORGOT,
            "198.51.100.20",
            &[("authorization", PORTAL_KEY)],
            &json!({"EmailAddress": person.email}),
        ))
    };

    // Act
    let first = ask().await;
    let second = ask().await;

    // Assert
    assert_eq!(first, second, "status, headers and body are the same");
    let captured = crate::helpers::captured_messages(&app.stack.endpoint).await;
    assert_eq!(
        captured.emails_to(&person.email).len(),
        1,
        "the second link was not sent"
    );
    let events = app
        .stack
        .store
        .user_events(&person.id)
        .await
        .expect("events");
    let suppressed: Vec<_> = events
        .iter()
        .filter(|l| l.event.action == AuditAction::SendSuppressed)
        .collect();
    assert_eq!(suppressed.len(), 1, "{events:?}");
    assert_eq!(
        suppressed[0].event.detail.as_deref(),
        Some("recipient_rate_limited")
    );
}

#[tokio::test]
async fn staff_resetting_a_guest_again_within_the_cooldown_get_429_with_the_reason() {
    // The default cooldown, one code per guest per 60 s; the clock at the top of a minute.
    let app = spawn_clocked_app_with(&[]).await;
    let guest = app.person("Carla").await;
    let reset = || {
        app.guest_reset(gateway_request(
            GUEST,
            "198.51.100.30",
            &[("authorization", &format!("apikey {STAFF_KEY}"))],
            &json!({"email": guest.email}),
        ))
    };

    let first = reset().await;
    let second = reset().await;

    assert_eq!(first.0, 200);
    assert_eq!(second.0, 429);
    assert_eq!(retry_after(&second), 60, "the whole cooldown is left");
    assert_eq!(
        json_of(&second)["error"],
        json!({"code": 429, "message": "Too many requests for this recipient; retry after 60 s", "reason": "recipient_rate_limited"})
    );
}

#[tokio::test]
async fn a_retry_with_the_same_idempotency_key_replays_the_first_answer_without_a_second_send() {
    // Arrange
    let app = spawn_app().await;
    let guest = app.person("Diana").await;
    let key = format!("retry-{}", crate::helpers::random_hex(8));
    let headers = [
        ("authorization", format!("apikey {STAFF_KEY}")),
        ("idempotency-key", key.clone()),
    ];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let reset =
        |body: Value| app.guest_reset(gateway_request(GUEST, "198.51.100.40", &headers, &body));

    // Act
    let first = reset(json!({"email": guest.email})).await;
    let retry = reset(json!({"email": guest.email})).await;
    let other_body = reset(json!({"email": guest.email, "channel": "sms"})).await;

    // Assert
    assert_eq!(first.0, 200);
    assert_eq!(
        (retry.0, &retry.2),
        (200, &first.2),
        "the same answer, the same code"
    );
    assert_eq!(
        retry.1.get("idempotent-replayed").map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    assert!(first.1.get("idempotent-replayed").is_none());
    let captured = crate::helpers::captured_messages(&app.stack.endpoint).await;
    assert_eq!(captured.emails_to(&guest.email).len(), 1, "no second send");
    assert_eq!(other_body.0, 422, "same key, different request");
    assert_eq!(json_of(&other_body)["error"]["code"], 422);
}

#[tokio::test]
async fn a_replayed_wrong_guess_spends_no_second_attempt() {
    let app = spawn_app().await;
    let guest = app.person("Elsa").await;
    let (_, issued) = app
        .post_guest_reset(STAFF_KEY, &json!({"email": guest.email}))
        .await;
    let vid = issued["verification_id"]
        .as_str()
        .expect("verification_id")
        .to_owned();
    let code = issued["verification_code"].as_str().expect("code");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let body = json!({"VerificationId": vid, "TemporaryPassword": wrong, "Password": "a tangerine rowboat at dusk",
        "PasswordConfirm": "a tangerine rowboat at dusk", "ApiKey": BROWSER_KEY});
    let guess = || {
        app.confirm(gateway_request(
            CONFIRM,
            "198.51.100.50",
            &[("idempotency-key", "guess-1")],
            &body,
        ))
    };

    let first = guess().await;
    let retry = guess().await;

    assert_eq!((first.0, retry.0, &retry.2), (400, 400, &first.2));
    let id = resetkit::domain::VerificationId::parse(&vid).expect("id");
    let record = app
        .stack
        .store
        .get_verification(
            &id,
            resetkit::ports::Clock::now(&resetkit::ports::SystemClock),
        )
        .await
        .expect("get")
        .expect("record");
    assert_eq!(record.attempts, 1, "the replay spent nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_while_the_first_is_in_flight_is_told_to_retry() {
    // Arrange: the first request's job is held at its SQS client until the duplicate has
    // its answer, so the duplicate meets the key claimed and the first still running.
    let plan = FaultPlan::default();
    let app = spawn_app_on(
        &[],
        |sdk| sdk.to_builder().http_client(plan.http_client()).build(),
        &resetkit::adapters::aws::EMULATOR_BUDGETS,
    )
    .await;
    let person = app.person("Gemma").await;
    let gate = plan.gate("sqs:SendMessage");
    let headers = [
        ("authorization", PORTAL_KEY),
        ("idempotency-key", "in-flight-1"),
    ];
    let body = json!({"EmailAddress": person.email});
    let call = || app.forgot_password(gateway_request(FORGOT, "198.51.100.60", &headers, &body));

    // Act
    let (first, duplicate) = join(call(), async {
        gate.reached().await;
        let duplicate = call().await;
        gate.open();
        duplicate
    })
    .await;

    // Assert
    assert_eq!(first.0, 200);
    assert_eq!(duplicate.0, 409);
    assert_eq!(retry_after(&duplicate), 1);
    assert_eq!(
        json_of(&duplicate)["ExceptionType"],
        "MXRequestInProgressException"
    );
    let after = call().await;
    assert_eq!(
        (after.0, &after.2),
        (200, &first.2),
        "once done, the key replays"
    );
}
