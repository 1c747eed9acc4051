//! The people API: the host system keeps resetkit's people current (`PUT`, `PATCH`,
//! `DELETE`, `GET` on `/v1/people/{user_id}`, and `GET /v1/people?SystemUserId=N`), with
//! server keys granted `people:write` or `people:read`.

pub mod contract;
mod handler;

pub use handler::handle;

/// The (method, path) pairs this function serves: `template.yaml` routes exactly these to it
/// (checked by `tests/tests/api/template.rs`), and the handler answers 404 to any other path.
pub const ROUTES: &[(&str, &str)] = &[
    ("PUT", PERSON),
    ("PATCH", PERSON),
    ("DELETE", PERSON),
    ("GET", PERSON),
    ("GET", "/v1/people"),
];

/// One person, by their user id.
const PERSON: &str = "/v1/people/{user_id}";
