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
        let mut builder = lambda_http::http::Request::builder()
            .method(method)
            .uri(uri);
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
                Function::GuestReset => {
                    builder = builder.header("authorization", format!("apikey {key}"))
                }
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
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("text/html")
        || content_type.starts_with("text/css")
        || content_type.starts_with("text/javascript")
    {
        return; // the reset page and its assets
    }
    let json: Value = if content_type.starts_with("application/javascript") {
        let inner = text
            .strip_prefix("/**/")
            .and_then(|t| t.strip_suffix(");"))
            .unwrap_or_else(|| panic!("JSONP not wrapped as /**/cb(...);: {text}"));
        let (callback, json) = inner
            .split_once('(')
            .unwrap_or_else(|| panic!("no callback: {text}"));
        assert!(
            !callback.is_empty()
                && callback.split('.').all(|p| !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')),
            "callback is not a plain identifier: {callback:?}"
        );
        serde_json::from_str(json)
            .unwrap_or_else(|e| panic!("JSONP payload is not JSON ({e}): {text}"))
    } else {
        assert!(
            content_type.starts_with("application/json"),
            "content type {content_type:?}"
        );
        serde_json::from_slice(body).unwrap_or_else(|e| panic!("body is not JSON ({e}): {text}"))
    };
    let has = |keys: &[&str]| keys.iter().all(|k| json.get(k).is_some());
    match function {
        Function::GuestReset => {
            assert!(
                has(&[
                    "success",
                    "user_id",
                    "user_count",
                    "matched_with",
                    "verification_code",
                    "verification_id",
                    "error"
                ]),
                "{text}"
            );
            if status != 200 {
                assert_eq!(
                    json["error"]["code"].as_u64(),
                    Some(u64::from(status)),
                    "{text}"
                );
            }
        }
        Function::ForgotPassword => {
            if status == 200 {
                assert_eq!(json["Status"], "Success", "{text}");
            } else {
                assert!(
                    json["Status"] == "Error"
                        && json["ExceptionType"].is_string()
                        && json["ExceptionMessage"].is_string(),
                    "{text}"
                );
            }
        }
        Function::PasswordConfirm => {
            assert!(
                has(&[
                    "SystemUserId",
                    "Description",
                    "Heading",
                    "WasSuccessful",
                    "ResponseStatus"
                ]),
                "{text}"
            );
            if status != 200 {
                let rs = &json["ResponseStatus"];
                assert!(
                    rs["ErrorCode"].is_string()
                        && rs["Errors"].is_array()
                        && rs["StackTrace"].is_null(),
                    "{text}"
                );
            }
        }
    }
}

/// Each fuzz target's body, one function per target in `fuzz_targets/`: the targets only
/// decode libFuzzer's bytes and call these, and the main workspace's corpus replay
/// (`tests/tests/api/fuzz_corpus.rs`, a plain `cargo test` on stable) calls the same ones on
/// every committed corpus, artifact and regression input.
pub mod targets {
    use arbitrary::Arbitrary;

    use super::{run, Function, FuzzRequest};

    /// Email normalisation: never panics; an accepted address is lower-case, free of
    /// control characters and whitespace, and parses again to itself.
    pub fn email(raw: &str) {
        use resetkit::domain::EmailAddress;
        let Ok(email) = EmailAddress::parse(raw) else {
            return;
        };
        let s = email.as_ref();
        assert!(s.contains('@'), "{s:?}");
        assert!(
            !s.chars().any(|c| c.is_control() || c == '\r' || c == '\n'),
            "{s:?}"
        );
        assert_eq!(s, s.to_lowercase());
        assert_eq!(
            EmailAddress::parse(s).as_ref().map(AsRef::as_ref),
            Ok(s),
            "normalisation is idempotent"
        );
        let _ = (email.masked(), email.local_part());
    }

    /// Phone normalisation: never panics; an accepted number is E.164 (`+` and 7 to 15
    /// digits) and parses again, without a region, to itself.
    pub fn phone(input: (&str, Option<&str>)) {
        use resetkit::domain::PhoneE164;
        let (raw, region) = input;
        let Ok(phone) = PhoneE164::parse(raw, region) else {
            return;
        };
        let s = phone.as_ref();
        let digits = s
            .strip_prefix('+')
            .unwrap_or_else(|| panic!("no + in {s:?}"));
        assert!(
            digits.bytes().all(|b| b.is_ascii_digit()) && (7..=15).contains(&digits.len()),
            "{s:?}"
        );
        assert_eq!(
            PhoneE164::parse(s, None).as_ref().map(AsRef::as_ref),
            Ok(s),
            "normalisation is idempotent"
        );
        let _ = phone.masked();
    }

