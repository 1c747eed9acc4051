//! resetctl as a library: what the CLI does, callable from tests and scripts.

pub mod audit;
pub mod captured;
pub mod deliveries;
pub mod guard;
pub mod keys;
pub mod people;
pub mod preview;
pub mod queues;
pub mod tables;

pub use tables::{create_tables, table_specs, TableSpec, TablesError};
