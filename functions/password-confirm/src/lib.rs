//! Contract C: `POST /user/password/reset`, ServiceStack-style password confirm; and
//! contract D: `GET /reset`, the page a person uses it from.

pub mod contract;
mod format;
mod handler;
pub mod page;

pub use handler::handle;

/// The (method, path) pairs this function serves: `template.yaml` routes exactly these to it
/// (checked by `tests/tests/api/template.rs`). `GET /reset` is the reset page (contract D, README "The reset page").
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/user/password/reset"),
    ("POST", "/user/password/reset.json"),
    ("GET", "/reset"),
];
