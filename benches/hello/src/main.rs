//! The cold-start baseline for `scripts/bench.sh`: a `lambda_http` function that does
//! nothing at init and answers every request with a fixed body.

use lambda_http::{run, service_fn, Body, Error, Request, Response};

async fn hello(_req: Request) -> Result<Response<Body>, Error> {
    Ok(Response::new(Body::from("hello")))
}

// The same runtime flavour as the functions' `main.rs`.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(service_fn(hello)).await
}
