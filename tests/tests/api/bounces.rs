//! SES's reports after a send, as SES documents them ("Examples of event data that Amazon
//! SES publishes to Amazon SNS") and as SNS puts them on the courier's queue (the SNS
//! envelope, raw delivery off): the courier marks the verification, audits the event,
//! suppresses the address; nothing more is sent there until `resetctl suppression clear`.

use resetkit::config;
use resetkit::demo::{PORTAL_KEY, STAFF_KEY};
use resetkit::domain::message::Destination;
use resetkit::domain::{AuditAction, Delivery, EmailAddress, SuppressionKey, VerificationId};
use resetkit::ports::{AuditLog, Clock, SuppressionList, SystemClock, VerificationStore};
use serde_json::json;

use crate::helpers::{captured_messages, spawn_app_with, Person, TestApp};

/// Every request sends (no recipient cool-down or budget), so that only a suppression can
/// stop one.
const NO_RECIPIENT_LIMITS: [(&str, &str); 3] = [
    (config::RECIPIENT_COOLDOWN_SECONDS, "0"),
    (config::RECIPIENT_HOURLY_LIMIT, "0"),
    (config::RECIPIENT_CEILING, "0"),
];

fn mail(message_id: &str, verification: &VerificationId, to: &str) -> serde_json::Value {
    json!({
        "timestamp": "2017-08-05T00:40:02.012Z",
        "source": "Sender Name <sender@example.com>",
        "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/sender@example.com",
        "sendingAccountId": "123456789012",
        "messageId": message_id,
        "destination": [to],
        "headersTruncated": false,
        "headers": [{"name": "To", "value": to}],
        "commonHeaders": {"from": ["Sender Name <sender@example.com>"], "to": [to],
            "messageId": message_id, "subject": "Reset your password"},
        "tags": {
            "ses:configuration-set": ["resetkit-test"],
            "ses:source-ip": ["192.0.2.0"],
            "ses:from-domain": ["example.com"],
            "ses:caller-identity": ["resetkit-test-courier"],
            "resetkit-verification": [verification.as_ref()],
        },
    })
}

fn permanent_bounce(
    message_id: &str,
    verification: &VerificationId,
    to: &str,
) -> serde_json::Value {
    json!({
        "eventType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": to, "action": "failed", "status": "5.1.1",
                "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
            "timestamp": "2017-08-05T00:41:02.669Z",
            "feedbackId": "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000",
            "reportingMTA": "dsn; mta.example.com"
        },
        "mail": mail(message_id, verification, to),
    })
}

fn complaint(message_id: &str, verification: &VerificationId, to: &str) -> serde_json::Value {
    json!({
        "eventType": "Complaint",
        "complaint": {
            "complainedRecipients": [{"emailAddress": to}],
            "timestamp": "2017-08-05T00:41:02.669Z",
            "feedbackId": "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000",
            "userAgent": "Mozilla/5.0 (Windows NT 5.1) AppleWebKit/537.36",
            "complaintFeedbackType": "abuse",
            "arrivalDate": "2017-08-05T00:41:02.669Z"
        },
        "mail": mail(message_id, verification, to),
    })
}

/// Puts `event` on the courier's queue as SNS delivers it, and runs the courier.
async fn notify(app: &TestApp, event: &serde_json::Value) {
    let envelope = json!({
        "Type": "Notification",
        "MessageId": crate::helpers::random_hex(16),
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:resetkit-test-ses-events",
        "Message": event.to_string(),
        "Timestamp": "2017-08-05T00:41:03.000Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLE",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-example.pem",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"
    });
    app.stack
        .sqs
        .send_message()
        .queue_url(app.queues.jobs().url())
        .message_body(envelope.to_string())
        .send()
        .await
        .expect("put the notification on the courier's queue");
    app.deliver().await;
}

async fn mails_to(app: &TestApp, person: &Person) -> usize {
    captured_messages(&app.stack.endpoint)
        .await
        .emails_to(&person.email)
        .len()
}

async fn forgot_password(app: &TestApp, person: &Person) {
    let (status, _, _) = app
        .post_forgot_password(PORTAL_KEY, &json!({"EmailAddress": person.email}))
        .await;
    assert_eq!(status, 200);
}

/// The verification the courier sent last to `person`, and SES's message id for it.
async fn sent_verification(app: &TestApp, person: &Person) -> (VerificationId, String) {
    let id = app
        .user(&person.id)
        .await
        .latest_verification
        .expect("a verification was issued");
    match delivery(app, &id).await {
        Delivery::Sent { message_id } => (id, message_id),
        other => panic!("the verification reads {other:?}, not sent"),
    }
}

async fn delivery(app: &TestApp, id: &VerificationId) -> Delivery {
    app.stack
        .store
        .get_verification(id, SystemClock.now())
        .await
        .expect("get_verification")
        .expect("the verification exists")
        .delivery
}

async fn audited(
    app: &TestApp,
    person: &Person,
    action: AuditAction,
) -> Vec<resetkit::domain::AuditEvent> {
    app.stack
        .store
        .user_events(&person.id)
        .await
        .expect("user_events")
        .into_iter()
        .map(|l| l.event)
        .filter(|e| e.action == action)
        .collect()
}

