//! resetkit: the password-reset domain shared by the three Lambda functions.
//!
//! - [`domain`]: values that are valid by construction, and the pure rules over them.
//! - [`ports`]: what the domain needs from the outside world (storage, delivery, clock,
//!   randomness), stated as traits with their contracts.
//! - [`service`]: one use case per module, generic over the ports.
//! - [`inbound`]: the HTTP side the three functions share: reading requests, the
//!   `Idempotency-Key` wrapper, [`inbound::Problem`] and the one `serve` entry.
//! - [`adapters`]: DynamoDB, SES v2, SNS and in-memory implementations of the ports.
//! - [`config`]: typed settings, read once per cold start.
//!
//! Behind the `testkit` feature, never in a function's production build: the demo people and
//! keys ([`demo`]), the memory-backed service for handler tests ([`testing`]) and the suite
//! every storage adapter must pass ([`store_suite`]).

pub mod adapters;
pub mod config;
pub mod domain;
pub mod inbound;
pub mod ports;
pub mod service;

pub use service::Resetkit;

#[cfg(any(test, feature = "testkit"))]
pub mod demo;
#[cfg(any(test, feature = "testkit"))]
pub mod store_suite;
#[cfg(any(test, feature = "testkit"))]
pub mod testing;
