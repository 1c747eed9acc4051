//! Writing an answer: the headers every answer carries, JSON, and a [`Problem`]'s status
//! and `Retry-After`.

use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::{Body, Response};
use serde::Serialize;

use super::Problem;

pub const JSON: &str = "application/json; charset=utf-8";

/// `body` as JSON text.
pub fn to_json(body: &impl Serialize) -> String {
    serde_json::to_string(body).unwrap_or_else(|_| "{}".into())
}

/// A success: 200 with `body` as `content_type`.
pub fn ok(content_type: &'static str, body: String) -> Response<Body> {
    respond(StatusCode::OK, content_type, body)
}

/// A success: 200 with `body` as JSON.
pub fn ok_json(body: &impl Serialize) -> Response<Body> {
    ok(JSON, to_json(body))
}

/// A success other than 200 (201 Created, 204 No Content), with `body` as JSON, or no
/// body at all.
pub fn status_json(status: StatusCode, body: Option<&impl Serialize>) -> Response<Body> {
    match body {
        Some(body) => respond(status, JSON, to_json(body)),
        None => {
            let mut res = respond(status, JSON, Body::Empty);
            res.headers_mut().remove(header::CONTENT_TYPE);
            res
        }
    }
}

/// A problem, as a contract rendered it: the problem's status, and its `Retry-After` when
/// the caller is asked to wait.
pub fn problem(problem: &Problem, content_type: &'static str, body: String) -> Response<Body> {
    let mut res = respond(problem.status(), content_type, body);
    if let Some(secs) = problem.retry_after {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    res
}

/// A problem rendered as JSON.
pub fn problem_json(p: &Problem, body: &impl Serialize) -> Response<Body> {
    problem(p, JSON, to_json(body))
}

/// A response with `content_type`; identity headers are the same on every path so that
/// headers never tell one outcome from another.
pub(super) fn respond(
    status: StatusCode,
    content_type: &str,
    body: impl Into<Body>,
) -> Response<Body> {
    let mut res = Response::new(body.into());
    *res.status_mut() = status;
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    res
}
