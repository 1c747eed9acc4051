//! Contract C through the real handler: lambda_http requests in, exact ServiceStack JSON out.

use password_confirm::handle;
use resetkit::domain::{Channel, EmailAddress, UserId};
use resetkit::ports::UserDirectory;
use resetkit::service::GuestResetCommand;
use resetkit::testing::{http_request, TestKit, ANA};
use serde::Deserialize;
use serde_json::{json, Value};

const PATH: &str = "/user/password/reset";
const NEW_PASSWORD: &str = "correct horse battery staple";

/// Issues a staff code for Ana through the service and returns (verification_id, code).
async fn staff_code(kit: &TestKit) -> (String, String) {
    let caller = kit
        .service
        .authenticate(
            resetkit::service::Endpoint::GuestReset,
            &kit.keys.staff,
            &[resetkit::domain::KeyKind::Employee],
            resetkit::domain::Permission::GuestsEdit,
            None,
        )
        .await
        .expect("staff key");
    let cmd = GuestResetCommand {
        email: Some(EmailAddress::parse("ana@example.com").unwrap()),
        channel: Some(Channel::Email),
        ..Default::default()
    };
    let issued = kit.service.guest_reset(&caller, cmd).await.expect("issued");
    (
        issued.verification_id.to_string(),
        issued.code.expose().to_owned(),
    )
}

/// An answer as a client generated from the contract declares it (C#: `public int
/// SystemUserId`, and so on in Java, Kotlin, Swift, Dart): `SystemUserId` is an int32 or
/// absent, never a string or `null`, which such a client cannot read.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(dead_code)] // read only by deserialising
struct TypedClientView {
    #[serde(default)]
    system_user_id: i32,
    description: String,
    heading: String,
    was_successful: bool,
}

/// Panics unless a typed client reads `json`: every answer of this file goes through it.
fn assert_typed_client_reads(json: &Value) {
    if let Err(e) = serde_json::from_value::<TypedClientView>(json.clone()) {
        panic!("a typed client cannot read this answer ({e}): {json}");
    }
}

/// `resetkit::testing::read_response`, checked by `assert_typed_client_reads`.
fn read_response(
    res: lambda_http::Response<lambda_http::Body>,
) -> (u16, lambda_http::http::HeaderMap, Value) {
    let (status, headers, json) = resetkit::testing::read_response(res);
    assert_typed_client_reads(&json);
    (status, headers, json)
}

#[test]
fn the_typed_view_refuses_what_a_typed_client_refuses() {
    let base = json!({"Description": "d", "Heading": "h", "WasSuccessful": false});
    for bad in [
        json!(null),
        json!(ANA),
        json!(2_147_483_648_i64),
        json!(1.5),
        json!("7"),
    ] {
        let mut answer = base.clone();
        answer["SystemUserId"] = bad.clone();
        assert!(
            serde_json::from_value::<TypedClientView>(answer).is_err(),
            "{bad}"
        );
    }
    let mut answer = base.clone();
    answer["SystemUserId"] = json!(0);
    assert_typed_client_reads(&answer);
    assert_typed_client_reads(&base);
}

fn body(kit: &TestKit, vid: &str, code: &str) -> Value {
    json!({
        "VerificationId": vid, "TemporaryPassword": code, "Password": NEW_PASSWORD,
        "PasswordConfirm": NEW_PASSWORD, "ApiKey": kit.keys.browser
    })
}

async fn post_json(kit: &TestKit, uri: &str, body: &Value) -> (u16, Value) {
    let req = http_request(
        "POST",
        uri,
        &[("content-type", "application/json")],
        body.to_string(),
    );
    let (status, _, json) =
        read_response(handle(&kit.service, req).await.expect("handler never errs"));
    (status, json)
}

async fn post(kit: &TestKit, body: &Value) -> (u16, Value) {
    post_json(kit, PATH, body).await
}

fn rejected() -> Value {
    json!({
        "SystemUserId": 0, "Description": "The code is invalid or has expired", "Heading": "Password not reset",
        "WasSuccessful": false,
        "ResponseStatus": {"ErrorCode": "InvalidOrExpiredCode", "Message": "The code is invalid or has expired",
                           "StackTrace": null, "Errors": [], "Meta": null}
    })
}

