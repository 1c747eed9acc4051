//! Contract B through the real handler: lambda_http requests in, exact LeadSquared JSON out.

use forgot_password::handle;
use lambda_http::http::HeaderMap;
use resetkit::demo::JOHN;
use resetkit::domain::message::Destination;
use resetkit::testing::{http_request, TestKit, ANA, NOEMAIL};
use serde_json::{json, Value};

const PATH: &str = "/api/Authentication/ForgotPassword";

async fn post_raw(kit: &TestKit, key: &str, body: &str) -> (u16, HeaderMap, Vec<u8>) {
    let req = http_request(
        "POST",
        PATH,
        &[("authorization", key), ("content-type", "application/json")],
        body,
    );
    let res = handle(&kit.service, req).await.expect("handler never errs");
    (
        res.status().as_u16(),
        res.headers().clone(),
        res.body().as_ref().to_vec(),
    )
}

async fn post(kit: &TestKit, key: &str, body: &str) -> (u16, Value) {
    let (status, _, bytes) = post_raw(kit, key, body).await;
    (status, serde_json::from_slice(&bytes).expect("json"))
}

fn success() -> Value {
    json!({"Status": "Success", "Message": "Reset link sent successfully"})
}

fn invalid(message: &str) -> Value {
    json!({"Status": "Error", "ExceptionType": "MXInvalidInputException", "ExceptionMessage": message})
}

#[tokio::test]
async fn a_known_email_gets_a_link_by_email() {
    let kit = TestKit::new().await;
    let (status, body) = post(
        &kit,
        &kit.keys.portal,
        r#"{"EmailAddress":"ana@example.com"}"#,
    )
    .await;
    assert_eq!((status, body), (200, success()));
    let sent = kit.outbox.sent();
    assert_eq!(sent.len(), 1);
    assert!(matches!(&sent[0].to, Destination::Email(e) if e.as_ref() == "ana@example.com"));
    let prefix = format!("https://reset.example.com/reset#LeadId={ANA}&TemporaryPassword=");
    assert!(sent[0].text.contains(&prefix), "{}", sent[0].text);
}

#[tokio::test]
async fn known_and_unknown_people_get_byte_identical_answers() {
    let kit = TestKit::new().await;
    let known = post_raw(
        &kit,
        &kit.keys.portal,
        r#"{"EmailAddress":"ana@example.com"}"#,
    )
    .await;
    let unknown = post_raw(
        &kit,
        &kit.keys.portal,
        r#"{"EmailAddress":"nobody@example.com"}"#,
    )
    .await;
    let ambiguous = post_raw(
        &kit,
        &kit.keys.portal,
        r#"{"EmailAddress":"family@example.com"}"#,
    )
    .await;
    assert_eq!(known, unknown);
    assert_eq!(known, ambiguous);
    assert_eq!(
        kit.outbox.sent().len(),
        1,
        "only the unique match was sent anything"
    );
}

/// LeadSquared's documentation, byte for byte: the email sample, the phone search and the
/// phone search with the phone as recipient. The lead is John (`johnwick@example.com`,
/// Phone `+14-157415569`).
pub const DOC_BY_EMAIL: &str = "{\n  \"EmailAddress\": \"johnwick@example.com\"\n}";
pub const DOC_BY_PHONE: &str =
    "{\n\"SearchKeyData\":{\n\"SchemaName\":\"Phone\",\n\"Value\":\"+14-157415569\"\n}\n}";
pub const DOC_BY_PHONE_TO_PHONE: &str = "{\n\"SearchKeyData\":{\n\"SchemaName\":\"Phone\",\n\"Value\":\"+14-157415569\"\n},\n\"RecipientField\":{\n\"SchemaName\":\"Phone\"\n}\n}";

