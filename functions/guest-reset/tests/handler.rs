//! Contract A through the real handler: lambda_http requests in, exact Zenoti JSON out.

use guest_reset::handle;
use resetkit::domain::message::Destination;
use resetkit::testing::{http_request, read_response, settings, TestKit, ANA, NOEMAIL, ZOE};
use serde_json::{json, Value};

const PATH: &str = "/v1/guests/password?reset=true";

async fn post(kit: &TestKit, auth: &str, body: &str) -> (u16, Value) {
    let req = http_request(
        "POST",
        PATH,
        &[
            ("authorization", auth),
            ("content-type", "application/json"),
        ],
        body,
    );
    let (status, _, json) =
        read_response(handle(&kit.service, req).await.expect("handler never errs"));
    (status, json)
}

fn staff(kit: &TestKit) -> String {
    format!("apikey {}", kit.keys.staff)
}

fn assert_code_and_ids(body: &Value) {
    let code = body["verification_code"].as_str().expect("code");
    assert!(
        code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
        "{code}"
    );
    let vid = body["verification_id"].as_str().expect("verification_id");
    assert!(
        vid.len() == 32 && vid.bytes().all(|b| b.is_ascii_hexdigit()),
        "{vid}"
    );
}

fn error(code: u16, message: &str, user_count: u64, matched_with: u64) -> Value {
    json!({
        "success": false, "user_id": null, "user_count": user_count, "matched_with": matched_with,
        "verification_code": null, "verification_id": null,
        "error": { "code": code, "message": message }
    })
}

