//! Contract C: `POST /user/password/reset`, ServiceStack-style password confirm.

pub mod contract;
mod format;
mod handler;

pub use handler::handle;
