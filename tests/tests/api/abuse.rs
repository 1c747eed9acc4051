//! Abuse resistance on the production adapters: every limit at its edge, recipient
//! suppression behind the generic answer, `Idempotency-Key` replays and refusals, and the
//! audit chain catching an edited record.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use futures::future::join;
use resetkit::config;
use resetkit::demo::{BROWSER_KEY, PORTAL_KEY, STAFF_KEY};
use resetkit::domain::AuditAction;
use resetkit::ports::{AuditLog, VerificationStore};
use serde_json::{json, Value};

use crate::helpers::{at_window_start, gateway_request, spawn_app, spawn_app_with, Answer};

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
    // Arrange: 3 calls per 2 s per key, starting at the top of a window.
    let app = spawn_app_with(&[
        (config::FORGOT_RATE_LIMIT, "3/2"),
        (config::FORGOT_MIN_RESPONSE_MS, "1"),
    ])
    .await;
    let call = || {
        app.forgot_password(gateway_request(
            FORGOT,
            "198.51.100.1",
            &[("authorization", PORTAL_KEY)],
            &nobody(),
        ))
    };
    at_window_start(2).await;

    // Act
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(call().await.0);
    }
    let limited = call().await;
    tokio::time::sleep(Duration::from_secs(retry_after(&limited))).await;
    let next_window = call().await;

    // Assert
    assert_eq!(
        statuses,
        [200, 200, 200],
        "the 3rd call is still within the limit"
    );
    assert_eq!(limited.0, 429);
    assert!((1..=2).contains(&retry_after(&limited)));
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
    // Arrange: 2 confirm calls per 2 s per address.
    let app = spawn_app_with(&[(config::IP_RATE_LIMIT, "2/2")]).await;
    let guess = json!({"EmailAddress": "ana@example.com", "TemporaryPassword": "123456",
        "Password": "a tangerine rowboat at dusk", "PasswordConfirm": "a tangerine rowboat at dusk", "ApiKey": BROWSER_KEY});
    let from = |ip: &str| app.confirm(gateway_request(CONFIRM, ip, &[], &guess));
    at_window_start(2).await;

    // Act
    let first = from("198.51.100.7").await;
    let second = from("198.51.100.7").await;
    let third = from("198.51.100.7").await;
    let elsewhere = from("198.51.100.8").await;
    tokio::time::sleep(Duration::from_secs(retry_after(&third))).await;
    let later = from("198.51.100.7").await;

    // Assert: wrong guesses are 400 until the address is limited.
    assert_eq!(
        (first.0, second.0, third.0, elsewhere.0, later.0),
        (400, 400, 429, 400, 400)
    );
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
    let stream = app
        .stack
        .store
        .read_stream(&format!("user:{}", person.id.as_ref()))
        .await
        .expect("stream");
    let suppressed: Vec<_> = stream
        .iter()
        .filter(|l| l.event.action == AuditAction::SendSuppressed)
        .collect();
    assert_eq!(suppressed.len(), 1, "{stream:?}");
    assert_eq!(
        suppressed[0].event.detail.as_deref(),
        Some("recipient_rate_limited")
    );
}

#[tokio::test]
async fn staff_resetting_a_guest_again_within_the_cooldown_get_429_with_the_reason() {
    let app = spawn_app().await;
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
    assert!(retry_after(&second) >= 1);
    assert_eq!(
        json_of(&second)["error"],
        json!({"code": 429, "message": second_message(&second), "reason": "recipient_rate_limited"})
    );
}

fn second_message(answer: &Answer) -> String {
    json_of(answer)["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
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
    // Arrange: forgot-password takes at least 1.5 s, so the duplicate overlaps it.
    let app = spawn_app_with(&[(config::FORGOT_MIN_RESPONSE_MS, "1500")]).await;
    let headers = [
        ("authorization", PORTAL_KEY),
        ("idempotency-key", "in-flight-1"),
    ];
    let body = nobody();
    let call = || app.forgot_password(gateway_request(FORGOT, "198.51.100.60", &headers, &body));

    // Act
    let (first, duplicate) = join(call(), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        call().await
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

#[tokio::test]
async fn the_audit_chain_verifies_until_a_stored_event_is_altered() {
    // Arrange: a reset with a wrong attempt, leaving several events in the user's stream.
    let app = spawn_app().await;
    let guest = app.person("Flor").await;
    let (_, issued) = app
        .post_guest_reset(STAFF_KEY, &json!({"email": guest.email}))
        .await;
    let body = |code: &str| {
        json!({"VerificationId": issued["verification_id"], "TemporaryPassword": code,
        "Password": "a tangerine rowboat at dusk", "PasswordConfirm": "a tangerine rowboat at dusk"})
    };
    let code = issued["verification_code"].as_str().expect("code");
    app.post_confirm(&body(if code == "000000" { "111111" } else { "000000" }))
        .await;
    assert_eq!(app.post_confirm(&body(code)).await.0, 200);
    let stream = format!("user:{}", guest.id.as_ref());

    // Act
    let intact = resetctl::audit::verify(&app.stack.store, &stream).await;
    app.stack
        .dynamodb
        .update_item()
        .table_name(&app.stack.store.tables().audit)
        .key("stream", AttributeValue::S(stream.clone()))
        .key("event_id", AttributeValue::S(format!("{:020}", 2)))
        .update_expression("SET detail = :d")
        .expression_attribute_values(":d", AttributeValue::S("nothing to see".into()))
        .send()
        .await
        .expect("tamper");
    let tampered = resetctl::audit::verify(&app.stack.store, &stream).await;

    // Assert
    assert_eq!(
        intact.expect("the untouched chain verifies"),
        3,
        "code sent, attempt failed, password changed"
    );
    let err = tampered.expect_err("the altered chain fails").to_string();
    assert!(err.contains("link 2") && err.contains("altered"), "{err}");
}