#[tokio::test]
async fn reset_by_email_returns_the_code_and_emails_it() {
    let kit = TestKit::new().await;
    let (status, body) = post(&kit, &staff(&kit), r#"{"email":"Ana@Example.com"}"#).await;
    assert_eq!(status, 200);
    assert_code_and_ids(&body);
    let mut expected = body.clone();
    expected["success"] = json!(true);
    assert_eq!(
        body,
        json!({
            "success": true, "user_id": ANA, "user_count": 1, "matched_with": 2,
            "verification_code": body["verification_code"], "verification_id": body["verification_id"], "error": null
        })
    );
    let sent = kit.outbox.sent();
    assert_eq!(sent.len(), 1);
    assert!(matches!(&sent[0].to, Destination::Email(e) if e.as_ref() == "ana@example.com"));
    assert!(sent[0]
        .text
        .contains(body["verification_code"].as_str().unwrap()));
}

#[tokio::test]
async fn username_wins_over_email_and_mobile_matches_in_national_form() {
    let kit = TestKit::new().await;
    let (_, body) = post(
        &kit,
        &staff(&kit),
        r#"{"username":"ANA.silva","email":"nobody@example.com"}"#,
    )
    .await;
    assert_eq!(
        (body["matched_with"].clone(), body["user_id"].clone()),
        (json!(1), json!(ANA))
    );

    let (status, body) = post(
        &kit,
        &staff(&kit),
        r#"{"mobile":"(415) 741-5569","country_code":"US"}"#,
    )
    .await;
    assert_eq!((status, body["matched_with"].clone()), (200, json!(3)));
    let (status, body) = post(
        &kit,
        &staff(&kit),
        r#"{"mobile":"4157415569","country_code":1}"#,
    )
    .await;
    assert_eq!((status, body["user_id"].clone()), (200, json!(ANA)));
}

#[tokio::test]
async fn no_match_is_404_user_not_found_and_sends_nothing() {
    let kit = TestKit::new().await;
    let (status, body) = post(&kit, &staff(&kit), r#"{"email":"nobody@example.com"}"#).await;
    assert_eq!(status, 404);
    assert_eq!(body, error(404, "User Not Found", 0, 0));
    assert!(kit.outbox.sent().is_empty());
}

#[tokio::test]
async fn several_matches_are_400_with_count_and_source_then_first_name_narrows() {
    let kit = TestKit::new().await;
    let (status, body) = post(&kit, &staff(&kit), r#"{"email":"family@example.com"}"#).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        error(400, "2 guests match; add first_name to choose one", 2, 2)
    );
    assert!(
        kit.outbox.sent().is_empty(),
        "nothing is sent unless exactly one matches"
    );

    let (status, body) = post(
        &kit,
        &staff(&kit),
        r#"{"email":"family@example.com","first_name":"ZOE"}"#,
    )
    .await;
    assert_eq!((status, body["user_id"].clone()), (200, json!(ZOE)));
    let (status, body) = post(
        &kit,
        &staff(&kit),
        r#"{"email":"family@example.com","first_name":"Maria"}"#,
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(body, error(404, "User Not Found", 0, 2));
}

#[tokio::test]
async fn sms_is_used_when_asked_or_when_there_is_no_email() {
    let kit = TestKit::new().await;
    let (status, _) = post(
        &kit,
        &staff(&kit),
        r#"{"username":"ana.silva","channel":"sms"}"#,
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = post(&kit, &staff(&kit), r#"{"username":"nuno"}"#).await;
    assert_eq!((status, body["user_id"].clone()), (200, json!(NOEMAIL)));
    let sent = kit.outbox.sent();
    assert!(matches!(&sent[0].to, Destination::Sms(p) if p.as_ref() == "+14157415569"));
    assert!(matches!(&sent[1].to, Destination::Sms(p) if p.as_ref() == "+442079460959"));
    let (status, body) = post(
        &kit,
        &staff(&kit),
        r#"{"username":"zara.k","channel":"sms"}"#,
    )
    .await;
    assert_eq!(
        (status, body["error"]["message"].clone()),
        (400, json!("The guest has no sms on file"))
    );
}

#[tokio::test]
async fn only_employees_with_guests_edit_may_call() {
    let kit = TestKit::new().await;
    let body = r#"{"email":"ana@example.com"}"#;
    let refused = [
        format!("apikey {}", kit.keys.guest),
        format!("bearer {}", kit.keys.guest),
        format!("apikey {}", kit.keys.staff_without_permission),
        format!("apikey {}", kit.keys.portal),
        "apikey nope".to_owned(),
        kit.keys.staff.clone(),
        format!("basic {}", kit.keys.staff),
        String::new(),
    ];
    for auth in refused {
        let (status, json) = post(&kit, &auth, body).await;
        assert_eq!(status, 401, "{auth}");
        assert_eq!(json["error"]["code"], 401);
    }
    let (status, _) = post(&kit, &format!("Bearer {}", kit.keys.staff), body).await;
    assert_eq!(status, 200);
    assert_eq!(kit.outbox.sent().len(), 1);

    let doubled = http_request(
        "POST",
        PATH,
        &[
            ("authorization", &staff(&kit)),
            ("authorization", &staff(&kit)),
            ("content-type", "application/json"),
        ],
        body,
    );
    assert_eq!(
        handle(&kit.service, doubled).await.unwrap().status(),
        401,
        "a doubled header is refused"
    );
}

#[tokio::test]
async fn bad_input_gets_a_400_that_says_what_is_wrong() {
    let kit = TestKit::new().await;
    let cases: &[(&str, u16, &str)] = &[
        ("{", 400, "Request body is not valid: EOF while parsing an object at line 1 column 1"),
        (r#"{"email": 5}"#, 400, "Request body is not valid: invalid type: integer `5`, expected a string at line 1 column 11"),
        ("{}", 400, "One of username, email or mobile is required"),
        ("", 400, "Request body is empty"),
        (r#"{"email":"not-an-email"}"#, 400, "email: 'not-an-email' is not a valid email address"),
        (r#"{"mobile":"12"}"#, 400, "mobile: '12' is not a valid phone number"),
        (r#"{"email":"ana@example.com","channel":"fax"}"#, 400, "channel: must be 'email' or 'sms'"),
        (r#"{"email":"ana@example.com","first_name":"\u0007"}"#, 400, "first_name: must not contain control characters"),
    ];
    for (body, status, message) in cases {
        let (got, json) = post(&kit, &staff(&kit), body).await;
        assert_eq!(
            (got, json["error"]["message"].as_str().unwrap()),
            (*status, *message),
            "{body}"
        );
        assert_eq!(json["error"]["code"], *status);
    }
    let big = format!(
        r#"{{"email":"ana@example.com","x":"{}"}}"#,
        "a".repeat(17 * 1024)
    );
    assert_eq!(post(&kit, &staff(&kit), &big).await.0, 413);

    let xml = http_request(
        "POST",
        PATH,
        &[
            ("authorization", &staff(&kit)),
            ("content-type", "text/xml"),
        ],
        "<a/>",
    );
    let (status, _, json) = read_response(handle(&kit.service, xml).await.unwrap());
    assert_eq!((status, json["error"]["code"].clone()), (415, json!(415)));

    let no_flag = http_request(
        "POST",
        "/v1/guests/password",
        &[("authorization", &staff(&kit))],
        "{}",
    );
    let (status, _, json) = read_response(handle(&kit.service, no_flag).await.unwrap());
    assert_eq!(
        (status, json["error"]["message"].clone()),
        (400, json!("Query parameter reset=true is required"))
    );
    assert!(kit.outbox.sent().is_empty());
}

#[tokio::test]
async fn a_stage_can_keep_the_code_out_of_the_response() {
    let mut s = settings();
    s.staff_code_in_response = false;
    let kit = TestKit::with_settings(s).await;
    let (status, body) = post(&kit, &staff(&kit), r#"{"email":"ana@example.com"}"#).await;
    assert_eq!(
        (status, body["verification_code"].clone()),
        (200, Value::Null)
    );
    assert!(body["verification_id"].is_string());
}

#[tokio::test]
async fn a_queue_that_cannot_take_the_code_is_503_and_the_code_is_withdrawn() {
    let kit = TestKit::new().await;
    kit.queue.refuse(true);
    let (status, body) = post(&kit, &staff(&kit), r#"{"email":"ana@example.com"}"#).await;
    assert_eq!(status, 503);
    assert_eq!(
        body["error"]["message"],
        "Service temporarily unavailable; retry later"
    );
    assert_eq!(
        ana(&kit).await.latest_verification,
        None,
        "the code nobody will send is no longer active"
    );
    assert!(kit.outbox.sent().is_empty());
}

#[tokio::test]
async fn a_code_the_provider_refuses_is_withdrawn_by_the_courier() {
    let kit = TestKit::new().await;
    kit.outbox.fail_deliveries(true);
    let (status, body) = post(&kit, &staff(&kit), r#"{"email":"ana@example.com"}"#).await;
    // Staff got their answer once the code was queued; the courier met the refusal later.
    assert_eq!(status, 200, "{body}");
    assert_eq!(ana(&kit).await.latest_verification, None);
    let id =
        resetkit::domain::VerificationId::parse(body["verification_id"].as_str().unwrap()).unwrap();
    let record = resetkit::ports::VerificationStore::get_verification(
        &kit.store,
        &id,
        resetkit::ports::Clock::now(&kit.clock),
    )
    .await
    .unwrap()
    .expect("the record stays readable");
    assert_eq!(record.delivery, resetkit::domain::Delivery::Undelivered);
    assert!(kit
        .store
        .audit_events()
        .iter()
        .any(|e| e.action == resetkit::domain::AuditAction::SendFailed
            && e.detail.as_deref() == Some("delivery_failed")));
}

async fn ana(kit: &TestKit) -> resetkit::domain::User {
    resetkit::ports::UserDirectory::get_user(
        &kit.store,
        &resetkit::domain::UserId::parse(ANA).unwrap(),
    )
    .await
    .unwrap()
    .unwrap()
}

#[tokio::test]
async fn the_shipped_events_get_their_documented_answers() {
    let kit = TestKit::new().await;
    let events = [
        (
            include_str!("../../../events/guest-reset-success.json"),
            200,
        ),
        (
            include_str!("../../../events/guest-reset-narrowed.json"),
            200,
        ),
        (
            include_str!("../../../events/guest-reset-ambiguous.json"),
            400,
        ),
        (
            include_str!("../../../events/guest-reset-no-match.json"),
            404,
        ),
        (
            include_str!("../../../events/guest-reset-bad-input.json"),
            400,
        ),
        (
            include_str!("../../../events/guest-reset-guest-token.json"),
            401,
        ),
    ];
    for (event, status) in events {
        let req = lambda_http::request::from_str(event).expect("an API Gateway v2 event");
        assert_eq!(handle(&kit.service, req).await.unwrap().status(), status);
    }
    let audit = kit.store.audit_events();
    assert!(
        audit
            .iter()
            .all(|e| e.source_ip.as_deref() == Some("203.0.113.10")),
        "source IP comes from the request context"
    );
}
