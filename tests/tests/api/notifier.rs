//! The SES v2 / SNS notifier against the emulator, read back from what it captured.

use resetkit::adapters::notify::AwsNotifier;
use resetkit::domain::catalogue::{Content, Letter};
use resetkit::domain::message::{Destination, OutgoingMessage};
use resetkit::domain::{Brand, Catalogue, EmailAddress, FirstName, Locale, PhoneE164, ResetSecret};
use resetkit::ports::{DeliveryError, Notifier};

use crate::helpers::{
    captured_messages, random_hex, sdk_config, spawn_stack, unique_us_mobile, BRAND, SENDER,
};

/// `content` for `to` in English, as the courier writes it.
fn written(
    to: Destination,
    first_name: Option<&FirstName>,
    content: Content<'_>,
) -> OutgoingMessage {
    let locale = Locale::parse("en").expect("en");
    let brand = Brand {
        name: BRAND.into(),
        support: None,
    };
    let letter = Letter {
        locale: &locale,
        brand: &brand,
        first_name,
        requested_at: None,
        place: None,
        content,
    };
    Catalogue::get()
        .expect("the catalogue loads")
        .compose(to, &letter)
        .expect("the message is written")
}

fn staff_code(
    to: Destination,
    first_name: Option<&FirstName>,
    code: &ResetSecret,
) -> OutgoingMessage {
    let content = Content::StaffCode {
        code,
        minutes: 10,
        one_tap_host: "reset.example.com",
    };
    written(to, first_name, content)
}

#[tokio::test]
async fn email_goes_through_ses_and_sms_through_sns_and_both_can_be_read_back() {
    // Arrange
    let stack = spawn_stack().await;
    let notifier = stack.notifier().await;
    let email = EmailAddress::parse(&format!("n-{}@example.com", random_hex(6))).expect("email");
    let phone = PhoneE164::parse(&unique_us_mobile(), None).expect("phone");
    let name = FirstName::parse("Zoë").expect("name");
    let code = ResetSecret::from_presented("482915");

    // Act
    let to_mail = staff_code(Destination::Email(email.clone()), Some(&name), &code);
    notifier.send(&to_mail).await.expect("email accepted");
    notifier
        .send(&staff_code(Destination::Sms(phone.clone()), None, &code))
        .await
        .expect("SMS accepted");

    // Assert
    let captured = captured_messages(&stack.endpoint).await;
    let mails = captured.emails_to(email.as_ref());
    assert_eq!(
        mails.len(),
        1,
        "one email to {email:?}: {:?}",
        captured.emails
    );
    assert_eq!(mails[0].source, SENDER);
    assert_eq!(mails[0].subject, "Demo Salon: your password reset code");
    assert!(
        mails[0].body.contains("482915") && mails[0].body.contains("Zoë"),
        "body: {}",
        mails[0].body
    );
    let sms = captured.sms_to(phone.as_ref());
    assert_eq!(sms.len(), 1, "one SMS to {phone:?}: {:?}", captured.sms);
    assert!(sms[0].message.contains("482915"), "sms: {}", sms[0].message);
    assert_eq!(
        sms[0].message.lines().last(),
        Some("@reset.example.com #482915"),
        "the origin-bound line ends the SMS"
    );
}

#[tokio::test]
async fn mail_from_an_unverified_sender_is_rejected_by_the_provider() {
    // Arrange: a sender that was never created as an SES identity.
    let stack = spawn_stack().await;
    let notifier = AwsNotifier::new(
        stack.ses.clone(),
        stack.sns.clone(),
        format!("unknown-{}@unverified.example.com", random_hex(4)),
        None,
    );
    let to = EmailAddress::parse(&format!("r-{}@example.com", random_hex(6))).expect("email");

    // Act
    let sent = notifier
        .send(&written(
            Destination::Email(to.clone()),
            None,
            Content::PasswordChanged,
        ))
        .await;

    // Assert
    match sent {
        Err(DeliveryError::Rejected(reason)) => {
            assert!(!reason.contains(to.as_ref()), "no address in: {reason}")
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert!(captured_messages(&stack.endpoint)
        .await
        .emails_to(to.as_ref())
        .is_empty());
}

#[tokio::test]
async fn an_unreachable_provider_is_unavailable() {
    // Arrange: clients pointed at a port where nothing listens.
    let sdk = sdk_config("http://127.0.0.1:9").await;
    let notifier = AwsNotifier::new(
        aws_sdk_sesv2::Client::new(&sdk),
        aws_sdk_sns::Client::new(&sdk),
        SENDER.to_owned(),
        None,
    );
    let phone = PhoneE164::parse(&unique_us_mobile(), None).expect("phone");

    // Act
    let sent = notifier
        .send(&written(
            Destination::Sms(phone),
            None,
            Content::PasswordChanged,
        ))
        .await;

    // Assert
    assert!(
        matches!(sent, Err(DeliveryError::Unavailable(_))),
        "got {sent:?}"
    );
}
