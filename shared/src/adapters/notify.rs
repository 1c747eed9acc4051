//! Delivery: email through SES v2, SMS through SNS.
//!
//! A refusal by the provider (bad address, unverified sender, opted-out number) is
//! `Rejected` and carries only the provider's error code, since its message may quote the
//! address. Throttling, server errors, timeouts and the network are `Unavailable`.

use aws_sdk_sesv2::types::{
    Body, Content, Destination as SesDestination, EmailContent, Message, MessageTag,
};
use aws_sdk_sns::types::MessageAttributeValue;
// Both SDKs re-export the same smithy types; SES's names serve for SNS errors too.
use aws_sdk_sesv2::config::http::HttpResponse;
use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};

use crate::domain::message::{Destination, OutgoingMessage};
use crate::ports::{DeliveryError, Notifier};

/// The SNS attribute that routes an SMS as transactional (higher delivery priority than
/// promotional, and not subject to marketing quiet hours).
const SMS_TYPE: &str = "AWS.SNS.SMS.SMSType";

/// Service error codes that mean "try again later", not "this message is refused".
const TRANSIENT: &[&str] = &[
    "TooManyRequestsException",
    "LimitExceededException",
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "InternalError",
    "InternalErrorException",
    "InternalFailure",
    "ServiceUnavailable",
];

#[derive(Debug, Clone)]
pub struct AwsNotifier {
    ses: aws_sdk_sesv2::Client,
    sns: aws_sdk_sns::Client,
    sender: String,
    configuration_set: Option<String>,
}

impl AwsNotifier {
    /// `sender` is the verified SES identity mail is sent from; `configuration_set`, when
    /// given, is named on every email (event publishing, dedicated IPs).
    pub fn new(
        ses: aws_sdk_sesv2::Client,
        sns: aws_sdk_sns::Client,
        sender: String,
        configuration_set: Option<String>,
    ) -> Self {
        Self {
            ses,
            sns,
            sender,
            configuration_set,
        }
    }

    async fn send_email(
        &self,
        to: &str,
        message: &OutgoingMessage,
    ) -> Result<String, DeliveryError> {
        let text = |data: &str| {
            Content::builder()
                .data(data)
                .charset("UTF-8")
                .build()
                .map_err(|e| DeliveryError::Unavailable(Box::new(e)))
        };
        let simple = Message::builder()
            .subject(text(&message.subject)?)
            .body(
                Body::builder()
                    .text(text(&message.text)?)
                    .html(text(&message.html)?)
                    .build(),
            )
            .build();
        self.ses
            .send_email()
            .from_email_address(&self.sender)
            .destination(SesDestination::builder().to_addresses(to).build())
            .content(EmailContent::builder().simple(simple).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .set_email_tags(tags(message))
            .send()
            .await
            .map(|out| out.message_id.unwrap_or_default())
            .map_err(|e| delivery_error(e, |e| Box::new(aws_sdk_sesv2::Error::from(e))))
    }

    async fn send_sms(&self, to: &str, message: &OutgoingMessage) -> Result<String, DeliveryError> {
        let transactional = MessageAttributeValue::builder()
            .data_type("String")
            .string_value("Transactional")
            .build()
            .map_err(|e| DeliveryError::Unavailable(Box::new(e)))?;
        self.sns
            .publish()
            .phone_number(to)
            .message(&message.text)
            .message_attributes(SMS_TYPE, transactional)
            .send()
            .await
            .map(|out| out.message_id.unwrap_or_default())
            .map_err(|e| delivery_error(e, |e| Box::new(aws_sdk_sns::Error::from(e))))
    }
}

/// The tag SES echoes in its event notifications (bounce, complaint, delivery), naming
/// the verification the message carried; `domain::provider_event` reads it back.
pub use crate::domain::provider_event::VERIFICATION_TAG;

fn tags(message: &OutgoingMessage) -> Option<Vec<MessageTag>> {
    let id = message.verification.as_ref()?;
    // Tag names and values are [A-Za-z0-9_-]: a verification id is hex.
    MessageTag::builder()
        .name(VERIFICATION_TAG)
        .value(id.as_ref())
        .build()
        .ok()
        .map(|tag| vec![tag])
}

impl Notifier for AwsNotifier {
    async fn send(&self, message: &OutgoingMessage) -> Result<String, DeliveryError> {
        let result = match &message.to {
            Destination::Email(to) => self.send_email(to.as_ref(), message).await,
            Destination::Sms(to) => self.send_sms(to.as_ref(), message).await,
        };
        if let Err(e) = &result {
            tracing::warn!(to = %message.to.masked(), error = %e, "delivery failed");
        }
        result
    }
}

/// The one mapping from an SDK error to a delivery error, for both services.
fn delivery_error<E: ProvideErrorMetadata>(
    err: SdkError<E, HttpResponse>,
    boxed: impl FnOnce(SdkError<E, HttpResponse>) -> Box<dyn std::error::Error + Send + Sync>,
) -> DeliveryError {
    if let SdkError::ServiceError(ctx) = &err {
        let code = ctx.err().code();
        let transient =
            ctx.raw().status().as_u16() >= 500 || code.is_some_and(|c| TRANSIENT.contains(&c));
        if !transient {
            return DeliveryError::Rejected(code.unwrap_or("unknown provider error").to_owned());
        }
    }
    DeliveryError::Unavailable(boxed(err))
}
