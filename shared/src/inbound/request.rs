//! Reading an API Gateway request within limits: its body, query, source address and
//! single-valued headers.

use lambda_http::http::header;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde::de::DeserializeOwned;
use thiserror::Error;

use crate::domain::{Locale, Locales};

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

/// The offered locale the request's `Accept-Language` asks for first, if any. A repeated
/// header is one list, as HTTP allows.
pub fn requested_locale(req: &Request, locales: &Locales) -> Option<Locale> {
    let values: Vec<&str> = req
        .headers()
        .get_all(header::ACCEPT_LANGUAGE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    locales.from_accept_language(&values.join(","))
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

/// The credential of `Authorization: apikey <key>` or `Authorization: bearer <token>`
/// (scheme case-insensitive); `None` for any other scheme, an empty one, or a doubled header.
pub fn authorization_credential(req: &Request) -> Option<&str> {
    let value = single_header(req, "authorization")?.trim();
    let (scheme, rest) = value.split_once(char::is_whitespace)?;
    let ok = scheme.eq_ignore_ascii_case("apikey") || scheme.eq_ignore_ascii_case("bearer");
    ok.then(|| rest.trim()).filter(|k| !k.is_empty())
}
