//! ServiceStack's format switches: `?format=json`, a `.json` suffix, `Accept`, and JSONP.

use lambda_http::http::header;
use lambda_http::Request;
use resetkit::inbound::{query_param, JSON};

/// How the answer is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    Json,
    /// JSON wrapped in a call to this (checked) function name.
    Jsonp(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatError {
    UnknownFormat,
    NotAcceptable,
    BadCallback,
}

impl FormatError {
    pub fn message(&self) -> &'static str {
        match self {
            FormatError::UnknownFormat => "Only format=json is supported",
            FormatError::NotAcceptable => {
                "This endpoint answers application/json or application/javascript"
            }
            FormatError::BadCallback => {
                "callback must be a plain JavaScript identifier (letters, digits, _ and $, dotted)"
            }
        }
    }
}

/// Is `path` the confirm endpoint, with or without the `.json` suffix (a POST of [`crate::ROUTES`])?
pub fn is_route(path: &str) -> bool {
    let path = path.trim_end_matches('/');
    crate::ROUTES
        .iter()
        .any(|&(method, route)| method == "POST" && route == path)
}

pub fn negotiate(req: &Request) -> Result<Format, FormatError> {
    if let Some(f) = query_param(req, "format") {
        if !f.eq_ignore_ascii_case("json") {
            return Err(FormatError::UnknownFormat);
        }
    }
    if let Some(accept) = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
    {
        let ok = accept
            .split(',')
            .map(|m| m.split(';').next().unwrap_or("").trim())
            .any(|m| {
                matches!(
                    m,
                    "" | "*/*"
                        | "application/*"
                        | "application/json"
                        | "text/json"
                        | "application/javascript"
                ) || m.starts_with("text/html") // a browser's form post; it gets JSON
            });
        if !ok {
            return Err(FormatError::NotAcceptable);
        }
    }
    match query_param(req, "callback") {
        None => Ok(Format::Json),
        Some(name) if is_identifier_path(&name) => Ok(Format::Jsonp(name)),
        Some(_) => Err(FormatError::BadCallback),
    }
}

/// `a`, `a.b`, `$cb_1`: dotted JavaScript identifiers in ASCII, at most 64 characters.
fn is_identifier_path(name: &str) -> bool {
    name.len() <= 64
        && name.split('.').all(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        })
}

/// The media type and text of `json` in `format`.
pub fn write(format: &Format, json: String) -> (&'static str, String) {
    match format {
        Format::Json => (JSON, json),
        // The leading comment defeats content-sniffing attacks on JSONP (Rosetta Flash).
        Format::Jsonp(cb) => (
            "application/javascript; charset=utf-8",
            format!("/**/{cb}({json});"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callbacks_must_be_plain_identifiers() {
        for ok in ["cb", "jQuery_123", "$", "a.b.c", "_x$"] {
            assert!(is_identifier_path(ok), "{ok}");
        }
        for bad in [
            "",
            "1a",
            "a..b",
            "alert(1)",
            "a;b",
            "a b",
            "a-b",
            "é",
            "a.",
            &"a".repeat(65),
            "a\u{2028}",
        ] {
            assert!(!is_identifier_path(bad), "{bad}");
        }
    }

    #[test]
    fn the_route_allows_a_json_suffix_only() {
        assert!(is_route("/user/password/reset"));
        assert!(is_route("/user/password/reset.json"));
        assert!(!is_route("/user/password/reset.xml"));
        assert!(!is_route("/user/password"));
    }
}