#[tokio::test]
async fn the_documentation_samples_answer_as_documented_on_the_documented_channel() {
    // Sent to the phone, the link is followed by a notice to the person's own address.
    for (body, to) in [
        (DOC_BY_EMAIL, &["mail:johnwick@example.com"][..]),
        (DOC_BY_PHONE, &["mail:johnwick@example.com"]),
        (
            DOC_BY_PHONE_TO_PHONE,
            &["sms:+14157415569", "mail:johnwick@example.com"],
        ),
    ] {
        let kit = TestKit::new().await;
        assert_eq!(
            post(&kit, &kit.keys.portal, body).await,
            (200, success()),
            "{body}"
        );
        let sent: Vec<String> = kit
            .outbox
            .sent()
            .iter()
            .map(|m| match &m.to {
                Destination::Email(e) => format!("mail:{}", e.as_ref()),
                Destination::Sms(p) => format!("sms:{}", p.as_ref()),
            })
            .collect();
        assert_eq!(sent, to, "{body}");
        let link = format!("https://reset.example.com/reset#LeadId={JOHN}&TemporaryPassword=");
        assert!(kit.outbox.sent()[0].text.contains(&link));
    }
}

#[tokio::test]
async fn a_phone_search_without_recipient_field_mails_the_person_and_sends_no_sms() {
    let kit = TestKit::new().await;
    let search = r#"{"SearchKeyData":{"SchemaName":"Phone","Value":"+1 (650) 253-0000"}}"#;
    assert_eq!(post(&kit, &kit.keys.portal, search).await, (200, success()));
    let sent = kit.outbox.sent();
    assert_eq!(sent.len(), 1);
    assert!(matches!(&sent[0].to, Destination::Email(e) if e.as_ref() == "ana@example.com"));
}

#[tokio::test]
async fn a_person_without_email_gets_nothing_and_the_generic_answer() {
    let kit = TestKit::new().await;
    // Nuno has a mobile and no email.
    let body = r#"{"SearchKeyData":{"SchemaName":"Username","Value":"nuno"}}"#;
    assert_eq!(post(&kit, &kit.keys.portal, body).await, (200, success()));
    assert!(kit.outbox.sent().is_empty());
    let events = kit.store.audit_events();
    let suppressed = events
        .iter()
        .find(|e| e.user_id.as_ref().map(|u| u.as_ref()) == Some(NOEMAIL))
        .and_then(|e| e.detail.as_deref());
    assert_eq!(suppressed, Some("no_email_on_record"));
}

#[tokio::test]
async fn search_by_phone_field_and_deliver_to_another_field() {
    let kit = TestKit::new().await;
    let search = r#"{"SearchKeyData":{"SchemaName":"Phone","Value":"+1-6502530000"},"RecipientField":{"SchemaName":"Phone"}}"#;
    assert_eq!(post(&kit, &kit.keys.portal, search).await, (200, success()));
    let to_mobile = r#"{"SearchKeyData":{"SchemaName":"Phone","Value":"+16502530000"},"RecipientField":{"SchemaName":"Mobile"}}"#;
    assert_eq!(
        post(&kit, &kit.keys.portal, to_mobile).await,
        (200, success())
    );
    let to_alt =
        r#"{"EmailAddress":"ana@example.com","RecipientField":{"SchemaName":"mx_Alt_Email"}}"#;
    assert_eq!(post(&kit, &kit.keys.portal, to_alt).await, (200, success()));
    let sent = kit.outbox.sent();
    let links: Vec<_> = sent.iter().filter(|m| m.text.contains("LeadId=")).collect();
    assert!(
        matches!(&links[0].to, Destination::Sms(p) if p.as_ref() == "+16502530000"),
        "the phone named as recipient gets SMS"
    );
    assert!(matches!(&links[1].to, Destination::Sms(p) if p.as_ref() == "+14157415569"));
    assert!(matches!(&links[2].to, Destination::Email(e) if e.as_ref() == "ana.alt@example.org"));
    let notices: Vec<_> = sent
        .iter()
        .filter(|m| m.subject == "Demo Salon: a password reset link was sent")
        .map(|m| (m.to.masked(), m.text.contains(&links[0].to.masked())))
        .collect();
    assert_eq!(
        notices.len(),
        3,
        "each link sent elsewhere is announced at home"
    );
    assert!(notices.iter().all(|(to, _)| to == "a***@example.com"));
    assert!(notices[0].1, "the notice names where the link went, masked");
}