fn suppression_key(app: &TestApp, person: &Person) -> SuppressionKey {
    SuppressionKey::of(
        &app.service.settings().code_keys,
        &Destination::Email(EmailAddress::parse(&person.email).expect("email")),
    )
}

async fn report(app: &TestApp, person: &Person) -> String {
    resetctl::deliveries::deliveries(
        &app.stack.store,
        &app.service.settings().code_keys,
        person.id.as_ref(),
    )
    .await
    .expect("resetctl deliveries")
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hard_bounce_marks_the_verification_and_suppresses_the_address_until_cleared() {
    // Arrange: a link the courier sent.
    let app = spawn_app_with(&NO_RECIPIENT_LIMITS).await;
    let person = app.person("Bea").await;
    forgot_password(&app, &person).await;
    assert_eq!(mails_to(&app, &person).await, 1);
    let (verification, message_id) = sent_verification(&app, &person).await;

    // Act: SES reports a permanent bounce.
    notify(
        &app,
        &permanent_bounce(&message_id, &verification, &person.email),
    )
    .await;

    // Assert: marked, audited (masked), suppressed.
    assert_eq!(delivery(&app, &verification).await, Delivery::Bounced);
    let bounced = audited(&app, &person, AuditAction::Bounced).await;
    assert_eq!(bounced.len(), 1, "{bounced:?}");
    let masked = EmailAddress::parse(&person.email).expect("email").masked();
    assert_eq!(bounced[0].destination.as_deref(), Some(masked.as_str()));
    assert_eq!(bounced[0].detail.as_deref(), Some("permanent"));
    let events = app
        .stack
        .store
        .user_events(&person.id)
        .await
        .expect("user_events");
    assert!(
        !format!("{events:?}").contains(&person.email),
        "the full address is nowhere in the audit"
    );
    let key = suppression_key(&app, &person);
    assert!(app
        .stack
        .store
        .suppression(&key)
        .await
        .expect("read")
        .is_some());

    // The next request sends nothing, and says why.
    forgot_password(&app, &person).await;
    assert_eq!(
        mails_to(&app, &person).await,
        1,
        "nothing sent to a suppressed address"
    );
    let withheld = audited(&app, &person, AuditAction::SendFailed).await;
    assert!(
        withheld
            .iter()
            .any(|e| e.detail.as_deref() == Some("suppressed")),
        "{withheld:?}"
    );
    let refused = app.user(&person.id).await.latest_verification;
    assert_ne!(
        refused.as_ref(),
        Some(&verification),
        "a new one was issued, then withdrawn"
    );

    // resetctl shows the events and the suppression.
    let shown = report(&app, &person).await;
    assert!(
        shown.contains(&format!("email: {masked}, SUPPRESSED (bounce)")),
        "{shown}"
    );
    assert!(shown.contains("code_sent"), "{shown}");
    assert!(shown.contains("bounced"), "{shown}");
    assert!(shown.contains("suppressed"), "{shown}");
    assert!(!shown.contains(&person.email), "{shown}");

    // Cleared, the next request is sent.
    let cleared = resetctl::deliveries::clear_suppression(
        &app.stack.store,
        &app.service.settings().code_keys,
        &person.email,
        SystemClock.now(),
    )
    .await
    .expect("resetctl suppression clear");
    assert!(cleared);
    assert!(app
        .stack
        .store
        .suppression(&key)
        .await
        .expect("read")
        .is_none());
    assert!(report(&app, &person)
        .await
        .contains(&format!("email: {masked}, not suppressed")));
    forgot_password(&app, &person).await;
    assert_eq!(mails_to(&app, &person).await, 2, "sent again once cleared");
    sent_verification(&app, &person).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complaint_about_a_staff_code_marks_it_and_suppresses_the_address() {
    // Arrange: a staff code the courier mailed.
    let app = spawn_app_with(&NO_RECIPIENT_LIMITS).await;
    let person = app.person("Cai").await;
    let (status, issued) = app
        .post_guest_reset(STAFF_KEY, &json!({"email": person.email}))
        .await;
    assert_eq!(status, 200, "{issued}");
    let (verification, message_id) = sent_verification(&app, &person).await;

    // Act
    notify(&app, &complaint(&message_id, &verification, &person.email)).await;

    // Assert
    assert_eq!(delivery(&app, &verification).await, Delivery::Complained);
    assert_eq!(
        audited(&app, &person, AuditAction::Complained).await.len(),
        1
    );
    let shown = report(&app, &person).await;
    assert!(shown.contains("SUPPRESSED (complaint)"), "{shown}");
    assert!(shown.contains("complained"), "{shown}");

    // A second staff code goes nowhere; cleared, it goes again.
    let (status, _) = app
        .post_guest_reset(STAFF_KEY, &json!({"email": person.email}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(mails_to(&app, &person).await, 1);
    assert!(resetctl::deliveries::clear_suppression(
        &app.stack.store,
        &app.service.settings().code_keys,
        &person.email.to_uppercase(),
        SystemClock.now(),
    )
    .await
    .expect("clear"));
    let (status, _) = app
        .post_guest_reset(STAFF_KEY, &json!({"email": person.email}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(mails_to(&app, &person).await, 2);
}
