//! What the courier asks of its queues besides taking messages off them.

use std::future::Future;
use std::time::Duration;

use aws_sdk_sqs::error::DisplayErrorContext;
use resetkit::adapters::sqs::SqsQueue;
use resetkit::ports::QueueError;

/// SQS's longest visibility timeout: 12 hours.
const MAX_VISIBILITY: Duration = Duration::from_secs(12 * 3600);

pub trait CourierQueues: Send + Sync {
    /// Makes the message with `receipt_handle` visible again after `delay` (instead of the
    /// queue's visibility timeout): the retry's backoff.
    fn retry_in(
        &self,
        receipt_handle: &str,
        delay: Duration,
    ) -> impl Future<Output = Result<(), QueueError>> + Send;

    /// Puts `body` on the dead-letter queue, as it came.
    fn dead_letter(&self, body: &str) -> impl Future<Output = Result<(), QueueError>> + Send;
}

/// The job queue and its dead-letter queue on SQS.
pub struct SqsQueues {
    jobs: SqsQueue,
    dead_letters: SqsQueue,
}

impl SqsQueues {
    pub fn new(jobs: SqsQueue, dead_letters: SqsQueue) -> Self {
        Self { jobs, dead_letters }
    }

    pub fn jobs(&self) -> &SqsQueue {
        &self.jobs
    }

    pub fn dead_letters(&self) -> &SqsQueue {
        &self.dead_letters
    }
}

fn queue_error<E: std::error::Error + Send + Sync + 'static>(
    e: aws_sdk_sqs::error::SdkError<E, aws_sdk_sqs::config::http::HttpResponse>,
) -> QueueError {
    QueueError(DisplayErrorContext(e).to_string().into())
}

impl CourierQueues for SqsQueues {
    async fn retry_in(&self, receipt_handle: &str, delay: Duration) -> Result<(), QueueError> {
        // Whole seconds, rounded up: a retry never comes back early.
        let secs = delay.min(MAX_VISIBILITY).as_secs_f64().ceil() as i32;
        self.jobs
            .client()
            .change_message_visibility()
            .queue_url(self.jobs.url())
            .receipt_handle(receipt_handle)
            .visibility_timeout(secs)
            .send()
            .await
            .map(|_| ())
            .map_err(queue_error)
    }

    async fn dead_letter(&self, body: &str) -> Result<(), QueueError> {
        self.dead_letters
            .client()
            .send_message()
            .queue_url(self.dead_letters.url())
            .message_body(body)
            .send()
            .await
            .map(|_| ())
            .map_err(queue_error)
    }
}
