//! The three contracts end to end on the production wiring: handlers over the DynamoDB
//! store and the SES v2 / SNS notifier, on the emulator. Codes and links are read back from
//! the messages the emulator captured, as the person would read them.

use futures::future::join_all;
use serde_json::{json, Value};

use crate::helpers::{
    captured_messages, link_param, spawn_app, spawn_app_with, staff_code, TestApp,
};

const NEW_PASSWORD: &str = "a tangerine rowboat at dusk";

fn confirm_with_verification(vid: &str, code: &str, password: &str) -> Value {
    json!({"VerificationId": vid, "TemporaryPassword": code, "Password": password, "PasswordConfirm": password})
}

fn confirm_with_lead(lead: &str, secret: &str, password: &str) -> Value {
    json!({"LeadId": lead, "TemporaryPassword": secret, "Password": password, "PasswordConfirm": password})
}

fn reset_link_sent() -> Vec<u8> {
    json!({"Status": "Success", "Message": "Reset link sent successfully"})
        .to_string()
        .into_bytes()
}

/// The `SystemUserId` line `resetctl ids <user id>` prints for the person, as a number, and
/// checks that `resetctl ids <that number>` names the same person.
async fn printed_system_user_id(app: &TestApp, id: &resetkit::domain::UserId) -> i64 {
    let printed = resetctl::people::person_ids(&app.stack.store, id.as_ref())
        .await
        .unwrap_or_else(|e| panic!("resetctl ids {id}: {e}"))
        .to_string();
    let number: i64 = printed
        .lines()
        .find_map(|l| l.strip_prefix("SystemUserId "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no SystemUserId number in {printed:?}"));
    let back = resetctl::people::person_ids(&app.stack.store, &number.to_string())
        .await
        .unwrap_or_else(|e| panic!("resetctl ids {number}: {e}"));
    assert_eq!(&back.user_id, id, "both ids name the same person");
    number
}

/// The last message to `email`, which must exist.
async fn last_email_body(app: &TestApp, email: &str) -> String {
    let captured = captured_messages(&app.stack.endpoint).await;
    let mails = captured.emails_to(email);
    mails
        .last()
        .unwrap_or_else(|| panic!("no mail to {email}"))
        .body
        .clone()
}

#[tokio::test]
async fn a_guest_reset_mails_a_code_that_sets_the_password_once() {
    // Arrange
    let app = spawn_app().await;
    let guest = app.person("Inês").await;

    // Act: staff ask for the reset; the guest reads the code from the mail and uses it.
    let (status, issued) = app
        .post_guest_reset(
            resetkit::demo::STAFF_KEY,
            &json!({"email": guest.email.to_uppercase()}),
        )
        .await;
    assert_eq!(status, 200, "{issued}");
    let code = staff_code(&last_email_body(&app, &guest.email).await);
    let vid = issued["verification_id"]
        .as_str()
        .expect("verification_id")
        .to_owned();
    let (status, confirmed) = app
        .post_confirm(&confirm_with_verification(&vid, &code, NEW_PASSWORD))
        .await;
    let (again, _) = app
        .post_confirm(&confirm_with_verification(
            &vid,
            &code,
            "another fine password 42",
        ))
        .await;

    // Assert
    assert_eq!(
        (
            issued["success"].clone(),
            issued["user_id"].clone(),
            issued["matched_with"].clone()
        ),
        (json!(true), json!(guest.id.as_ref()), json!(2))
    );
    assert_eq!(
        issued["verification_code"],
        json!(code),
        "staff see the code that was mailed"
    );
    assert_eq!(
        (
            status,
            confirmed["WasSuccessful"].clone(),
            confirmed["SystemUserId"].clone()
        ),
        (
            200,
            json!(true),
            json!(printed_system_user_id(&app, &guest.id).await)
        ),
        "{confirmed}"
    );
    assert_eq!(again, 400, "a code works once");
    let user = app.user(&guest.id).await;
    assert_eq!(user.credential_version, 1);
    assert!(user
        .password_hash
        .as_ref()
        .is_some_and(|h| h.verifies(NEW_PASSWORD)));
    let captured = captured_messages(&app.stack.endpoint).await;
    let subjects: Vec<&str> = captured
        .emails_to(&guest.email)
        .iter()
        .map(|m| m.subject.as_str())
        .collect();
    assert_eq!(
        subjects,
        [
            "Demo Salon: your password reset code",
            "Demo Salon: your password was changed"
        ]
    );
}

#[tokio::test]
async fn a_guest_reset_by_mobile_on_the_sms_channel_texts_the_code() {
    // Arrange
    let app = spawn_app().await;
    let guest = app.person("Rui").await;

    // Act
    let body = json!({"mobile": guest.mobile, "channel": "sms"});
    let (status, issued) = app.post_guest_reset(resetkit::demo::STAFF_KEY, &body).await;

    // Assert
    assert_eq!(
        (status, issued["matched_with"].clone()),
        (200, json!(3)),
        "{issued}"
    );
    let captured = captured_messages(&app.stack.endpoint).await;
    let texts = captured.sms_to(&guest.mobile);
    assert_eq!(
        texts.len(),
        1,
        "one SMS to {}: {:?}",
        guest.mobile,
        captured.sms
    );
    assert_eq!(
        staff_code(&texts[0].message),
        issued["verification_code"].as_str().expect("code")
    );
    assert!(
        captured.emails_to(&guest.email).is_empty(),
        "nothing mailed when SMS was asked for"
    );
}

#[tokio::test]
async fn forgot_password_mails_a_link_whose_secret_sets_the_password() {
    // Arrange
    let app = spawn_app().await;
    let person = app.person("Ana").await;

    // Act
    let (status, _, body) = app
        .post_forgot_password(
            resetkit::demo::PORTAL_KEY,
            &json!({"EmailAddress": person.email}),
        )
        .await;
    let mail = last_email_body(&app, &person.email).await;
    let (lead, secret) = (
        link_param(&mail, "LeadId"),
        link_param(&mail, "TemporaryPassword"),
    );
    let (confirmed, reply) = app
        .post_confirm(&confirm_with_lead(&lead, &secret, NEW_PASSWORD))
        .await;

    // Assert
    assert_eq!((status, body), (200, reset_link_sent()));
    assert_eq!(lead, person.id.as_ref());
    assert!(secret.len() >= 22, "at least 128 bits, URL-safe: {secret}");
    assert_eq!(
        (confirmed, reply["SystemUserId"].clone()),
        (200, json!(printed_system_user_id(&app, &person.id).await)),
        "{reply}"
    );
    assert!(app
        .user(&person.id)
        .await
        .password_hash
        .is_some_and(|h| h.verifies(NEW_PASSWORD)));
}

#[tokio::test]
async fn forgot_password_to_a_phone_recipient_field_texts_the_link() {
    // Arrange: found by a unique text field, delivered to the `Phone` field by SMS.
    let app = spawn_app().await;
    let person = app.person("Nuno").await;
    let body = json!({
        "SearchKeyData": {"SchemaName": "mx_Member_Code", "Value": person.member_code},
        "RecipientField": {"SchemaName": "Phone"},
    });

    // Act
    let (status, _, answer) = app
        .post_forgot_password(resetkit::demo::PORTAL_KEY, &body)
        .await;

    // Assert
    assert_eq!((status, answer), (200, reset_link_sent()));
    let captured = captured_messages(&app.stack.endpoint).await;
    let texts = captured.sms_to(&person.phone);
    assert_eq!(
        texts.len(),
        1,
        "one SMS to the Phone field {}: {:?}",
        person.phone,
        captured.sms
    );
    assert_eq!(link_param(&texts[0].message, "LeadId"), person.id.as_ref());
    let home = captured.emails_to(&person.email);
    assert_eq!(home.len(), 1, "the person's own address is told, once");
    assert_eq!(
        home[0].subject,
        "Demo Salon: a password reset link was sent"
    );
    assert!(
        !home[0].body.contains("TemporaryPassword"),
        "the notice carries no link"
    );
    assert!(captured.sms_to(&person.mobile).is_empty());
    let secret = link_param(&texts[0].message, "TemporaryPassword");
    let (confirmed, _) = app
        .post_confirm(&confirm_with_lead(
            person.id.as_ref(),
            &secret,
            NEW_PASSWORD,
        ))
        .await;
    assert_eq!(confirmed, 200);
}

/// Messages the emulator captured for demo John's links, by channel: (mails, texts).
async fn links_for_john(app: &TestApp) -> (usize, usize) {
    let captured = captured_messages(&app.stack.endpoint).await;
    let lead = format!("LeadId={}", resetkit::demo::JOHN);
    let mails = captured
        .emails_to("johnwick@example.com")
        .iter()
        .filter(|m| m.body.contains(&lead))
        .count();
    let texts = captured
        .sms_to("+14157415569")
        .iter()
        .filter(|m| m.message.contains(&lead))
        .count();
    (mails, texts)
}

#[tokio::test]
async fn leadsquareds_documented_samples_answer_as_documented_on_the_documented_channel() {
    // Arrange: demo John is the documentation's lead (johnwick@example.com, Phone
    // +14-157415569); the bodies are the vendor page's, byte for byte. Without the recipient
    // cool-down, since all three go to John one after another.
    let app = spawn_app_with(&[(resetkit::config::RECIPIENT_COOLDOWN_SECONDS, "0")]).await;
    let samples = [
        ("{\n  \"EmailAddress\": \"johnwick@example.com\"\n}", (1, 0)),
        (
            "{\n\"SearchKeyData\":{\n\"SchemaName\":\"Phone\",\n\"Value\":\"+14-157415569\"\n}\n}",
            (1, 0),
        ),
        (
            "{\n\"SearchKeyData\":{\n\"SchemaName\":\"Phone\",\n\"Value\":\"+14-157415569\"\n},\n\"RecipientField\":{\n\"SchemaName\":\"Phone\"\n}\n}",
            (0, 1),
        ),
    ];
    for (body, (mails, texts)) in samples {
        let before = links_for_john(&app).await;

        // Act
        let (status, _, answer) = app
            .post_forgot_password_bytes(resetkit::demo::PORTAL_KEY, body)
            .await;

        // Assert: the documented answer, and the link on the documented channel only.
        assert_eq!((status, answer), (200, reset_link_sent()), "{body}");
        let after = links_for_john(&app).await;
        assert_eq!(
            (after.0 - before.0, after.1 - before.1),
            (mails, texts),
            "(mails, texts) for {body}"
        );
    }
}

#[tokio::test]
async fn a_stage_without_recipient_cooldown_issues_two_codes_back_to_back() {
    // Arrange
    let app = spawn_app_with(&[(resetkit::config::RECIPIENT_COOLDOWN_SECONDS, "0")]).await;
    let guest = app.person("Leonor").await;
    let body = json!({"email": guest.email});

    // Act
    let (first, a) = app.post_guest_reset(resetkit::demo::STAFF_KEY, &body).await;
    let (second, b) = app.post_guest_reset(resetkit::demo::STAFF_KEY, &body).await;

    // Assert
    assert_eq!((first, second), (200, 200), "{a} {b}");
    assert_ne!(a["verification_id"], b["verification_id"]);
    let captured = captured_messages(&app.stack.endpoint).await;
    assert_eq!(captured.emails_to(&guest.email).len(), 2);
}

#[tokio::test]
async fn forgot_password_for_nobody_answers_the_same_bytes_and_sends_nothing() {
    // Arrange
    let app = spawn_app().await;
    let known = app.person("Eva").await;
    let unknown = format!("nobody-{}@example.com", crate::helpers::random_hex(6));

    // Act
    let for_known = app
        .post_forgot_password(
            resetkit::demo::PORTAL_KEY,
            &json!({"EmailAddress": known.email}),
        )
        .await;
    let for_unknown = app
        .post_forgot_password(
            resetkit::demo::PORTAL_KEY,
            &json!({"EmailAddress": unknown}),
        )
        .await;

    // Assert
    assert_eq!(for_known, for_unknown);
    let captured = captured_messages(&app.stack.endpoint).await;
    assert_eq!(captured.emails_to(&known.email).len(), 1);
    assert!(captured.emails_to(&unknown).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_twenty_concurrent_confirms_with_one_code_exactly_one_wins_and_its_hash_is_stored() {
    // Arrange
    let app = spawn_app().await;
    let guest = app.person("Tomás").await;
    let (_, issued) = app
        .post_guest_reset(resetkit::demo::STAFF_KEY, &json!({"email": guest.email}))
        .await;
    let vid = issued["verification_id"]
        .as_str()
        .expect("verification_id")
        .to_owned();
    let code = staff_code(&last_email_body(&app, &guest.email).await);
    let passwords: Vec<String> = (0..20)
        .map(|i| format!("racing contender number {i:02} wins"))
        .collect();

    // Act: twenty clients race with the same code, each with its own new password.
    let bodies: Vec<Value> = passwords
        .iter()
        .map(|p| confirm_with_verification(&vid, &code, p))
        .collect();
    let answers = join_all(bodies.iter().map(|body| app.post_confirm(body))).await;

    // Assert
    let winners: Vec<&String> = passwords
        .iter()
        .zip(&answers)
        .filter(|(_, (status, _))| *status == 200)
        .map(|(p, _)| p)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one winner: {answers:?}");
    assert!(
        answers
            .iter()
            .all(|(status, _)| *status == 200 || *status == 400),
        "{answers:?}"
    );
    let user = app.user(&guest.id).await;
    let stored = user.password_hash.expect("a password was set");
    assert!(
        stored.verifies(winners[0]),
        "the stored hash is the winner's"
    );
    assert_eq!(passwords.iter().filter(|p| stored.verifies(p)).count(), 1);
    assert_eq!(user.credential_version, 1);
}

#[tokio::test]
async fn an_expired_code_still_in_the_table_is_refused() {
    // Arrange: codes live one second; the emulator, like DynamoDB, deletes expired items late.
    let app = spawn_app_with(&[(resetkit::config::CODE_TTL_SECONDS, "1")]).await;
    let guest = app.person("Leonor").await;
    let (_, issued) = app
        .post_guest_reset(resetkit::demo::STAFF_KEY, &json!({"email": guest.email}))
        .await;
    let vid = issued["verification_id"]
        .as_str()
        .expect("verification_id")
        .to_owned();
    let code = issued["verification_code"]
        .as_str()
        .expect("code")
        .to_owned();

    // Act
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (status, reply) = app
        .post_confirm(&confirm_with_verification(&vid, &code, NEW_PASSWORD))
        .await;

    // Assert
    assert_eq!(
        (status, reply["ResponseStatus"]["ErrorCode"].clone()),
        (400, json!("InvalidOrExpiredCode"))
    );
    let item = app
        .stack
        .dynamodb
        .get_item()
        .table_name(&app.stack.store.tables().verifications)
        .key(
            "verification_id",
            aws_sdk_dynamodb::types::AttributeValue::S(vid.clone()),
        )
        .send()
        .await
        .expect("get_item");
    assert!(
        item.item.is_some(),
        "the record is still in the table, so expiry was checked on read"
    );
    assert_eq!(app.user(&guest.id).await.credential_version, 0);
}