#[tokio::test]
async fn a_recipient_field_the_stage_does_not_trust_is_400_and_nothing_is_sent() {
    let kit = TestKit::new().await;
    // mx_Form_Email is an email field a lead-capture form fills in: not deliverable.
    let body =
        r#"{"EmailAddress":"ana@example.com","RecipientField":{"SchemaName":"mx_Form_Email"}}"#;
    assert_eq!(
        post(&kit, &kit.keys.portal, body).await,
        (
            400,
            invalid("field 'mx_Form_Email' is not declared deliverable on this stage")
        )
    );
    assert!(kit.outbox.sent().is_empty());
}

#[tokio::test]
async fn a_missing_recipient_value_suppresses_the_send_with_the_same_answer() {
    let kit = TestKit::new().await;
    let body = r#"{"EmailAddress":"zara.k@example.com","RecipientField":{"SchemaName":"Mobile"}}"#;
    assert_eq!(post(&kit, &kit.keys.portal, body).await, (200, success()));
    let body = r#"{"SearchKeyData":{"SchemaName":"Username","Value":"zara.k"},"RecipientField":{"SchemaName":"Mobile"}}"#;
    assert_eq!(post(&kit, &kit.keys.portal, body).await, (200, success()));
    assert!(kit.outbox.sent().is_empty());
    assert!(kit
        .store
        .audit_events()
        .iter()
        .any(|e| e.detail.as_deref() == Some("recipient_missing")));
}

