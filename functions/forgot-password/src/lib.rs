//! Contract B: `POST /api/Authentication/ForgotPassword`, LeadSquared-compatible.

pub mod contract;
mod handler;

pub use handler::handle;

/// The (method, path) pairs this function serves: `template.yaml` routes exactly these to it
/// (checked by `tests/tests/api/template.rs`), and the handler answers 404 to any other path.
pub const ROUTES: &[(&str, &str)] = &[("POST", "/api/Authentication/ForgotPassword")];
