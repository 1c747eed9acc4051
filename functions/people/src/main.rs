use lambda_http::{run, service_fn, Error};

// One event at a time per sandbox: a single-threaded runtime starts faster.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let service = resetkit::adapters::aws::init().await?;
    run(service_fn(|req| people::handle(&service, req))).await
}
