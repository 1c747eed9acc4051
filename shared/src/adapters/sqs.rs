//! The delivery queue on SQS: the functions put jobs on it; the courier's event source
//! mapping takes them off (the courier function handles retries and the dead-letter queue).

use crate::domain::DeliveryJob;
use crate::ports::{DeliveryQueue, QueueError};

#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl SqsQueue {
    pub fn new(client: aws_sdk_sqs::Client, url: String) -> Self {
        Self { client, url }
    }

    pub fn client(&self) -> &aws_sdk_sqs::Client {
        &self.client
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

impl DeliveryQueue for SqsQueue {
    async fn enqueue(&self, job: &DeliveryJob) -> Result<(), QueueError> {
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(job.to_body())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| QueueError(Box::new(aws_sdk_sqs::Error::from(e))))
    }
}
