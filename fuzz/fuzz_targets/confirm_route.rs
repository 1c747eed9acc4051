#![no_main]
//! Contract C's path suffix, `format`, `callback` and `Accept` through the handler: never a
//! 5xx; JSONP only ever wraps a plain identifier (checked in `resetkit_fuzz::check`).

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use resetkit_fuzz::{run, Function};

#[derive(Debug, Arbitrary)]
struct Route {
    suffix: String,
    format: Option<String>,
    callback: Option<String>,
    raw_query: String,
    accept: Option<String>,
    form: bool,
}

fuzz_target!(|r: Route| {
    let mut pairs = Vec::new();
    if let Some(f) = &r.format {
        pairs.push(("format", f.as_str()));
    }
    if let Some(c) = &r.callback {
        pairs.push(("callback", c.as_str()));
    }
    let mut query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    if !r.raw_query.is_empty() {
        query = if query.is_empty() { r.raw_query.clone() } else { format!("{query}&{}", r.raw_query) };
    }
    let uri = if query.is_empty() { format!("/user/password/reset{}", r.suffix) } else { format!("/user/password/reset{}?{query}", r.suffix) };
    let fields = [
        ("VerificationId", "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f"),
        ("TemporaryPassword", "123456"),
        ("Password", "a tangerine rowboat at dusk"),
        ("PasswordConfirm", "a tangerine rowboat at dusk"),
        ("ApiKey", resetkit::demo::BROWSER_KEY),
    ];
    let (content_type, body) = if r.form {
        ("application/x-www-form-urlencoded", serde_urlencoded::to_string(fields).unwrap_or_default())
    } else {
        ("application/json", serde_json::Value::Object(fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).into())).collect()).to_string())
    };
    let mut builder = lambda_http::http::Request::builder().method("POST").uri(uri).header("content-type", content_type);
    if let Some(a) = &r.accept {
        builder = builder.header("accept", a.as_str());
    }
    let Ok(req) = builder.body(lambda_http::Body::from(body)) else { return };
    run(Function::PasswordConfirm, req);
});
