//! The courier's queues on a local stack: named as `template.yaml` names them.

/// The job queue's name after the stage prefix (`resetkit-<stage>-deliveries` in the template).
pub const DELIVERIES: &str = "deliveries";
/// Its dead-letter queue's.
pub const DEAD_LETTERS: &str = "deliveries-dead-letters";

/// Creates (or finds: SQS's `CreateQueue` is idempotent for equal attributes) the delivery
/// queue and its dead-letter queue under `prefix`; returns their URLs. `visibility_secs` is
/// how long a received job stays hidden before it comes back.
pub async fn create_queues(
    client: &aws_sdk_sqs::Client,
    prefix: &str,
    visibility_secs: u32,
) -> Result<(String, String), aws_sdk_sqs::Error> {
    let mut urls = Vec::with_capacity(2);
    for name in [DELIVERIES, DEAD_LETTERS] {
        let created = client
            .create_queue()
            .queue_name(format!("{prefix}{name}"))
            .attributes(
                aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
                visibility_secs.to_string(),
            )
            .send()
            .await?;
        urls.push(created.queue_url.unwrap_or_default());
    }
    Ok((urls.remove(0), urls.remove(0)))
}
