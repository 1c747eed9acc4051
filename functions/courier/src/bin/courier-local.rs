//! The courier on a local stack: Lambda's SQS event source mapping, played against the
//! emulator's queue (`scripts/dev.sh` runs it), with the same handler and configuration as
//! the courier function.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), courier::local::Error> {
    let parts = resetkit::adapters::aws::init_courier().await?;
    let queues = courier::SqsQueues::new(parts.queue, parts.dead_letters);
    tracing::info!("courier polling the delivery queue");
    courier::local::run(&parts.courier, &queues).await
}
