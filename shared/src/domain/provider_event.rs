//! What SES tells afterwards about a message it accepted: delivered, bounced, complained.
//!
//! SES publishes these through a configuration set's event destination to an SNS topic,
//! whose subscription puts them on the courier's queue as SNS envelopes (raw delivery off):
//! `{"Type": "Notification", "Message": "<the SES event as a JSON string>", …}`. The event
//! is SES's documented JSON ("Contents of event data that Amazon SES publishes to Amazon
//! SNS"): `eventType`, `mail` (with `messageId` and the message's `tags`), and `bounce`,
//! `complaint` or `delivery`. Parsed once here into a [`ProviderEvent`]; nothing else reads
//! the JSON.

use serde::Deserialize;
use std::collections::HashMap;
use thiserror::Error;

use super::code::CodeKeys;
use super::identifiers::{EmailAddress, VerificationId};
use super::message::Destination;
use super::time::Timestamp;

/// The SES message tag naming the verification a message carried (set on every send, see
/// `adapters::notify`), echoed by SES in `mail.tags`.
pub const VERIFICATION_TAG: &str = "resetkit-verification";

/// One SES notification about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderEvent {
    /// SES's id of the message, as its send returned it.
    pub message_id: String,
    /// The verification the message carried, when it carried our tag (a notice carries
    /// none; mail sent through the same configuration set by others neither).
    pub verification: Option<VerificationId>,
    pub kind: ProviderEventKind,
    /// The addresses the event is about, those that parse as addresses (SES reports each
    /// address as the message named it).
    pub recipients: Vec<EmailAddress>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderEventKind {
    /// The receiving server accepted the message.
    Delivered,
    /// `Permanent`: the address does not take mail, and never will (a hard bounce).
    HardBounce,
    /// `Transient` or `Undetermined`: it may take mail later (a full mailbox, a message too
    /// large, a server that gave up for now).
    SoftBounce,
    /// The person marked the message as spam.
    Complaint,
    /// Any other event type (Send, Reject, Open, …): nothing to record.
    Other,
}

impl ProviderEventKind {
    /// Whether the address must get no more mail until an operator clears it.
    pub fn suppresses(self) -> bool {
        self.suppression().is_some()
    }
}

/// A queue message that looked like an SNS notification but does not carry an SES event
/// this parser understands. Holds only the parser's reason, never the message (which
/// names addresses).
#[derive(Debug, Error, PartialEq, Eq)]
#[error("not an SES event notification: {0}")]
pub struct ProviderEventError(String);

