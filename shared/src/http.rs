//! The inbound side shared by the three functions: reading an API Gateway request within
//! limits and writing a JSON response. Contract shapes stay in each function.

use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use thiserror::Error;

/// Larger bodies are refused unread: no contract needs more than a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum BodyError {
    #[error("Request body is larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error("Content-Type '{0}' is not supported; send {1}")]
    UnsupportedMediaType(String, &'static str),
    #[error("Request body is empty")]
    Empty,
    #[error("Request body is not valid: {0}")]
    Malformed(String),
}

impl BodyError {
    pub fn status(&self) -> StatusCode {
        match self {
            BodyError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::UnsupportedMediaType(..) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            BodyError::Empty | BodyError::Malformed(_) => StatusCode::BAD_REQUEST,
        }
    }
}

/// Which body encodings an endpoint accepts besides JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepts {
    JsonOnly,
    JsonOrForm,
}

/// Parses the body as `T` from JSON, or from a form when `accepts` allows it. A missing
/// Content-Type is read as JSON, the encoding every client of these APIs uses.
pub fn read_body<T: DeserializeOwned>(req: &Request, accepts: Accepts) -> Result<T, BodyError> {
    let bytes: &[u8] = req.body().as_ref();
    if bytes.len() > MAX_BODY_BYTES {
        return Err(BodyError::TooLarge);
    }
    let media = req.headers().get(header::CONTENT_TYPE).map(|v| {
        String::from_utf8_lossy(v.as_bytes())
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    });
    let form = match media.as_deref() {
        None | Some("") | Some("application/json") | Some("text/json") => false,
        Some(m) if m.ends_with("+json") => false,
        Some("application/x-www-form-urlencoded") if accepts == Accepts::JsonOrForm => true,
        Some(other) => {
            let wanted = match accepts {
                Accepts::JsonOnly => "application/json",
                Accepts::JsonOrForm => "application/json or application/x-www-form-urlencoded",
            };
            return Err(BodyError::UnsupportedMediaType(
                crate::domain::identifiers::printable(other),
                wanted,
            ));
        }
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(BodyError::Empty);
    }
    if form {
        serde_urlencoded::from_bytes(bytes).map_err(|e| BodyError::Malformed(e.to_string()))
    } else {
        serde_json::from_slice(bytes).map_err(|e| BodyError::Malformed(e.to_string()))
    }
}

/// A query-string parameter, from API Gateway's parsed map or else the URI itself.
pub fn query_param(req: &Request, name: &str) -> Option<String> {
    if let Some(v) = req
        .query_string_parameters_ref()
        .and_then(|q| q.first(name))
    {
        return Some(v.to_owned());
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.uri().query()?).ok()?;
    pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// The caller's address as API Gateway saw it (never a client-supplied header).
pub fn source_ip(req: &Request) -> Option<String> {
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(ctx) => ctx.http.source_ip.clone(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// The value of a single-valued header; a doubled header is treated as absent, so that
/// two credentials never race each other.
pub fn single_header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    let mut values = req.headers().get_all(name).iter();
    let first = values.next()?;
    if values.next().is_some() {
        return None;
    }
    first.to_str().ok()
}

/// Serialises `body` as JSON with the headers every answer carries.
pub fn json_response(status: StatusCode, body: &impl Serialize) -> Response<Body> {
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".into());
    respond(status, "application/json; charset=utf-8", text)
}

/// A response with `content_type`; identity headers are the same on every path so that
/// headers never tell one outcome from another.
pub fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response<Body> {
    let mut res = Response::new(Body::from(body));
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    res
}

/// `Retry-After` on a 503: a dependency (DynamoDB, SES, SNS) was throttling, failing or
/// slow past its time budget; nothing was decided, so the same request may simply be sent again.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 2;

/// A JSON answer, with `Retry-After` when the caller is asked to wait.
pub fn json_reply(
    status: StatusCode,
    body: &impl Serialize,
    retry_after: Option<u64>,
) -> Response<Body> {
    let res = json_response(status, body);
    match retry_after {
        Some(secs) => with_retry_after(res, secs),
        None => res,
    }
}

/// Adds `Retry-After` (seconds).
pub fn with_retry_after(mut res: Response<Body>, secs: u64) -> Response<Body> {
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    res
}
