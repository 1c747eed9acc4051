//! `openapi.yaml` as a test oracle: every answer a test gets from a handler can be checked
//! against it (status documented, required headers present and valid, media type listed,
//! body valid against the JSON Schema), and a scenario per documented status checks the
//! spec is complete.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use lambda_http::{Body, Response};
use resetkit::demo::{BROWSER_KEY, GUEST_TOKEN, PORTAL_KEY, SERVER_KEY, STAFF_KEY};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, TestApp};

/// One request of a scenario table: method, path, headers, body, and the status it must get.
type Case<'a, P> = (&'a str, P, Vec<(&'a str, &'a str)>, String, u16);

const SPEC: &str = include_str!("../../../openapi.yaml");

/// Every answer checked against the spec in this test binary, whoever asked.
pub static CHECKED: AtomicUsize = AtomicUsize::new(0);

struct Spec {
    doc: Value,
    validators: Mutex<HashMap<String, std::sync::Arc<jsonschema::Validator>>>,
}

fn spec() -> &'static Spec {
    static SPEC_DOC: OnceLock<Spec> = OnceLock::new();
    SPEC_DOC.get_or_init(|| {
        let doc: Value =
            serde_yaml::from_str(SPEC).unwrap_or_else(|e| panic!("openapi.yaml is not YAML: {e}"));
        assert_eq!(
            doc["openapi"].as_str().map(|v| v.starts_with("3.1")),
            Some(true),
            "OpenAPI 3.1"
        );
        Spec {
            doc,
            validators: Mutex::new(HashMap::new()),
        }
    })
}

impl Spec {
    /// A validator for `schema` (often just a `$ref`), resolving refs inside the spec.
    fn validator(&self, schema: &Value) -> std::sync::Arc<jsonschema::Validator> {
        let key = schema.to_string();
        let mut cache = self.validators.lock().unwrap();
        cache
            .entry(key)
            .or_insert_with(|| {
                let mut root = schema.as_object().cloned().unwrap_or_default();
                root.insert(
                    "$schema".into(),
                    json!("https://json-schema.org/draft/2020-12/schema"),
                );
                root.insert("components".into(), self.doc["components"].clone());
                let v = jsonschema::draft202012::new(&Value::Object(root)).unwrap_or_else(|e| {
                    panic!("openapi.yaml: schema {schema} does not compile: {e}")
                });
                std::sync::Arc::new(v)
            })
            .clone()
    }

    /// Follows a `$ref` to a component (responses, headers), or returns the object itself.
    fn deref<'a>(&'a self, v: &'a Value) -> &'a Value {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => self
                .doc
                .pointer(r.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("openapi.yaml: dangling {r}")),
            None => v,
        }
    }
}