fn success() -> Value {
    json!({"SystemUserId": resetkit::demo::ANA_SYSTEM_USER_ID, "Description": "Your password has been reset.", "Heading": "Password reset",
           "WasSuccessful": true, "ResponseStatus": null})
}

async fn ana(kit: &TestKit) -> resetkit::domain::User {
    kit.store
        .get_user(&UserId::parse(ANA).unwrap())
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn the_staff_code_resets_the_password_once() {
    let kit = TestKit::new().await;
    let (vid, code) = staff_code(&kit).await;
    assert_eq!(post(&kit, &body(&kit, &vid, &code)).await, (200, success()));
    let user = ana(&kit).await;
    assert!(user.password_hash.as_ref().unwrap().verifies(NEW_PASSWORD));
    assert_eq!(user.credential_version, 1);
    let notice = kit.outbox.sent().pop().unwrap();
    assert_eq!(notice.subject, "Demo Salon: your password was changed");

    assert_eq!(
        post(&kit, &body(&kit, &vid, &code)).await,
        (400, rejected()),
        "reused code"
    );
    assert_eq!(ana(&kit).await.credential_version, 1);
}

#[tokio::test]
async fn a_person_stored_without_a_number_gets_one_at_their_confirm_and_keeps_it() {
    let kit = TestKit::new().await;
    kit.store.put_legacy_user(&ana(&kit).await);
    assert_eq!(ana(&kit).await.system_user_id, None, "read without failing");
    let (vid, code) = staff_code(&kit).await;

    let (status, answer) = post(&kit, &body(&kit, &vid, &code)).await;

    assert_eq!(status, 200, "{answer}");
    let given = ana(&kit).await.system_user_id.expect("numbered").get();
    assert!(given >= 1);
    assert_eq!(answer["SystemUserId"], json!(given));
    assert_eq!(
        kit.store
            .find_by_system_user_id(resetkit::domain::SystemUserId::new(given.into()).unwrap())
            .await
            .unwrap(),
        Some(UserId::parse(ANA).unwrap())
    );
    let changed = kit
        .store
        .audit_events()
        .into_iter()
        .find(|e| e.action == resetkit::domain::AuditAction::PasswordChanged)
        .unwrap();
    assert_eq!(changed.system_user_id.map(|n| n.get()), Some(given));
}

#[tokio::test]
async fn the_link_secret_works_with_lead_id_or_email() {
    let kit = TestKit::new().await;
    for subject in [
        json!({"LeadId": ANA}),
        json!({"EmailAddress": "ana@example.com"}),
    ] {
        let caller = kit
            .service
            .authenticate(
                resetkit::service::Endpoint::ForgotPassword,
                &kit.keys.server,
                &[resetkit::domain::KeyKind::Server],
                resetkit::domain::Permission::ForgotPassword,
                None,
            )
            .await
            .unwrap();
        let cmd = forgot_for_ana(&kit);
        let (_, token) = kit
            .service
            .forgot_password(&caller, cmd)
            .await
            .unwrap()
            .revealed
            .unwrap();
        let mut b = json!({"TemporaryPassword": token.expose(), "Password": NEW_PASSWORD,
                           "PasswordConfirm": NEW_PASSWORD, "ApiKey": kit.keys.browser});
        b.as_object_mut()
            .unwrap()
            .extend(subject.as_object().unwrap().clone());
        assert_eq!(post(&kit, &b).await, (200, success()), "{subject}");
    }
    assert_eq!(ana(&kit).await.credential_version, 2);
}

fn forgot_for_ana(kit: &TestKit) -> resetkit::service::ForgotPasswordCommand {
    let catalog = &kit.service.settings().fields;
    let spec = catalog.lookup_field("EmailAddress").unwrap();
    let value = catalog.parse_value(spec, "ana@example.com").unwrap();
    resetkit::service::ForgotPasswordCommand {
        search: resetkit::domain::LookupKey::new("EmailAddress", &value),
        recipient: None,
        language: None,
    }
}

#[tokio::test]
async fn a_wrong_code_and_an_expired_code_get_the_same_answer() {
    let kit = TestKit::new().await;
    let (vid, code) = staff_code(&kit).await;
    let wrong = if code == "000000" { "000001" } else { "000000" };
    assert_eq!(
        post(&kit, &body(&kit, &vid, wrong)).await,
        (400, rejected())
    );
    kit.clock.advance(601);
    assert_eq!(
        post(&kit, &body(&kit, &vid, &code)).await,
        (400, rejected()),
        "expired"
    );
    assert_eq!(ana(&kit).await.password_hash, None);
}

#[tokio::test]
async fn the_sixth_attempt_finds_the_code_burned() {
    let kit = TestKit::new().await;
    let (vid, code) = staff_code(&kit).await;
    let wrong = if code == "000000" { "000001" } else { "000000" };
    for _ in 0..5 {
        assert_eq!(
            post(&kit, &body(&kit, &vid, wrong)).await,
            (400, rejected())
        );
    }
    assert_eq!(
        post(&kit, &body(&kit, &vid, &code)).await,
        (400, rejected()),
        "right code, but burned"
    );
    assert!(kit
        .store
        .audit_events()
        .iter()
        .any(|e| e.action == resetkit::domain::AuditAction::CodeBurned));
}

#[tokio::test]
async fn only_the_latest_code_works() {
    let kit = TestKit::new().await;
    let (old_vid, old_code) = staff_code(&kit).await;
    let (new_vid, new_code) = staff_code(&kit).await;
    assert_eq!(
        post(&kit, &body(&kit, &old_vid, &old_code)).await,
        (400, rejected())
    );
    assert_eq!(
        post(&kit, &body(&kit, &new_vid, &new_code)).await,
        (200, success())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_twenty_concurrent_confirms_with_one_code_exactly_one_wins() {
    let kit = std::sync::Arc::new(TestKit::new().await);
    let (vid, code) = staff_code(&kit).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (kit, b) = (kit.clone(), body(&kit, &vid, &code));
        tasks.spawn(async move { post(&kit, &b).await });
    }
    let mut statuses = Vec::new();
    while let Some(r) = tasks.join_next().await {
        let (status, json) = r.unwrap();
        assert!(json == success() || json == rejected(), "{json}");
        statuses.push(status);
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1);
    assert_eq!(ana(&kit).await.credential_version, 1);
}

#[tokio::test]
async fn a_weak_password_is_a_field_error_and_the_code_stays_usable() {
    let kit = TestKit::new().await;
    let (vid, code) = staff_code(&kit).await;
    let mut b = body(&kit, &vid, &code);
    b["Password"] = json!("password123");
    b["PasswordConfirm"] = json!("password123");
    let (status, json) = post(&kit, &b).await;
    assert_eq!(status, 400);
    assert_eq!(json["ResponseStatus"]["Errors"][0]["FieldName"], "Password");
    assert_eq!(
        json["ResponseStatus"]["Errors"][0]["ErrorCode"],
        "PasswordTooWeak"
    );
    b["Password"] = json!("Ana.Silva-2024!");
    b["PasswordConfirm"] = json!("Ana.Silva-2024!");
    assert_eq!(
        post(&kit, &b).await.1["ResponseStatus"]["Errors"][0]["ErrorCode"],
        "PasswordTooPersonal"
    );
    assert_eq!(post(&kit, &body(&kit, &vid, &code)).await, (200, success()));
}

#[tokio::test]
async fn field_errors_name_every_field_at_once() {
    let kit = TestKit::new().await;
    let (status, json) = post(
        &kit,
        &json!({"Password": "correct horse", "PasswordConfirm": "correct horsf"}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(json["WasSuccessful"], false);
    assert_eq!(json["ResponseStatus"]["ErrorCode"], "NotEmpty");
    assert_eq!(json["ResponseStatus"]["StackTrace"], Value::Null);
    let fields: Vec<(String, String)> = json["ResponseStatus"]["Errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["FieldName"].as_str().unwrap().into(),
                e["ErrorCode"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want = [
        ("ApiKey", "NotEmpty"),
        ("TemporaryPassword", "NotEmpty"),
        ("EmailAddress", "NotEmpty"),
        ("PasswordConfirm", "NotEqual"),
    ];
    assert_eq!(fields, want.map(|(a, b)| (a.to_owned(), b.to_owned())));
}

#[tokio::test]
async fn bad_input_is_a_4xx_in_servicestack_shape() {
    let kit = TestKit::new().await;
    let (vid, code) = staff_code(&kit).await;
    let long = "x".repeat(129);
    let huge = "y".repeat(5_000);
    let mut cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"Password": long, "PasswordConfirm": long}),
            "Password",
            "MaximumLength",
        ),
        (
            json!({"Password": huge, "PasswordConfirm": huge}),
            "Password",
            "MaximumLength",
        ),
        (
            json!({"Password": "short", "PasswordConfirm": "short"}),
            "Password",
            "MinimumLength",
        ),
        (json!({"EmailAddress": "nope"}), "EmailAddress", "Email"),
        (
            json!({"VerificationId": "xyz"}),
            "VerificationId",
            "InvalidFormat",
        ),
        (
            json!({"EmailAddress": "ana@example.com", "LeadId": ANA}),
            "EmailAddress",
            "Exclusive",
        ),
        (
            json!({"Latitude": 91, "Longitude": 0}),
            "Latitude",
            "InclusiveBetween",
        ),
        (json!({"Latitude": 10}), "Latitude", "InclusiveBetween"),
        (
            json!({"Latitude": "north", "Longitude": "1"}),
            "Latitude",
            "InvalidNumber",
        ),
    ];
    for (patch, field, code_name) in cases.drain(..) {
        let mut b = body(&kit, &vid, &code);
        if patch.get("EmailAddress").is_some() || patch.get("VerificationId").is_some() {
            b.as_object_mut().unwrap().remove("VerificationId");
        }
        b.as_object_mut()
            .unwrap()
            .extend(patch.as_object().unwrap().clone());
        let (status, json) = post(&kit, &b).await;
        assert_eq!(status, 400, "{field} {code_name}");
        let errors = json["ResponseStatus"]["Errors"].as_array().unwrap();
        assert!(
            errors
                .iter()
                .any(|e| e["FieldName"] == field && e["ErrorCode"] == code_name),
            "{field} {code_name}: {}",
            json["ResponseStatus"]
        );
    }
    let raw = |b: &str, ct: &str| http_request("POST", PATH, &[("content-type", ct)], b.to_owned());
    for (req, status, code_name) in [
        (raw("{", "application/json"), 400, "SerializationException"),
        (
            raw(r#"{"Latitude": 1e400}"#, "application/json"),
            400,
            "SerializationException",
        ),
        (
            raw(r#"{"Password": 12345678}"#, "application/json"),
            400,
            "SerializationException",
        ),
        (raw("<x/>", "application/xml"), 415, "UnsupportedMediaType"),
        (
            raw(&"a".repeat(17 * 1024), "application/json"),
            413,
            "RequestTooLarge",
        ),
    ] {
        let (got, _, json) = read_response(handle(&kit.service, req).await.unwrap());
        assert_eq!(
            (got, json["ResponseStatus"]["ErrorCode"].as_str().unwrap()),
            (status, code_name)
        );
    }
    for key in [
        "nope".to_owned(),
        kit.keys.guest.clone(),
        kit.keys.portal.clone(),
    ] {
        let mut b = body(&kit, &vid, &code);
        b["ApiKey"] = json!(key);
        let (status, json) = post(&kit, &b).await;
        assert_eq!(
            (status, json["ResponseStatus"]["ErrorCode"].clone()),
            (401, json!("Unauthorized"))
        );
    }
    assert_eq!(ana(&kit).await.password_hash, None, "nothing was changed");
}

#[tokio::test]
async fn a_form_post_works_like_json() {
    let kit = TestKit::new().await;
    let (vid, code) = staff_code(&kit).await;
    let form = format!(
        "VerificationId={vid}&TemporaryPassword={code}&Password=correct+horse+battery+staple&PasswordConfirm=correct+horse+battery+staple&ApiKey={}&Latitude=41.15&Longitude=-8.61",
        kit.keys.browser
    );
    let req = http_request(
        "POST",
        PATH,
        &[("content-type", "application/x-www-form-urlencoded")],
        form,
    );
    let (status, _, json) = read_response(handle(&kit.service, req).await.unwrap());
    assert_eq!((status, json), (200, success()));
    let changed = kit
        .store
        .audit_events()
        .into_iter()
        .find(|e| e.action == resetkit::domain::AuditAction::PasswordChanged)
        .unwrap();
    assert_eq!(
        changed.location.map(|l| (l.latitude, l.longitude)),
        Some((41.15, -8.61))
    );
    assert_eq!(
        (
            changed.user_id.map(|u| u.to_string()),
            changed.system_user_id.map(|n| n.get())
        ),
        (
            Some(ANA.to_owned()),
            Some(resetkit::demo::ANA_SYSTEM_USER_ID)
        ),
        "the audit names the person by both ids"
    );
}

#[tokio::test]
async fn format_switches_and_jsonp() {
    let kit = TestKit::new().await;
    let b = json!({"ApiKey": "x"});
    for uri in [format!("{PATH}.json"), format!("{PATH}?format=json")] {
        let (status, json) = post_json(&kit, &uri, &b).await;
        assert_eq!(
            (status, json["WasSuccessful"].clone()),
            (400, json!(false)),
            "{uri}"
        );
    }
    let (status, json) = post_json(&kit, &format!("{PATH}?format=xml"), &b).await;
    assert_eq!(
        (status, json["ResponseStatus"]["ErrorCode"].clone()),
        (400, json!("InvalidFormat"))
    );

    let req = http_request(
        "POST",
        &format!("{PATH}?callback=app.done"),
        &[("content-type", "application/json")],
        b.to_string(),
    );
    let res = handle(&kit.service, req).await.unwrap();
    assert_eq!(
        res.headers()["content-type"],
        "application/javascript; charset=utf-8"
    );
    let text = String::from_utf8(res.body().as_ref().to_vec()).unwrap();
    assert!(
        text.starts_with("/**/app.done({") && text.ends_with("});"),
        "{text}"
    );
    let wrapped = &text["/**/app.done(".len()..text.len() - ");".len()];
    assert_typed_client_reads(&serde_json::from_str(wrapped).unwrap());

    for cb in ["alert(1)", "a%3Bb", "x%0Ay", "%3Cscript%3E"] {
        let req = http_request(
            "POST",
            &format!("{PATH}?callback={cb}"),
            &[("content-type", "application/json")],
            b.to_string(),
        );
        let (status, _, json) = read_response(handle(&kit.service, req).await.unwrap());
        assert_eq!(
            (status, json["ResponseStatus"]["ErrorCode"].clone()),
            (400, json!("InvalidFormat")),
            "{cb}"
        );
    }
    let req = http_request(
        "POST",
        PATH,
        &[("accept", "application/xml")],
        b.to_string(),
    );
    assert_eq!(handle(&kit.service, req).await.unwrap().status(), 406);
}

#[tokio::test]
async fn no_code_or_password_is_stored_in_clear() {
    let kit = TestKit::new().await;
    let (vid, code) = staff_code(&kit).await;
    let wrong = if code == "000000" { "000001" } else { "000000" };
    post(&kit, &body(&kit, &vid, wrong)).await;
    assert_eq!(post(&kit, &body(&kit, &vid, &code)).await.0, 200);
    let dump = kit.store.dump();
    assert!(dump.contains("$argon2id$"), "the dump shows stored hashes");
    // Whole tokens only: a six-digit code may occur by chance inside a hex hash.
    let tokens: Vec<&str> = dump
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .collect();
    for secret in [code.as_str(), wrong, kit.keys.browser.as_str()] {
        assert!(
            !tokens.contains(&secret),
            "{secret} found in a stored record"
        );
    }
    assert!(
        !dump.contains(NEW_PASSWORD) && !dump.contains("horse"),
        "the password is stored in clear"
    );
}

#[tokio::test]
async fn the_shipped_events_get_their_documented_answers() {
    let kit = TestKit::new().await;
    let (vid, code) = staff_code(&kit).await;
    let success = include_str!("../../../events/password-confirm-success.json")
        .replace("REPLACE_WITH_verification_id", &vid)
        .replace("REPLACE_WITH_verification_code", &code);
    let events = [
        (
            include_str!("../../../events/password-confirm-wrong-code.json").to_owned(),
            400,
        ),
        (
            include_str!("../../../events/password-confirm-bad-input.json").to_owned(),
            400,
        ),
        (success, 200),
    ];
    for (event, status) in events {
        let req = lambda_http::request::from_str(&event).expect("an API Gateway v2 event");
        assert_eq!(handle(&kit.service, req).await.unwrap().status(), status);
    }
}

async fn post_in(kit: &TestKit, accept_language: &str, body: &Value) -> (u16, Value) {
    let req = http_request(
        "POST",
        PATH,
        &[
            ("content-type", "application/json"),
            ("accept-language", accept_language),
        ],
        body.to_string(),
    );
    let (status, _, json) =
        read_response(handle(&kit.service, req).await.expect("handler never errs"));
    (status, json)
}

fn messages(json: &Value) -> Vec<(String, String, String)> {
    json["ResponseStatus"]["Errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["FieldName"].as_str().unwrap().into(),
                e["ErrorCode"].as_str().unwrap().into(),
                e["Message"].as_str().unwrap().into(),
            )
        })
        .collect()
}

#[tokio::test]
async fn field_errors_speak_the_browsers_language_with_the_same_codes() {
    let kit = TestKit::new().await;
    let body = json!({"ApiKey": kit.keys.browser, "Password": "short", "PasswordConfirm": "short"});
    let (status, en) = post(&kit, &body).await;
    assert_eq!(status, 400);
    let (_, fr) = post_in(&kit, "fr-CH, fr;q=0.9, en;q=0.8", &body).await;
    let (_, es) = post_in(&kit, "es", &body).await;
    let (_, unknown) = post_in(&kit, "de, ja;q=0.5", &body).await;
    let field = |json: &Value, name: &str| {
        messages(json)
            .into_iter()
            .find(|(f, _, _)| f == name)
            .map(|(_, code, message)| (code, message))
            .unwrap()
    };
    assert_eq!(
        field(&en, "Password"),
        (
            "MinimumLength".into(),
            "Password must be at least 8 characters".into()
        )
    );
    assert_eq!(
        field(&fr, "Password"),
        (
            "MinimumLength".into(),
            "Le mot de passe doit contenir au moins 8 caractères".into()
        )
    );
    assert_eq!(
        field(&es, "Password"),
        (
            "MinimumLength".into(),
            "La contraseña debe tener al menos 8 caracteres".into()
        )
    );
    assert_eq!(
        field(&fr, "TemporaryPassword"),
        (
            "NotEmpty".into(),
            "« TemporaryPassword » ne doit pas être vide.".into()
        )
    );
    assert_eq!(
        unknown, en,
        "a language the stage does not offer gets the default"
    );
    // The same codes in the same order, whatever the language.
    let codes = |json: &Value| {
        messages(json)
            .into_iter()
            .map(|(f, c, _)| (f, c))
            .collect::<Vec<_>>()
    };
    assert_eq!(codes(&fr), codes(&en));
    assert_eq!(
        fr["ResponseStatus"]["ErrorCode"],
        en["ResponseStatus"]["ErrorCode"]
    );
    assert_eq!(
        fr["ResponseStatus"]["Message"],
        messages(&fr)[0].2.as_str(),
        "the answer's message is its first field error's"
    );
}

#[tokio::test]
async fn the_password_changed_notice_speaks_the_confirms_language() {
    let kit = TestKit::new().await;
    let (vid, code) = staff_code(&kit).await;
    let (status, _) = post_in(&kit, "es-ES,es;q=0.9", &body(&kit, &vid, &code)).await;
    assert_eq!(status, 200);
    let notice = kit.outbox.sent().pop().unwrap();
    assert_eq!(notice.subject, "Demo Salon: tu contraseña ha cambiado");
    assert!(notice.html.contains("lang=\"es\""));
}
