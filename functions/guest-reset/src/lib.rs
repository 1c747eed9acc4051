//! Contract A: `POST /v1/guests/password?reset=true`, Zenoti-compatible guest reset.

pub mod contract;
mod handler;

pub use handler::handle;