/// Checks one answer of `method uri` against `openapi.yaml`.
pub fn check(method: &str, uri: &str, res: &Response<Body>) -> Result<(), String> {
    CHECKED.fetch_add(1, Ordering::Relaxed);
    let spec = spec();
    let path = uri.split('?').next().unwrap_or(uri);
    let operation = spec.doc["paths"]
        .get(path)
        .and_then(|p| p.get(method.to_ascii_lowercase()))
        .ok_or_else(|| format!("{method} {path} is not in openapi.yaml"))?;
    let status = res.status().as_u16().to_string();
    let documented = operation["responses"]
        .get(&status)
        .ok_or_else(|| format!("{method} {path}: status {status} is not documented"))?;
    let documented = spec.deref(documented);
    let body: &[u8] = res.body().as_ref();
    let text = String::from_utf8_lossy(body);
    let context = || format!("{method} {path} → {status} {text}");

    for (name, header) in documented["headers"].as_object().into_iter().flatten() {
        let header = spec.deref(header);
        match res
            .headers()
            .get(name.as_str())
            .map(|v| v.to_str().unwrap_or("\u{fffd}"))
        {
            None if header["required"] == json!(true) => {
                return Err(format!("{}: header {name} missing", context()))
            }
            None => {}
            Some(value) => {
                let errors: Vec<String> = spec
                    .validator(&header["schema"])
                    .iter_errors(&json!(value))
                    .map(|e| e.to_string())
                    .collect();
                if !errors.is_empty() {
                    return Err(format!(
                        "{}: header {name}: {value:?}: {errors:?}",
                        context()
                    ));
                }
            }
        }
    }

    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = content_type.split(';').next().unwrap_or("").trim();
    let Some(content) = documented.get("content") else {
        return if body.is_empty() {
            Ok(())
        } else {
            Err(format!("{}: a body where none is documented", context()))
        };
    };
    let schema = &content
        .get(media)
        .ok_or_else(|| format!("{}: media type {media:?} is not documented", context()))?["schema"];
    let instance = match media {
        "application/json" | "application/problem+json" => {
            serde_json::from_slice(body).map_err(|e| format!("{}: not JSON: {e}", context()))?
        }
        _ => json!(text),
    };
    let errors: Vec<String> = spec
        .validator(schema)
        .iter_errors(&instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    if !errors.is_empty() {
        return Err(format!("{}: {errors:?}", context()));
    }
    // JSONP: the wrapped JSON must be what the JSON answer would have been.
    if media == "application/javascript" {
        let inner = text
            .split_once('(')
            .and_then(|(_, rest)| rest.strip_suffix(");"))
            .unwrap_or_default();
        let json_schema = &content["application/json"]["schema"];
        let inner: Value = serde_json::from_str(inner)
            .map_err(|e| format!("{}: JSONP payload not JSON: {e}", context()))?;
        let errors: Vec<String> = spec
            .validator(json_schema)
            .iter_errors(&inner)
            .map(|e| e.to_string())
            .collect();
        if !errors.is_empty() {
            return Err(format!("{}: JSONP payload: {errors:?}", context()));
        }
    }
    Ok(())
}

/// Asserts that the answer conforms, and returns it.
pub fn conforming(method: &str, uri: &str, res: Response<Body>) -> Response<Body> {
    if let Err(e) = check(method, uri, &res) {
        panic!("openapi.yaml does not describe this answer: {e}");
    }
    res
}

/// One request to a function's handler on `app`, as API Gateway delivers it.
pub async fn call(
    app: &TestApp,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: impl Into<String>,
) -> Response<Body> {
    let req = resetkit::testing::http_request(method, uri, headers, body);
    let path = uri.split('?').next().unwrap_or(uri);
    let res = if path.starts_with("/v1/people") {
        people::handle(&app.service, req).await
    } else if guest_reset::ROUTES
        .iter()
        .any(|&(_, r)| path.starts_with(r))
    {
        guest_reset::handle(&app.service, req).await
    } else if forgot_password::ROUTES
        .iter()
        .any(|&(_, r)| path.starts_with(r))
    {
        forgot_password::handle(&app.service, req).await
    } else {
        password_confirm::handle(&app.service, req).await
    };
    app.deliver().await;
    res.expect("the handlers answer every request")
}

pub fn body_json(res: &Response<Body>) -> Value {
    serde_json::from_slice(res.body().as_ref()).unwrap_or(Value::Null)
}

const JSON: (&str, &str) = ("content-type", "application/json");
const GUEST: &str = "/v1/guests/password?reset=true";
const FORGOT: &str = "/api/Authentication/ForgotPassword";
const CONFIRM: &str = "/user/password/reset";
const PASSWORD: &str = "a tangerine rowboat at dusk";

/// What a client generated from contract C reads (C#'s `public int SystemUserId`, Java,
/// Kotlin, Swift, Dart): the spec admits exactly that, so validating every answer against it
/// (the scenarios below, the corpus, the fault matrix's 503s) checks that such a client
/// parses each one.
#[test]
fn the_confirm_schemas_admit_only_what_a_typed_client_reads() {
    let spec = spec();
    let success = spec.validator(&json!({"$ref": "#/components/schemas/ConfirmSuccess"}));
    let error = spec.validator(&json!({"$ref": "#/components/schemas/ConfirmError"}));
    let ok = |id: Value| {
        json!({"SystemUserId": id, "Description": "Your password has been reset.",
               "Heading": "Password reset", "WasSuccessful": true, "ResponseStatus": null})
    };
    let failed = |id: Value| {
        json!({"SystemUserId": id, "Description": "m", "Heading": "Password not reset",
               "WasSuccessful": false, "ResponseStatus": {"ErrorCode": "X", "Message": "m",
               "StackTrace": null, "Errors": [], "Meta": null}})
    };
    for good in [json!(1), json!(1001), json!(2_147_483_647)] {
        assert!(success.is_valid(&ok(good.clone())), "{good}");
    }
    assert!(error.is_valid(&failed(json!(0))));
    let not_int32 = [
        json!(resetkit::demo::ANA),
        json!(null),
        json!("1001"),
        json!(1.5),
        json!(2_147_483_648_i64),
        json!(-1),
    ];
    for bad in not_int32.iter().chain(&[json!(0)]) {
        assert!(!success.is_valid(&ok(bad.clone())), "success with {bad}");
    }
    for bad in not_int32.iter().chain(&[json!(1001)]) {
        assert!(!error.is_valid(&failed(bad.clone())), "error with {bad}");
    }
    let mut without = ok(json!(1001));
    if let Some(fields) = without.as_object_mut() {
        fields.remove("SystemUserId");
    }
    assert!(!success.is_valid(&without), "SystemUserId is always sent");
}

#[tokio::test]
async fn every_documented_answer_of_the_three_handlers_matches_openapi_yaml() {
    // Arrange
    let app = spawn_app().await;
    let limited = spawn_app_with(&[(resetkit::config::FORGOT_RATE_LIMIT, "1/60")]).await;
    let ana = app.person("Ana").await;
    // Recipients have their own limit: the server key asks for someone not asked for yet.
    let carl = app.person("Carl").await;
    let twin = json!({"first_name": "Bea", "email": format!("bea-{}@example.com", crate::helpers::random_hex(4)), "mobile": ana.mobile});
    app.import(&twin).await;
    let staff = format!("apikey {STAFF_KEY}");
    let guest_token = format!("bearer {GUEST_TOKEN}");
    let big = format!("{{\"email\":\"{}\"}}", "a".repeat(20_000));
    let confirm_body = |vid: &str, code: &str, pw: &str, pw2: &str| {
        json!({"VerificationId": vid, "TemporaryPassword": code, "Password": pw, "PasswordConfirm": pw2, "ApiKey": BROWSER_KEY}).to_string()
    };

    // Act: one request per documented status of each contract (503 is in the fault matrix).
    let mut seen: Vec<(String, u16)> = Vec::new();
    let mut run =
        |label: &str, res: &Response<Body>| seen.push((label.to_owned(), res.status().as_u16()));
    let cases_a: Vec<Case<&str>> = vec![
        (
            "POST",
            GUEST,
            vec![JSON, ("authorization", &staff)],
            json!({"mobile": ana.mobile, "first_name": "ana"}).to_string(),
            200,
        ),
        (
            "POST",
            GUEST,
            vec![JSON, ("authorization", &staff)],
            json!({"mobile": ana.mobile}).to_string(),
            400,
        ),
        (
            "POST",
            GUEST,
            vec![JSON, ("authorization", &staff)],
            json!({"email": "not an email"}).to_string(),
            400,
        ),
        (
            "POST",
            "/v1/guests/password",
            vec![JSON, ("authorization", &staff)],
            json!({"email": ana.email}).to_string(),
            400,
        ),
        (
            "POST",
            GUEST,
            vec![JSON],
            json!({"email": ana.email}).to_string(),
            401,
        ),
        (
            "POST",
            GUEST,
            vec![JSON, ("authorization", &guest_token)],
            json!({"email": ana.email}).to_string(),
            401,
        ),
        (
            "POST",
            GUEST,
            vec![JSON, ("authorization", &staff)],
            json!({"email": "nobody-here@example.com"}).to_string(),
            404,
        ),
        (
            "GET",
            GUEST,
            vec![("authorization", &staff)],
            String::new(),
            405,
        ),
        (
            "POST",
            GUEST,
            vec![JSON, ("authorization", &staff)],
            big.clone(),
            413,
        ),
        (
            "POST",
            GUEST,
            vec![("content-type", "text/plain"), ("authorization", &staff)],
            "email=x".into(),
            415,
        ),
    ];
    let mut issued = Value::Null;
    for (method, uri, headers, body, want) in cases_a {
        // The spec lists each route's POST; a 405 is documented there.
        let res = conforming("POST", uri, call(&app, method, uri, &headers, body).await);
        assert_eq!(
            res.status().as_u16(),
            want,
            "{method} {uri}: {}",
            String::from_utf8_lossy(res.body().as_ref())
        );
        if want == 200 {
            issued = body_json(&res);
        }
        run("guest-reset", &res);
    }

    // Ana's staff code stays her latest: the link goes to Carl (a portal's request is not
    // held back by staff's recipient budget, and would supersede her code).
    let cases_b: Vec<(&str, String, u16)> = vec![
        (
            PORTAL_KEY,
            json!({"EmailAddress": carl.email}).to_string(),
            200,
        ),
        (
            PORTAL_KEY,
            json!({"EmailAddress": "nobody-here@example.com"}).to_string(),
            200,
        ),
        (
            SERVER_KEY,
            json!({"SearchKeyData": {"SchemaName": "mx_Member_Code", "Value": carl.member_code}})
                .to_string(),
            200,
        ),
        (
            PORTAL_KEY,
            json!({"SearchKeyData": {"SchemaName": "mx_City", "Value": "Porto"}}).to_string(),
            400,
        ),
        (
            PORTAL_KEY,
            json!({"EmailAddress": ana.email, "RecipientField": {"SchemaName": "mx_City"}})
                .to_string(),
            400,
        ),
        (
            "wrong-key",
            json!({"EmailAddress": ana.email}).to_string(),
            401,
        ),
        (PORTAL_KEY, big.clone(), 413),
    ];
    for (key, body, want) in cases_b {
        let res = conforming(
            "POST",
            FORGOT,
            call(&app, "POST", FORGOT, &[JSON, ("authorization", key)], body).await,
        );
        assert_eq!(
            res.status().as_u16(),
            want,
            "{}",
            String::from_utf8_lossy(res.body().as_ref())
        );
        if key == SERVER_KEY {
            assert!(
                body_json(&res)["TemporaryPassword"].is_string(),
                "a server key sees the secret: {}",
                body_json(&res)
            );
        }
        run("forgot-password", &res);
    }
    for (method, uri, headers, want) in [
        ("GET", FORGOT, vec![("authorization", PORTAL_KEY)], 405),
        (
            "POST",
            "/api/Authentication/ForgotPassword/x",
            vec![JSON, ("authorization", PORTAL_KEY)],
            404,
        ),
        (
            "POST",
            FORGOT,
            vec![
                ("content-type", "application/xml"),
                ("authorization", PORTAL_KEY),
            ],
            415,
        ),
    ] {
        let res = call(&app, method, uri, &headers, "{}").await;
        assert_eq!(res.status().as_u16(), want);
        // The 404 answers a path the spec does not list: checked against the real route.
        let res = conforming("POST", FORGOT, res);
        run("forgot-password", &res);
    }
    for want in [200, 429] {
        let res = call(
            &limited,
            "POST",
            FORGOT,
            &[JSON, ("authorization", PORTAL_KEY)],
            json!({"EmailAddress": "x@example.com"}).to_string(),
        )
        .await;
        let res = conforming("POST", FORGOT, res);
        assert_eq!(res.status().as_u16(), want);
        run("forgot-password", &res);
    }

    let vid = issued["verification_id"]
        .as_str()
        .expect("a verification id")
        .to_owned();
    let code = issued["verification_code"]
        .as_str()
        .expect("a code")
        .to_owned();
    let form = format!("VerificationId={vid}&TemporaryPassword=1&Password=short&PasswordConfirm=short&ApiKey={BROWSER_KEY}");
    let cases_c: Vec<Case<String>> = vec![
        (
            "POST",
            CONFIRM.into(),
            vec![JSON],
            json!({}).to_string(),
            400,
        ),
        (
            "POST",
            CONFIRM.into(),
            vec![JSON],
            confirm_body(&vid, &code, PASSWORD, "something else entirely"),
            400,
        ),
        (
            "POST",
            CONFIRM.into(),
            vec![("content-type", "application/x-www-form-urlencoded")],
            form,
            400,
        ),
        (
            "POST",
            format!("{CONFIRM}?callback=cb.done"),
            vec![JSON],
            confirm_body(&vid, "000000", PASSWORD, PASSWORD),
            400,
        ),
        (
            "POST",
            format!("{CONFIRM}?callback=alert(1)"),
            vec![JSON],
            confirm_body(&vid, &code, PASSWORD, PASSWORD),
            400,
        ),
        (
            "POST",
            format!("{CONFIRM}?format=xml"),
            vec![JSON],
            confirm_body(&vid, &code, PASSWORD, PASSWORD),
            400,
        ),
        (
            "POST",
            CONFIRM.into(),
            vec![JSON, ("accept", "application/xml")],
            confirm_body(&vid, &code, PASSWORD, PASSWORD),
            406,
        ),
        (
            "POST",
            CONFIRM.into(),
            vec![JSON],
            confirm_body(&vid, &code, PASSWORD, PASSWORD).replace(BROWSER_KEY, "nope"),
            401,
        ),
        ("GET", CONFIRM.into(), vec![], String::new(), 405),
        (
            "POST",
            format!("{CONFIRM}.xml"),
            vec![JSON],
            confirm_body(&vid, &code, PASSWORD, PASSWORD),
            404,
        ),
        ("POST", CONFIRM.into(), vec![JSON], big.clone(), 413),
        (
            "POST",
            CONFIRM.into(),
            vec![("content-type", "text/xml")],
            "<x/>".into(),
            415,
        ),
        (
            "POST",
            format!("{CONFIRM}.json?format=json&callback=cb"),
            vec![JSON, ("accept", "application/javascript")],
            confirm_body(&vid, &code, PASSWORD, PASSWORD),
            200,
        ),
        (
            "POST",
            format!("{CONFIRM}.json"),
            vec![JSON],
            confirm_body(&vid, &code, PASSWORD, PASSWORD),
            400,
        ),
    ];
    for (method, uri, headers, body, want) in cases_c {
        let spec_uri = if uri.starts_with(&format!("{CONFIRM}.json")) {
            format!("{CONFIRM}.json")
        } else {
            CONFIRM.to_owned()
        };
        let res = conforming(
            "POST",
            &spec_uri,
            call(&app, method, &uri, &headers, body).await,
        );
        assert_eq!(
            res.status().as_u16(),
            want,
            "{method} {uri}: {}",
            String::from_utf8_lossy(res.body().as_ref())
        );
        run("password-confirm", &res);
    }

    // Assert: every status the spec documents for an endpoint, other than those only a
    // fault, an idempotency conflict or a limit other tests cover can cause, was seen.
    for (label, op) in [
        ("guest-reset", "/v1/guests/password"),
        ("forgot-password", FORGOT),
        ("password-confirm", CONFIRM),
    ] {
        let documented: Vec<u16> = spec().doc["paths"][op]["post"]["responses"]
            .as_object()
            .unwrap()
            .keys()
            .filter_map(|k| k.parse().ok())
            .filter(|s| {
                ![409, 422, 429, 500, 503].contains(s) || (label == "forgot-password" && *s == 429)
            })
            .collect();
        for status in documented {
            assert!(
                seen.iter().any(|(l, s)| l == label && *s == status),
                "{label}: no scenario answered {status}"
            );
        }
    }
    crate::report::record(
        "openapi",
        "scenario answers validated against openapi.yaml",
        seen.len(),
    );
}

/// Method, URI, the operation's path in openapi.yaml, headers, body, the status it must get.
type PeopleCase<'a> = (
    &'a str,
    String,
    &'a str,
    Vec<(&'a str, &'a str)>,
    String,
    u16,
);

