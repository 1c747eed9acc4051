//! Contract B: `POST /api/Authentication/ForgotPassword`, LeadSquared-compatible.

pub mod contract;
mod handler;

pub use handler::handle;
