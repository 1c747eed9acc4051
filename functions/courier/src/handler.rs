//! One SQS batch: each message is a delivery job or an SES event notification (bounce,
//! complaint, delivery) in its SNS envelope; the answer lists the messages SQS must deliver
//! again (a partial batch response, `ReportBatchItemFailures`).

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use resetkit::domain::{CourierOutcome, DeliveryJob, ProviderEvent};
use resetkit::ports::{Clock, Metrics, Notifier, RandomSource, Store};
use resetkit::Resetkit;

use crate::queues::CourierQueues;

/// Does every job of `event` and reports the ones to deliver again: deferred sends (after
/// the delay the service chose) and failures of the store or the queues (after the queue's
/// visibility timeout). Never fails as a whole: one bad message must not hold up the rest.
pub async fn handle<S: Store, N: Notifier, C: Clock, R: RandomSource, M: Metrics>(
    courier: &Resetkit<S, N, C, R, M>,
    queues: &impl CourierQueues,
    event: SqsEvent,
) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for message in event.records {
        if !deliver(courier, queues, &message).await {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message.message_id.unwrap_or_default();
            response.batch_item_failures.push(failure);
        }
    }
    response
}

/// Whether SQS may delete `message`.
async fn deliver<S: Store, N: Notifier, C: Clock, R: RandomSource, M: Metrics>(
    courier: &Resetkit<S, N, C, R, M>,
    queues: &impl CourierQueues,
    message: &SqsMessage,
) -> bool {
    let body = message.body.as_deref().unwrap_or_default();
    if ProviderEvent::is_notification(body) {
        return record(courier, queues, body).await;
    }
    let job = match DeliveryJob::parse(body, &courier.settings().fields) {
        Ok(job) => job,
        Err(e) => {
            tracing::error!(error = %e, "not a delivery job; moved to the dead-letter queue");
            return dead_letter(queues, body).await;
        }
    };
    let attempt = message
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    match courier.deliver(&job, attempt).await {
        Ok(CourierOutcome::Done) => true,
        Ok(CourierOutcome::RetryIn(delay)) => {
            let receipt = message.receipt_handle.as_deref().unwrap_or_default();
            if let Err(e) = queues.retry_in(receipt, delay).await {
                // SQS still delivers it again, after the queue's visibility timeout.
                tracing::warn!(error = %e, "could not schedule the retry");
            }
            false
        }
        Ok(CourierOutcome::DeadLetter) => dead_letter(queues, body).await,
        Err(e) => {
            tracing::error!(error = %e, job = job.id.as_ref(), "storage failed; the job will be delivered again");
            false
        }
    }
}

/// An SES notification, recorded; whether SQS may delete it.
async fn record<S: Store, N: Notifier, C: Clock, R: RandomSource, M: Metrics>(
    courier: &Resetkit<S, N, C, R, M>,
    queues: &impl CourierQueues,
    body: &str,
) -> bool {
    let event = match ProviderEvent::from_sns(body) {
        Ok(event) => event,
        Err(e) => {
            tracing::error!(error = %e, "moved to the dead-letter queue");
            return dead_letter(queues, body).await;
        }
    };
    match courier.record_provider_event(&event).await {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(error = %e, message_id = event.message_id, "storage failed; the notification will be delivered again");
            false
        }
    }
}

async fn dead_letter(queues: &impl CourierQueues, body: &str) -> bool {
    match queues.dead_letter(body).await {
        Ok(()) => true,
        Err(e) => {
            // Left on the queue: its redrive policy moves it after enough receives.
            tracing::error!(error = %e, "could not move the job to the dead-letter queue");
            false
        }
    }
}
