//! The courier, the bundle's fourth function: it takes the delivery jobs the three
//! functions queue from SQS and sends them through SES and SNS, at the provider's pace.
//!
//! The handler is thin: the service decides what a job needs (`Resetkit::deliver`); the
//! handler tells SQS what became of each message (done, retry after a delay, dead letter)
//! with a partial batch response. [`local`] plays Lambda's event source mapping against a
//! queue on the emulator, for the local stack and the tests.

mod handler;
pub mod local;
mod queues;

pub use handler::handle;
pub use queues::{CourierQueues, SqsQueues};
