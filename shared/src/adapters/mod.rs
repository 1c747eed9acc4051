//! Implementations of the ports: AWS services for production, memory for fast tests.

pub mod aws;
pub mod dynamodb;
pub mod emf;
pub mod memory;
pub mod notify;
pub mod sqs;
pub mod ssm;