/// The people API: one request per status its operations document, other than those only a
/// fault, an idempotency conflict or a limit can cause, each answer checked against
/// openapi.yaml under its operation's path template.
#[tokio::test]
async fn every_documented_answer_of_the_people_api_matches_openapi_yaml() {
    // Arrange
    let app = spawn_app().await;
    let host = format!("Bearer {}", resetkit::demo::HOST_KEY);
    let auth = ("authorization", host.as_str());
    let id = crate::helpers::random_hex(16);
    let person = format!("/v1/people/{id}");
    let template = "/v1/people/{user_id}";
    let email = format!("openapi-{}@example.com", crate::helpers::random_hex(4));
    let doc = json!({"Version": 2, "FirstName": "Ana", "EmailAddress": email}).to_string();
    let patch = ("content-type", "application/merge-patch+json");
    let big = json!({"Version": 3, "FirstName": "a".repeat(20_000)}).to_string();
    let unknown = format!("/v1/people/{}", crate::helpers::random_hex(16));

    // Act
    let cases: Vec<PeopleCase> = vec![
        (
            "PUT",
            person.clone(),
            template,
            vec![JSON, auth],
            doc.clone(),
            201,
        ),
        (
            "PUT",
            person.clone(),
            template,
            vec![JSON, auth],
            doc.clone(),
            200,
        ),
        (
            "PUT",
            person.clone(),
            template,
            vec![JSON, auth],
            json!({"Version": 1}).to_string(),
            409,
        ),
        (
            "PUT",
            person.clone(),
            template,
            vec![JSON, auth],
            json!({"Version": 3, "Nick": "x"}).to_string(),
            400,
        ),
        (
            "PUT",
            person.clone(),
            template,
            vec![JSON],
            doc.clone(),
            401,
        ),
        (
            "PUT",
            person.clone(),
            template,
            vec![("content-type", "text/plain"), auth],
            doc.clone(),
            415,
        ),
        ("PUT", person.clone(), template, vec![JSON, auth], big, 413),
        (
            "POST",
            person.clone(),
            template,
            vec![JSON, auth],
            doc.clone(),
            405,
        ),
        (
            "PATCH",
            person.clone(),
            template,
            vec![patch, auth],
            json!({"Version": 3, "FirstName": "Eva"}).to_string(),
            200,
        ),
        (
            "PATCH",
            unknown.clone(),
            template,
            vec![patch, auth],
            json!({"Version": 3}).to_string(),
            404,
        ),
        (
            "GET",
            person.clone(),
            template,
            vec![auth],
            String::new(),
            200,
        ),
        (
            "GET",
            unknown.clone(),
            template,
            vec![auth],
            String::new(),
            404,
        ),
        (
            "GET",
            "/v1/people?SystemUserId=abc".into(),
            "/v1/people",
            vec![auth],
            String::new(),
            400,
        ),
        (
            "DELETE",
            format!("{person}?Version=1"),
            template,
            vec![auth],
            String::new(),
            409,
        ),
        (
            "DELETE",
            person.clone(),
            template,
            vec![auth],
            String::new(),
            204,
        ),
        (
            "DELETE",
            person.clone(),
            template,
            vec![auth],
            String::new(),
            404,
        ),
    ];
    let mut checked = 0;
    for (method, uri, spec_path, headers, body, want) in cases {
        let res = call(&app, method, &uri, &headers, body).await;
        let status = res.status().as_u16();
        let text = String::from_utf8_lossy(res.body().as_ref()).into_owned();
        assert_eq!(status, want, "{method} {uri}: {text}");
        if method != "POST" {
            conforming(method, spec_path, res);
            checked += 1;
        }
    }

    // Assert: a person found by number conforms too.
    let number = {
        let put = call(&app, "PUT", &person, &[JSON, auth], doc.clone()).await;
        body_json(&conforming("PUT", template, put))["SystemUserId"].clone()
    };
    let found = call(
        &app,
        "GET",
        &format!("/v1/people?SystemUserId={number}"),
        &[auth],
        "",
    )
    .await;
    assert_eq!(found.status().as_u16(), 200);
    conforming("GET", "/v1/people", found);
    crate::report::record(
        "openapi",
        "people API answers validated against openapi.yaml",
        checked + 2,
    );
}
