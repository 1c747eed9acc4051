//! What a stranger holding only the public keys cannot do: spend a person's own budget,
//! burn a link by guessing with the person's address, or use up a shared key for everyone;
//! and what a revoked key cannot do: get its earlier answers replayed.

use aws_sdk_dynamodb::types::AttributeValue;
use resetkit::config;
use resetkit::demo::{BROWSER_KEY, PORTAL_KEY, STAFF_KEY};
use serde_json::{json, Value};

use crate::helpers::{
    captured_messages, gateway_request, link_param, paced, spawn_clocked_app_with, ClockedApp,
};

const FORGOT: &str = "/api/Authentication/ForgotPassword";
const CONFIRM: &str = "/user/password/reset";
const NEW_PASSWORD: &str = "a tangerine rowboat at dusk";

/// A distinct documentation address (RFC 5737) per stranger.
fn stranger(n: usize) -> String {
    format!("198.51.{}.{}", 100 + n / 250, 1 + n % 250)
}

async fn forgot_from(app: &ClockedApp, ip: &str, email: &str) -> u16 {
    let body = json!({"EmailAddress": email});
    app.forgot_password(gateway_request(
        FORGOT,
        ip,
        &[("authorization", PORTAL_KEY)],
        &body,
    ))
    .await
    .0
}

async fn confirm_from(app: &ClockedApp, ip: &str, body: Value) -> u16 {
    let mut body = body;
    body["ApiKey"] = BROWSER_KEY.into();
    app.confirm(gateway_request(CONFIRM, ip, &[], &body))
        .await
        .0
}

/// The stage's own limits (cool-down 60 s, 5 an hour per requester, ceiling 30), on a clock
/// that stands at the start of every window: a test never straddles an hour or a minute.
async fn stage() -> ClockedApp {
    spawn_clocked_app_with(&[]).await
}

#[tokio::test]
async fn twenty_strangers_naming_a_person_leave_that_persons_own_reset_working() {
    // Arrange
    let app = stage().await;
    let person = app.person("Beatriz").await;
    let own_address = "203.0.113.77";

    // Act: 20 strangers ask for the person's reset, then the person does, then strangers
    // guess with the person's address, then the person uses the newest link.
    for n in 0..20 {
        assert_eq!(forgot_from(&app, &stranger(n), &person.email).await, 200);
    }
    assert_eq!(forgot_from(&app, own_address, &person.email).await, 200);
    let captured = captured_messages(&app.stack.endpoint).await;
    let mails = captured.emails_to(&person.email);
    let newest = mails.last().expect("the person's own request was sent");
    let secret = link_param(&newest.body, "TemporaryPassword");
    for n in 20..30 {
        let guess = json!({"EmailAddress": person.email, "TemporaryPassword": "0".repeat(43),
            "Password": NEW_PASSWORD, "PasswordConfirm": NEW_PASSWORD});
        assert_eq!(confirm_from(&app, &stranger(n), guess).await, 400);
    }
    let own = json!({"LeadId": person.id.as_ref(), "TemporaryPassword": secret,
        "Password": NEW_PASSWORD, "PasswordConfirm": NEW_PASSWORD});
    let confirmed = confirm_from(&app, own_address, own).await;

    // Assert
    assert_eq!(mails.len(), 21, "every requester has a budget of its own");
    assert_eq!(confirmed, 200, "guesses by address did not burn the link");
}

#[tokio::test]
async fn the_ceiling_caps_what_one_recipient_receives_from_many_addresses() {
    // Arrange
    let app = spawn_clocked_app_with(&[(config::RECIPIENT_CEILING, "8")]).await;
    let person = app.person("Carla").await;

    // Act
    for n in 0..12 {
        assert_eq!(forgot_from(&app, &stranger(n), &person.email).await, 200);
    }

    // Assert
    let captured = captured_messages(&app.stack.endpoint).await;
    assert_eq!(captured.emails_to(&person.email).len(), 8);
}

#[tokio::test]
async fn fifty_addresses_at_their_limit_leave_the_shared_keys_usable_from_a_fifty_first() {
    // Arrange: two calls an hour per shared key and address.
    let app = spawn_clocked_app_with(&[
        (config::FORGOT_RATE_LIMIT, "2/3600"),
        (config::KEY_RATE_LIMIT, "2/3600"),
    ])
    .await;
    let nobody = "nobody-at-all@example.com";
    let wrong = json!({"VerificationId": "0".repeat(32), "TemporaryPassword": "000000",
        "Password": NEW_PASSWORD, "PasswordConfirm": NEW_PASSWORD});

    // Act: each of 50 addresses spends its budget on both keys and is refused once more,
    // side by side.
    let exhausted = paced((0..50).map(|n| {
        let (app, wrong) = (&app, wrong.clone());
        async move {
            let ip = stranger(n);
            let mut forgot = Vec::new();
            let mut confirm = Vec::new();
            for _ in 0..3 {
                forgot.push(forgot_from(app, &ip, nobody).await);
                confirm.push(confirm_from(app, &ip, wrong.clone()).await);
            }
            (forgot, confirm)
        }
    }))
    .await;
    let fresh = stranger(50);
    let portal_from_fresh = forgot_from(&app, &fresh, nobody).await;
    let browser_from_fresh = confirm_from(&app, &fresh, wrong.clone()).await;

    // Assert
    for (forgot, confirm) in exhausted {
        assert_eq!(
            (forgot, confirm),
            (vec![200, 200, 429], vec![400, 400, 429])
        );
    }
    assert_eq!(
        portal_from_fresh, 200,
        "the portal key still answers a new address"
    );
    assert_eq!(
        browser_from_fresh, 400,
        "the browser key still answers a new address"
    );
}

#[tokio::test]
async fn a_revoked_staff_keys_retry_with_its_idempotency_key_gets_401_not_the_stored_code() {
    // Arrange: a staff call under an Idempotency-Key, then the key is revoked (its item's
    // `active` set to false, as an operator does). Without the key cache, whose lifetime is
    // the documented revocation delay.
    let app = spawn_clocked_app_with(&[(config::KEY_CACHE_SECONDS, "0")]).await;
    let guest = app.person("Dora").await;
    let call = || {
        app.guest_reset(gateway_request(
            "/v1/guests/password?reset=true",
            "203.0.113.20",
            &[
                ("authorization", &format!("apikey {STAFF_KEY}")),
                ("idempotency-key", "staff-retry-1"),
            ],
            &json!({"email": guest.email}),
        ))
    };
    let first = call().await;
    assert_eq!(first.0, 200, "{}", String::from_utf8_lossy(&first.2));
    let hash = resetkit::domain::PresentedKey(STAFF_KEY).hash();
    app.stack
        .dynamodb
        .update_item()
        .table_name(&app.stack.store.tables().api_keys)
        .key("key_hash", AttributeValue::S(hash.as_ref().to_owned()))
        .update_expression("SET active = :no")
        .expression_attribute_values(":no", AttributeValue::Bool(false))
        .send()
        .await
        .expect("revoke the key");

    // Act
    let retry = call().await;

    // Assert
    let body = String::from_utf8_lossy(&retry.2);
    assert_eq!(retry.0, 401, "{body}");
    assert!(!retry.1.contains_key("idempotent-replayed"));
    assert!(
        !body.contains("verification_code\":\""),
        "no code in: {body}"
    );
}