#[tokio::test]
async fn only_a_server_key_with_the_right_sees_lead_id_and_temporary_password() {
    let kit = TestKit::new().await;
    let (status, body) = post(
        &kit,
        &kit.keys.server,
        r#"{"EmailAddress":"ana@example.com"}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["LeadId"], ANA);
    assert_eq!(body["TemporaryPassword"].as_str().map(str::len), Some(43));
    assert!(
        kit.outbox.sent().is_empty(),
        "the integrator sends its own mail"
    );
    let (_, body) = post(
        &kit,
        &kit.keys.server,
        r#"{"EmailAddress":"nobody@example.com"}"#,
    )
    .await;
    assert_eq!(body, success());
}

#[tokio::test]
async fn bad_keys_are_401() {
    let kit = TestKit::new().await;
    for key in ["", "nope", &kit.keys.staff, &kit.keys.browser] {
        let (status, body) = post(&kit, key, r#"{"EmailAddress":"ana@example.com"}"#).await;
        assert_eq!(status, 401, "{key}");
        assert_eq!(body["ExceptionType"], "MXUnAuthorizedAccessException");
    }
}

#[tokio::test]
async fn bad_input_is_400_in_leadsquared_shape() {
    let kit = TestKit::new().await;
    let cases: &[(&str, &str)] = &[
        ("{", "Request body is not valid: EOF while parsing an object at line 1 column 1"),
        ("{}", "EmailAddress or SearchKeyData is required"),
        (r#"{"EmailAddress":"a@b.com","SearchKeyData":{"SchemaName":"Phone","Value":"1"}}"#, "Send either EmailAddress or SearchKeyData, not both"),
        (r#"{"EmailAddress":7}"#, "Request body is not valid: invalid type: integer `7`, expected a string at line 1 column 17"),
        (r#"{"EmailAddress":"nope"}"#, "invalid value for 'EmailAddress': 'nope' is not a valid email address"),
        (r#"{"SearchKeyData":{"SchemaName":"Fax","Value":"1"}}"#, "unknown SchemaName 'Fax'"),
        (r#"{"SearchKeyData":{"SchemaName":"mx_City","Value":"Porto"}}"#, "SchemaName 'mx_City' is not a unique lookup field"),
        (r#"{"SearchKeyData":{"SchemaName":"Phone"}}"#, "Request body is not valid: missing field `Value` at line 1 column 39"),
        (r#"{"EmailAddress":"ana@example.com","RecipientField":{"SchemaName":"mx_City"}}"#, "field 'mx_City' is neither a phone nor an email field"),
        (r#"{"EmailAddress":"ana@example.com","RecipientField":{"SchemaName":"Nope"}}"#, "unknown SchemaName 'Nope'"),
    ];
    for (body, message) in cases {
        assert_eq!(
            post(&kit, &kit.keys.portal, body).await,
            (400, invalid(message)),
            "{body}"
        );
    }
    let big = format!(
        r#"{{"EmailAddress":"{}@example.com"}}"#,
        "a".repeat(17 * 1024)
    );
    let (status, body) = post(&kit, &kit.keys.portal, &big).await;
    assert_eq!(
        (status, body["ExceptionType"].clone()),
        (413, json!("MXRequestTooLargeException"))
    );
    assert!(kit.outbox.sent().is_empty());
}

#[tokio::test]
async fn the_26th_call_in_5_seconds_is_429_with_retry_after() {
    let kit = TestKit::new().await;
    for _ in 0..25 {
        assert_eq!(
            post(
                &kit,
                &kit.keys.portal,
                r#"{"EmailAddress":"nobody@example.com"}"#
            )
            .await
            .0,
            200
        );
    }
    let (status, headers, body) = post_raw(
        &kit,
        &kit.keys.portal,
        r#"{"EmailAddress":"nobody@example.com"}"#,
    )
    .await;
    assert_eq!(status, 429);
    assert!(headers.get("retry-after").is_some());
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["ExceptionType"], "MXAPIRateLimitExceededException");
    kit.clock.advance(5);
    assert_eq!(
        post(
            &kit,
            &kit.keys.portal,
            r#"{"EmailAddress":"nobody@example.com"}"#
        )
        .await
        .0,
        200
    );
}

#[tokio::test]
async fn the_shipped_events_get_their_documented_answers() {
    let kit = TestKit::new().await;
    let events = [
        (
            include_str!("../../../events/forgot-password-success.json"),
            200,
        ),
        (
            include_str!("../../../events/forgot-password-sms.json"),
            200,
        ),
        (
            include_str!("../../../events/forgot-password-no-match.json"),
            200,
        ),
        (
            include_str!("../../../events/forgot-password-bad-input.json"),
            400,
        ),
    ];
    for (event, status) in events {
        let req = lambda_http::request::from_str(event).expect("an API Gateway v2 event");
        assert_eq!(handle(&kit.service, req).await.unwrap().status(), status);
    }
    // The email link, and the SMS link with its notice to the person's email.
    assert_eq!(kit.outbox.sent().len(), 3);
}

async fn ask_in(kit: &TestKit, email: &str, accept_language: &str) -> String {
    let before = kit.outbox.sent().len();
    let req = http_request(
        "POST",
        PATH,
        &[
            ("authorization", kit.keys.portal.as_str()),
            ("content-type", "application/json"),
            ("accept-language", accept_language),
        ],
        json!({ "EmailAddress": email }).to_string(),
    );
    let res = handle(&kit.service, req).await.expect("handler never errs");
    assert_eq!(res.status(), 200);
    let sent = kit.outbox.sent();
    assert_eq!(sent.len(), before + 1, "one link to {email}");
    sent[before].subject.clone()
}

#[tokio::test]
async fn the_link_speaks_the_persons_locale_else_the_requests_else_the_stage_default() {
    use resetkit::ports::UserDirectory;
    let kit = TestKit::new().await;
    let lucia = serde_json::from_value::<resetkit::domain::import::UserImport>(json!({
        "first_name": "Lucía", "email": "lucia@example.com", "fields": {"Locale": "es-MX"}
    }))
    .unwrap();
    let (user, keys) = lucia
        .into_user(&kit.service.settings().fields, || {
            resetkit::domain::UserId::from_random([7; 16])
        })
        .unwrap();
    kit.store.create_user(&user, &keys).await.unwrap();

    // Her own locale (es-MX finds es) wins over the browser's French.
    let subject = ask_in(&kit, "lucia@example.com", "fr-FR,fr;q=0.9").await;
    assert_eq!(subject, "Demo Salon: restablece tu contraseña");
    // Ana has none: the request's first offered language.
    let subject = ask_in(&kit, "ana@example.com", "de-DE, fr;q=0.8, en;q=0.5").await;
    assert_eq!(subject, "Demo Salon : réinitialisez votre mot de passe");
    // Nothing offered: the stage's default.
    let subject = ask_in(&kit, "ana@example.com", "de-DE, ja;q=0.5").await;
    assert_eq!(subject, "Demo Salon: reset your password");
}
