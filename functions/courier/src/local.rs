//! Lambda's event source mapping, played locally: receive a batch from the queue, hand it
//! to the handler as the SQS event Lambda would build, delete what the handler did not
//! report as failed. The local stack runs `run`; the tests run `drain`.

use std::collections::HashMap;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use resetkit::ports::{Clock, Metrics, Notifier, RandomSource, Store};
use resetkit::Resetkit;

use crate::queues::SqsQueues;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// One receive (waiting up to `wait` for messages: a long poll, which holds up a
/// single-threaded emulator meanwhile) and its batch; the number of messages received.
pub async fn poll_once<S: Store, N: Notifier, C: Clock, R: RandomSource, M: Metrics>(
    courier: &Resetkit<S, N, C, R, M>,
    queues: &SqsQueues,
    wait: Duration,
) -> Result<usize, Error> {
    let jobs = queues.jobs();
    let received = jobs
        .client()
        .receive_message()
        .queue_url(jobs.url())
        .max_number_of_messages(10)
        .wait_time_seconds(i32::try_from(wait.as_secs()).unwrap_or(20).min(20))
        .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
        .send()
        .await?;
    let messages = received.messages.unwrap_or_default();
    if messages.is_empty() {
        return Ok(0);
    }
    let mut event = SqsEvent::default();
    let mut receipts = HashMap::new();
    for m in &messages {
        let mut record = SqsMessage::default();
        record.message_id = m.message_id.clone();
        record.receipt_handle = m.receipt_handle.clone();
        record.body = m.body.clone();
        record.attributes = m
            .attributes
            .iter()
            .flatten()
            .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
            .collect();
        event.records.push(record);
        if let (Some(id), Some(receipt)) = (&m.message_id, &m.receipt_handle) {
            receipts.insert(id.clone(), receipt.clone());
        }
    }
    let response = crate::handle(courier, queues, event).await;
    for failed in &response.batch_item_failures {
        receipts.remove(&failed.item_identifier);
    }
    if !receipts.is_empty() {
        let entries = receipts
            .into_iter()
            .enumerate()
            .map(|(i, (_, receipt))| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(receipt)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()?;
        jobs.client()
            .delete_message_batch()
            .queue_url(jobs.url())
            .set_entries(Some(entries))
            .send()
            .await?;
    }
    Ok(messages.len())
}

/// Polls for ever, as the event source mapping does (the local stack's courier). Short
/// polls with a pause when the queue is empty, never a long poll: the emulator serves one
/// request at a time, and a long poll would hold up every function meanwhile.
pub async fn run<S: Store, N: Notifier, C: Clock, R: RandomSource, M: Metrics>(
    courier: &Resetkit<S, N, C, R, M>,
    queues: &SqsQueues,
) -> Result<(), Error> {
    loop {
        match poll_once(courier, queues, Duration::ZERO).await {
            Ok(0) => tokio::time::sleep(Duration::from_millis(250)).await,
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e, "receiving from the queue failed; trying again");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Polls until the queue shows no message: everything queued so far is delivered, except
/// retries scheduled for later (invisible until then). Returns how many were received.
pub async fn drain<S: Store, N: Notifier, C: Clock, R: RandomSource, M: Metrics>(
    courier: &Resetkit<S, N, C, R, M>,
    queues: &SqsQueues,
) -> Result<usize, Error> {
    let mut total = 0;
    loop {
        match poll_once(courier, queues, Duration::ZERO).await? {
            0 => return Ok(total),
            n => total += n,
        }
    }
}
