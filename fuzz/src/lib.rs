//! What the fuzz targets share: the three handlers over the in-memory service, and the
//! checks every answer must pass (never a 5xx, always the contract's shape).

use std::cell::RefCell;

use arbitrary::Arbitrary;
use lambda_http::{Body, Request, Response};
use resetkit::testing::TestKit;
use serde_json::Value;

thread_local! {
    static RUNTIME: tokio::runtime::Runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    static KIT: RefCell<(TestKit, u32)> = RefCell::new((fresh_kit(), 0));
}

fn fresh_kit() -> TestKit {
    RUNTIME.with(|rt| rt.block_on(TestKit::new()))
}

/// Which function a request goes to.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum Function {
    GuestReset,
    ForgotPassword,
    PasswordConfirm,
}

/// A request as API Gateway hands it over, with the demo keys on offer.
#[derive(Debug, Arbitrary)]
pub struct FuzzRequest {
    pub method: Method,
    /// Appended to the function's route (`.json`, `/`, `x`, …).
    pub path_suffix: String,
    pub query: String,
    pub headers: Vec<(HeaderName, String)>,
    pub credential: Credential,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum Method {
    Post,
    Get,
    Put,
    Options,
}

#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum HeaderName {
    ContentType,
    Accept,
    Authorization,
    IdempotencyKey,
    XForwardedFor,
}

/// A demo key, in the header the function reads (or none, or a made-up one).
#[derive(Debug, Clone, Arbitrary)]
pub enum Credential {
    None,
    Staff,
    Portal,
    Server,
    Browser,
    Guest,
    Raw(String),
}

impl FuzzRequest {
    pub fn build(&self, function: Function) -> Option<Request> {
        let route = match function {
            Function::GuestReset => "/v1/guests/password",
            Function::ForgotPassword => "/api/Authentication/ForgotPassword",
            Function::PasswordConfirm => "/user/password/reset",
        };
        let method = match self.method {
            Method::Post => "POST",
            Method::Get => "GET",
            Method::Put => "PUT",
            Method::Options => "OPTIONS",
        };
        let mut uri = format!("{route}{}", self.path_suffix);
        if !self.query.is_empty() {
            uri = format!("{uri}?{}", self.query);
        }
        let mut builder = lambda_http::http::Request::builder().method(method).uri(uri);
        for (name, value) in &self.headers {
            let name = match name {
                HeaderName::ContentType => "content-type",
                HeaderName::Accept => "accept",
                HeaderName::Authorization => "authorization",
                HeaderName::IdempotencyKey => "idempotency-key",
                HeaderName::XForwardedFor => "x-forwarded-for",
            };
            builder = builder.header(name, value.as_str());
        }
        use resetkit::demo::*;
        let key = match &self.credential {
            Credential::None => None,
            Credential::Staff => Some(STAFF_KEY.to_owned()),
            Credential::Portal => Some(PORTAL_KEY.to_owned()),
            Credential::Server => Some(SERVER_KEY.to_owned()),
            Credential::Browser => Some(BROWSER_KEY.to_owned()),
            Credential::Guest => Some(GUEST_TOKEN.to_owned()),
            Credential::Raw(k) => Some(k.clone()),
        };
        if let Some(key) = key {
            match function {
                Function::GuestReset => builder = builder.header("authorization", format!("apikey {key}")),
                Function::ForgotPassword => builder = builder.header("authorization", key),
                Function::PasswordConfirm => {} // the key travels in the body
            }
        }
        // The URI or a header the fuzzer made may not be valid HTTP: API Gateway would
        // never deliver such a request.
        builder.body(Body::from(self.body.clone())).ok()
    }
}

/// Runs `req` through `function`'s handler on the shared in-memory service (renewed now and
/// then so that its audit log and outbox stay small) and checks the answer.
pub fn run(function: Function, req: Request) {
    KIT.with(|cell| {
        let mut kit = cell.borrow_mut();
        kit.1 += 1;
        if kit.1 % 2_000 == 0 {
            kit.0 = fresh_kit();
        }
        let svc = &kit.0.service;
        let res = RUNTIME.with(|rt| {
            rt.block_on(async {
                match function {
                    Function::GuestReset => guest_reset::handle(svc, req).await,
                    Function::ForgotPassword => forgot_password::handle(svc, req).await,
                    Function::PasswordConfirm => password_confirm::handle(svc, req).await,
                }
            })
        });
        let res = res.unwrap_or_else(|e| panic!("{function:?}: the handler returned Err: {e}"));
        check(function, &res);
    });
}

/// Never a 5xx; the body in the function's contract shape.
pub fn check(function: Function, res: &Response<Body>) {
    let status = res.status().as_u16();
    let body: &[u8] = res.body().as_ref();
    let text = String::from_utf8_lossy(body);
    assert!(status < 500, "{function:?} answered {status}: {text}");
    let content_type = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    if content_type.starts_with("text/html") || content_type.starts_with("text/css") || content_type.starts_with("text/javascript") {
        return; // the reset page and its assets
    }
    let json: Value = if content_type.starts_with("application/javascript") {
        let inner = text
            .strip_prefix("/**/")
            .and_then(|t| t.strip_suffix(");"))
            .unwrap_or_else(|| panic!("JSONP not wrapped as /**/cb(...);: {text}"));
        let (callback, json) = inner.split_once('(').unwrap_or_else(|| panic!("no callback: {text}"));
        assert!(
            !callback.is_empty() && callback.split('.').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')),
            "callback is not a plain identifier: {callback:?}"
        );
        serde_json::from_str(json).unwrap_or_else(|e| panic!("JSONP payload is not JSON ({e}): {text}"))
    } else {
        assert!(content_type.starts_with("application/json"), "content type {content_type:?}");
        serde_json::from_slice(body).unwrap_or_else(|e| panic!("body is not JSON ({e}): {text}"))
    };
    let has = |keys: &[&str]| keys.iter().all(|k| json.get(k).is_some());
    match function {
        Function::GuestReset => {
            assert!(has(&["success", "user_id", "user_count", "matched_with", "verification_code", "verification_id", "error"]), "{text}");
            if status != 200 {
                assert_eq!(json["error"]["code"].as_u64(), Some(u64::from(status)), "{text}");
            }
        }
        Function::ForgotPassword => {
            if status == 200 {
                assert_eq!(json["Status"], "Success", "{text}");
            } else {
                assert!(json["Status"] == "Error" && json["ExceptionType"].is_string() && json["ExceptionMessage"].is_string(), "{text}");
            }
        }
        Function::PasswordConfirm => {
            assert!(has(&["SystemUserId", "Description", "Heading", "WasSuccessful", "ResponseStatus"]), "{text}");
            if status != 200 {
                let rs = &json["ResponseStatus"];
                assert!(rs["ErrorCode"].is_string() && rs["Errors"].is_array() && rs["StackTrace"].is_null(), "{text}");
            }
        }
    }
}