/// The SNS envelope, as SNS delivers a notification to an SQS subscription.
#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(rename = "Message")]
    message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesEvent {
    // Feedback notifications set on an identity (not event publishing) call it
    // `notificationType`; they carry no tags, but their bounces still suppress.
    #[serde(alias = "notificationType")]
    event_type: String,
    mail: Mail,
    bounce: Option<Bounce>,
    complaint: Option<Complaint>,
    delivery: Option<Delivered>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Mail {
    message_id: String,
    #[serde(default)]
    tags: HashMap<String, Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bounce {
    bounce_type: String,
    #[serde(default)]
    bounced_recipients: Vec<Recipient>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Complaint {
    #[serde(default)]
    complained_recipients: Vec<Recipient>,
}

#[derive(Deserialize)]
struct Delivered {
    #[serde(default)]
    recipients: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Recipient {
    email_address: String,
}

impl ProviderEvent {
    /// Whether a queue message body is an SNS notification (the courier's queue holds
    /// delivery jobs and these): an object whose `Type` is `Notification`.
    pub fn is_notification(body: &str) -> bool {
        #[derive(Deserialize)]
        struct Probe {
            #[serde(rename = "Type")]
            kind: Option<String>,
        }
        serde_json::from_str::<Probe>(body).is_ok_and(|p| p.kind.as_deref() == Some("Notification"))
    }

    /// Parses an SNS notification envelope whose `Message` is an SES event.
    pub fn from_sns(body: &str) -> Result<Self, ProviderEventError> {
        let envelope: Envelope =
            serde_json::from_str(body).map_err(|e| ProviderEventError(e.to_string()))?;
        if envelope.kind != "Notification" {
            return Err(ProviderEventError(format!(
                "SNS message of type {}",
                envelope.kind
            )));
        }
        Self::from_ses(&envelope.message)
    }

    /// Parses the SES event itself.
    pub fn from_ses(json: &str) -> Result<Self, ProviderEventError> {
        let bad = |what: &str| ProviderEventError(what.to_owned());
        let event: SesEvent =
            serde_json::from_str(json).map_err(|e| ProviderEventError(e.to_string()))?;
        let (kind, recipients): (_, Vec<String>) = match event.event_type.as_str() {
            "Bounce" => {
                let bounce = event.bounce.ok_or_else(|| bad("a Bounce without bounce"))?;
                let kind = match bounce.bounce_type.as_str() {
                    "Permanent" => ProviderEventKind::HardBounce,
                    "Transient" | "Undetermined" => ProviderEventKind::SoftBounce,
                    _ => return Err(bad("unknown bounceType")),
                };
                let to = bounce.bounced_recipients.into_iter();
                (kind, to.map(|r| r.email_address).collect())
            }
            "Complaint" => {
                let complaint = event
                    .complaint
                    .ok_or_else(|| bad("a Complaint without complaint"))?;
                let to = complaint.complained_recipients.into_iter();
                (
                    ProviderEventKind::Complaint,
                    to.map(|r| r.email_address).collect(),
                )
            }
            "Delivery" => {
                let delivery = event
                    .delivery
                    .ok_or_else(|| bad("a Delivery without delivery"))?;
                (ProviderEventKind::Delivered, delivery.recipients)
            }
            _ => (ProviderEventKind::Other, Vec::new()),
        };
        // A tag that is not one of our ids is someone else's: the event is then about no
        // verification of ours.
        let verification = event
            .mail
            .tags
            .get(VERIFICATION_TAG)
            .and_then(|values| values.first())
            .and_then(|id| VerificationId::parse(id).ok());
        Ok(Self {
            message_id: event.mail.message_id,
            verification,
            kind,
            recipients: recipients
                .iter()
                .filter_map(|a| EmailAddress::parse(a).ok())
                .collect(),
        })
    }
}

/// An address the courier sends nothing to until an operator clears it, as the guards
/// table names it: by a pseudonym under the stage's code keys, never in clear.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SuppressionKey(String);

impl SuppressionKey {
    const PURPOSE: &'static str = "suppressed";

    /// The key a suppression of `to` is written under: the newest secret's.
    pub fn of(keys: &CodeKeys, to: &Destination) -> Self {
        Self(keys.pseudonym(Self::PURPOSE, address(to)))
    }

    /// The keys a suppression of `to` may be found under, newest secret first: one written
    /// before a rotation is still found, until the old secret is dropped.
    pub fn all(keys: &CodeKeys, to: &Destination) -> Vec<Self> {
        keys.pseudonyms(Self::PURPOSE, address(to))
            .into_iter()
            .map(Self)
            .collect()
    }
}

fn address(to: &Destination) -> &str {
    match to {
        Destination::Email(e) => e.as_ref(),
        Destination::Sms(p) => p.as_ref(),
    }
}

impl AsRef<str> for SuppressionKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Why an address is suppressed, and since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    pub reason: SuppressionReason,
    pub since: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuppressionReason {
    /// A permanent bounce.
    Bounce,
    Complaint,
}

impl SuppressionReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SuppressionReason::Bounce => "bounce",
            SuppressionReason::Complaint => "complaint",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "bounce" => Some(SuppressionReason::Bounce),
            "complaint" => Some(SuppressionReason::Complaint),
            _ => None,
        }
    }
}

impl ProviderEventKind {
    /// The suppression the event calls for, if any: a hard bounce or a complaint.
    pub fn suppression(self) -> Option<SuppressionReason> {
        match self {
            ProviderEventKind::HardBounce => Some(SuppressionReason::Bounce),
            ProviderEventKind::Complaint => Some(SuppressionReason::Complaint),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ID: &str = "0123456789abcdef0123456789abcdef";

    fn mail(tags: serde_json::Value) -> serde_json::Value {
        // As SES documents it ("Examples of event data that Amazon SES publishes to Amazon SNS").
        json!({
            "timestamp": "2017-08-05T00:40:02.012Z",
            "source": "Sender Name <sender@example.com>",
            "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/sender@example.com",
            "sendingAccountId": "123456789012",
            "messageId": "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
            "destination": ["recipient@example.com"],
            "headersTruncated": false,
            "headers": [{"name": "To", "value": "recipient@example.com"}],
            "commonHeaders": {"from": ["Sender Name <sender@example.com>"], "to": ["recipient@example.com"],
                "messageId": "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
                "subject": "Message sent from Amazon SES"},
            "tags": tags,
        })
    }

    fn our_tags() -> serde_json::Value {
        json!({
            "ses:configuration-set": ["ConfigSet"],
            "ses:source-ip": ["192.0.2.0"],
            "ses:from-domain": ["example.com"],
            "ses:caller-identity": ["ses_user"],
            VERIFICATION_TAG: [ID],
        })
    }

    fn bounce(bounce_type: &str, tags: serde_json::Value) -> serde_json::Value {
        json!({
            "eventType": "Bounce",
            "bounce": {
                "bounceType": bounce_type,
                "bounceSubType": "General",
                "bouncedRecipients": [{"emailAddress": "Recipient@Example.com", "action": "failed",
                    "status": "5.1.1", "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
                "timestamp": "2017-08-05T00:41:02.669Z",
                "feedbackId": "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000",
                "reportingMTA": "dsn; mta.example.com"
            },
            "mail": mail(tags),
        })
    }

    fn complaint() -> serde_json::Value {
        json!({
            "eventType": "Complaint",
            "complaint": {
                "complainedRecipients": [{"emailAddress": "recipient@example.com"}],
                "timestamp": "2017-08-05T00:41:02.669Z",
                "feedbackId": "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000",
                "userAgent": "Mozilla/5.0",
                "complaintFeedbackType": "abuse",
                "arrivalDate": "2017-08-05T00:41:02.669Z"
            },
            "mail": mail(our_tags()),
        })
    }

    /// As SNS puts it on an SQS queue without raw message delivery.
    fn sns(event: &serde_json::Value) -> String {
        json!({
            "Type": "Notification",
            "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:resetkit-dev-ses-events",
            "Message": event.to_string(),
            "Timestamp": "2017-08-05T00:41:03.000Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-example.pem",
            "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"
        })
        .to_string()
    }

    fn ours() -> Option<VerificationId> {
        VerificationId::parse(ID).ok()
    }

    #[test]
    fn a_permanent_bounce_names_the_verification_and_the_address() {
        let body = sns(&bounce("Permanent", our_tags()));
        assert!(ProviderEvent::is_notification(&body));
        let event = ProviderEvent::from_sns(&body).expect("parses");
        assert_eq!(event.kind, ProviderEventKind::HardBounce);
        assert!(event.kind.suppresses());
        assert_eq!(event.verification, ours());
        assert_eq!(
            event.message_id,
            "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000"
        );
        assert_eq!(
            event.recipients,
            vec![EmailAddress::parse("recipient@example.com").expect("address")]
        );
    }

    #[test]
    fn a_complaint_suppresses() {
        let event = ProviderEvent::from_sns(&sns(&complaint())).expect("parses");
        assert_eq!(event.kind, ProviderEventKind::Complaint);
        assert!(event.kind.suppresses());
        assert_eq!(event.verification, ours());
        assert_eq!(event.recipients.len(), 1);
    }

    #[test]
    fn transient_and_undetermined_bounces_do_not_suppress() {
        for kind in ["Transient", "Undetermined"] {
            let event = ProviderEvent::from_sns(&sns(&bounce(kind, our_tags()))).expect("parses");
            assert_eq!(event.kind, ProviderEventKind::SoftBounce, "{kind}");
            assert!(!event.kind.suppresses());
        }
    }

    #[test]
    fn a_delivery_confirms_only() {
        let delivery = json!({
            "eventType": "Delivery",
            "mail": mail(our_tags()),
            "delivery": {"timestamp": "2016-10-19T23:20:52.240Z", "processingTimeMillis": 546,
                "recipients": ["recipient@example.com"], "smtpResponse": "250 ok",
                "reportingMTA": "a8-70.smtp-out.amazonses.com"}
        });
        let event = ProviderEvent::from_sns(&sns(&delivery)).expect("parses");
        assert_eq!(event.kind, ProviderEventKind::Delivered);
        assert!(!event.kind.suppresses());
    }

    #[test]
    fn an_event_without_our_tag_names_no_verification() {
        let tags = json!({"ses:configuration-set": ["ConfigSet"], "other": ["x"]});
        let event = ProviderEvent::from_sns(&sns(&bounce("Permanent", tags))).expect("parses");
        assert_eq!(event.verification, None);
        assert!(event.kind.suppresses(), "the address bounced all the same");
        let foreign = json!({VERIFICATION_TAG: ["not-an-id"]});
        let event = ProviderEvent::from_sns(&sns(&bounce("Permanent", foreign))).expect("parses");
        assert_eq!(event.verification, None);
        let mut untagged = bounce("Permanent", json!({}));
        untagged["mail"]
            .as_object_mut()
            .expect("object")
            .remove("tags");
        assert!(ProviderEvent::from_sns(&sns(&untagged)).is_ok());
    }

    #[test]
    fn other_event_types_are_recognised_and_ignored() {
        let send = json!({"eventType": "Send", "mail": mail(our_tags()), "send": {}});
        let event = ProviderEvent::from_sns(&sns(&send)).expect("parses");
        assert_eq!(event.kind, ProviderEventKind::Other);
    }

    #[test]
    fn a_suppression_is_found_under_a_secret_rotated_behind_a_newer_one() {
        let to = Destination::Email(EmailAddress::parse("ana@example.com").expect("email"));
        let old = CodeKeys::new(vec![vec![1; 32]]).expect("keys");
        let rotated = CodeKeys::new(vec![vec![2; 32], vec![1; 32]]).expect("keys");
        let written = SuppressionKey::of(&old, &to);
        let found = SuppressionKey::all(&rotated, &to);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0], SuppressionKey::of(&rotated, &to), "newest first");
        assert_eq!(found[1], written);
        assert_ne!(found[0], written);
        let other = Destination::Email(EmailAddress::parse("bo@example.com").expect("email"));
        assert!(!SuppressionKey::all(&rotated, &other).contains(&written));
    }

    #[test]
    fn garbage_is_refused() {
        let job = r#"{"v":1,"id":"00","task":"password_changed"}"#;
        assert!(!ProviderEvent::is_notification(job));
        assert!(!ProviderEvent::is_notification("not json"));
        assert!(!ProviderEvent::is_notification("[1,2]"));
        for body in [
            "not json".to_owned(),
            json!({"Type": "SubscriptionConfirmation", "Message": "{}"}).to_string(),
            json!({"Type": "Notification", "Message": "not json"}).to_string(),
            json!({"Type": "Notification", "Message": "{}"}).to_string(),
            sns(&json!({"eventType": "Bounce", "mail": mail(our_tags())})),
            sns(&bounce("Sideways", our_tags())),
            sns(&json!({"eventType": "Complaint", "mail": {"tags": {}}})),
        ] {
            assert!(ProviderEvent::from_sns(&body).is_err(), "{body}");
        }
    }
}
