use lambda_runtime::{run, service_fn, Error, LambdaEvent};

// One batch at a time per sandbox: a single-threaded runtime starts faster.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let parts = resetkit::adapters::aws::init_courier().await?;
    let queues = courier::SqsQueues::new(parts.queue, parts.dead_letters);
    run(service_fn(|event: LambdaEvent<_>| async {
        Ok::<_, Error>(courier::handle(&parts.courier, &queues, event.payload).await)
    }))
    .await
}