    /// LeadSquared's `SearchKeyData` and `RecipientField` against the demo field catalogue:
    /// never panics; an accepted search names a unique field and a recipient a deliverable one.
    pub fn search_key_data(input: (String, String, Option<String>)) {
        use forgot_password::contract::{ForgotPasswordBody, RecipientField, SearchKeyData};
        use resetkit::domain::fields::FieldKind;
        let (schema_name, value, recipient) = input;
        let catalog = resetkit::demo::catalog();
        let body = ForgotPasswordBody {
            email_address: None,
            search_key_data: Some(SearchKeyData {
                schema_name: schema_name.clone(),
                value,
            }),
            recipient_field: recipient
                .clone()
                .map(|schema_name| RecipientField { schema_name }),
        };
        if let Ok(cmd) = body.try_into_command(&catalog) {
            let spec = catalog
                .get(cmd.search.field())
                .expect("the searched field exists");
            assert!(spec.unique, "searched a non-unique field {}", spec.name);
            assert!(spec.name.eq_ignore_ascii_case(&schema_name));
            if let Some(r) = cmd.recipient {
                assert!(
                    matches!(r.kind, FieldKind::Email | FieldKind::Phone),
                    "{r:?}"
                );
            }
        }
    }

    /// Contract A's JSON body into a command: never panics; an accepted command has an
    /// identifier.
    pub fn guest_reset_body(data: &[u8]) {
        use guest_reset::contract::GuestResetBody;
        let Ok(body) = serde_json::from_slice::<GuestResetBody>(data) else {
            return;
        };
        if let Ok(cmd) = body.try_into_command("US") {
            assert!(cmd.username.is_some() || cmd.email.is_some() || cmd.mobile.is_some());
        }
    }

    /// Contract B's JSON body into a command: never panics; an accepted search is on a
    /// unique field.
    pub fn forgot_password_body(data: &[u8]) {
        use forgot_password::contract::ForgotPasswordBody;
        let Ok(body) = serde_json::from_slice::<ForgotPasswordBody>(data) else {
            return;
        };
        let catalog = resetkit::demo::catalog();
        if let Ok(cmd) = body.try_into_command(&catalog) {
            assert!(catalog.lookup_field(cmd.search.field()).is_ok());
        }
    }

    /// Contract C's body, as JSON or as a form (the first byte's low bit), through
    /// validation: never panics; an accepted request has an `ApiKey`.
    pub fn confirm_body(data: &[u8]) {
        use password_confirm::contract::ConfirmBody;
        let Some((&form, rest)) = data.split_first() else {
            return;
        };
        let body = if form & 1 == 1 {
            serde_urlencoded::from_bytes::<ConfirmBody>(rest).ok()
        } else {
            serde_json::from_slice::<ConfirmBody>(rest).ok()
        };
        // Messages are worded per locale; the rules do not depend on which.
        let locale = resetkit::domain::Locale::parse("fr").expect("a locale");
        if let Some(Ok(valid)) = body.map(|b| b.validate(&locale)) {
            assert!(!valid.api_key.trim().is_empty());
        }
    }

    /// Contract C's path suffix, `format`, `callback` and `Accept`, as the `confirm_route`
    /// target draws them.
    #[derive(Debug, Arbitrary)]
    pub struct Route {
        suffix: String,
        format: Option<String>,
        callback: Option<String>,
        raw_query: String,
        accept: Option<String>,
        form: bool,
    }

    /// Contract C's route through the handler: never a 5xx; JSONP only ever wraps a plain
    /// identifier (checked in [`super::check`]).
    pub fn confirm_route(r: Route) {
        let mut pairs = Vec::new();
        if let Some(f) = &r.format {
            pairs.push(("format", f.as_str()));
        }
        if let Some(c) = &r.callback {
            pairs.push(("callback", c.as_str()));
        }
        let mut query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        if !r.raw_query.is_empty() {
            query = if query.is_empty() {
                r.raw_query.clone()
            } else {
                format!("{query}&{}", r.raw_query)
            };
        }
        let uri = if query.is_empty() {
            format!("/user/password/reset{}", r.suffix)
        } else {
            format!("/user/password/reset{}?{query}", r.suffix)
        };
        let fields = [
            ("VerificationId", "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f"),
            ("TemporaryPassword", "123456"),
            ("Password", "a tangerine rowboat at dusk"),
            ("PasswordConfirm", "a tangerine rowboat at dusk"),
            ("ApiKey", resetkit::demo::BROWSER_KEY),
        ];
        let (content_type, body) = if r.form {
            (
                "application/x-www-form-urlencoded",
                serde_urlencoded::to_string(fields).unwrap_or_default(),
            )
        } else {
            (
                "application/json",
                serde_json::Value::Object(
                    fields
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).into()))
                        .collect(),
                )
                .to_string(),
            )
        };
        let mut builder = lambda_http::http::Request::builder()
            .method("POST")
            .uri(uri)
            .header("content-type", content_type);
        if let Some(a) = &r.accept {
            builder = builder.header("accept", a.as_str());
        }
        let Ok(req) = builder.body(lambda_http::Body::from(body)) else {
            return;
        };
        run(Function::PasswordConfirm, req);
    }

    /// Whole requests through each of the three handlers on the in-memory service: never an
    /// `Err`, never a 5xx, always the contract's shape.
    pub fn handlers(input: (Function, FuzzRequest)) {
        let (function, request) = input;
        if let Some(req) = request.build(function) {
            run(function, req);
        }
    }
}
