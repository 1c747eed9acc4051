//! Messages in the person's language, on the production wiring against the emulator: the
//! person's own `Locale`, else the request's `Accept-Language`, else the stage's default.
//! Subjects and HTML are read back from what the emulator captured (moto keeps one body,
//! the HTML); the text part from the SES v2 request itself, recorded on its way to the
//! emulator by the courier's HTTP client.

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpClient, HttpConnector, HttpConnectorFuture, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use resetkit::config;
use resetkit::demo::{PORTAL_KEY, STAFF_KEY};
use serde_json::{json, Value};

use crate::helpers::{
    captured_messages, gateway_request, link_param, random_hex, spawn_courier_app,
    unique_us_mobile, Person, TestApp,
};

/// The mail as SES v2 received it: `(to, text part)` of every `SendEmail` (moto keeps the
/// subject and the HTML part).
#[derive(Debug, Clone, Default)]
struct SesRecorder(Arc<Mutex<Vec<(String, String)>>>);

impl SesRecorder {
    fn http_client(&self) -> SharedHttpClient {
        let inner = aws_smithy_http_client::Builder::new().build_http();
        let recorder = self.clone();
        http_client_fn(move |settings, components| {
            SharedHttpConnector::new(Recording {
                inner: inner.http_connector(settings, components),
                recorder: recorder.clone(),
            })
        })
    }

    /// The text part of the last mail to `to`.
    fn text_to(&self, to: &str) -> String {
        self.0
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|(address, _)| address == to)
            .map(|(_, text)| text.clone())
            .unwrap_or_else(|| panic!("no SES SendEmail to {to}"))
    }
}

#[derive(Debug)]
struct Recording {
    inner: SharedHttpConnector,
    recorder: SesRecorder,
}

impl HttpConnector for Recording {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        if request.uri().ends_with("/v2/email/outbound-emails") {
            let sent = request
                .body()
                .bytes()
                .and_then(|b| serde_json::from_slice::<Value>(b).ok());
            if let Some(sent) = sent {
                let field = |v: &Value| v.as_str().unwrap_or_default().to_owned();
                self.recorder.0.lock().unwrap().push((
                    field(&sent["Destination"]["ToAddresses"][0]),
                    field(&sent["Content"]["Simple"]["Body"]["Text"]["Data"]),
                ));
            }
        }
        self.inner.call(request)
    }
}

/// What a reset link mail says in each shipped locale, brand "Demo Salon":
/// `(locale, subject, a sentence of the text part, a sentence of the HTML part)`.
const LINK_MAIL: [(&str, &str, &str, &str); 3] = [
    (
        "en",
        "Demo Salon: reset your password",
        "Open this link to choose a new Demo Salon password:",
        "Choose a new Demo Salon password with this button:",
    ),
    (
        "es",
        "Demo Salon: restablece tu contraseña",
        "Abre este enlace para elegir una nueva contraseña de Demo Salon:",
        "Elige una nueva contraseña de Demo Salon con este botón:",
    ),
    (
        "fr",
        "Demo Salon : réinitialisez votre mot de passe",
        "Ouvrez ce lien pour choisir un nouveau mot de passe Demo Salon :",
        "Choisissez un nouveau mot de passe Demo Salon avec ce bouton :",
    ),
];

fn link_mail(locale: &str) -> (&'static str, &'static str, &'static str) {
    LINK_MAIL
        .iter()
        .find(|(l, ..)| *l == locale)
        .map(|(_, subject, text, html)| (*subject, *text, *html))
        .unwrap_or_else(|| panic!("no expectations for {locale}"))
}

async fn app_with(overrides: &[(&str, &str)], recorder: &SesRecorder) -> TestApp {
    spawn_courier_app(overrides, |sdk| {
        sdk.to_builder().http_client(recorder.http_client()).build()
    })
    .await
}

/// A new person, with `locale` as their `Locale` field when given.
async fn person(app: &TestApp, first_name: &str, locale: Option<&str>) -> Person {
    let tag = random_hex(6);
    let mut line = json!({
        "first_name": first_name,
        "email": format!("l-{tag}@example.com"),
        "mobile": unique_us_mobile(),
        "fields": {"mx_Member_Code": format!("M-{tag}")},
    });
    if let Some(locale) = locale {
        line["fields"]["Locale"] = json!(locale);
    }
    app.import(&line).await
}

/// Contract B through the function with the browser's `Accept-Language`, then the courier.
async fn ask_for_link(app: &TestApp, person: &Person, accept_language: Option<&str>) {
    let mut headers = vec![("authorization", PORTAL_KEY)];
    if let Some(languages) = accept_language {
        headers.push(("accept-language", languages));
    }
    let req = gateway_request(
        "/api/Authentication/ForgotPassword",
        "198.51.100.30",
        &headers,
        &json!({"EmailAddress": person.email}),
    );
    let res = forgot_password::handle(&app.service, req)
        .await
        .expect("the handler answers every request");
    assert_eq!(res.status(), 200);
    app.deliver().await;
}

/// The person's one link mail reads as `locale`'s: subject, text and HTML.
async fn assert_link_mail_in(app: &TestApp, recorder: &SesRecorder, person: &Person, locale: &str) {
    let (subject, text_line, html_line) = link_mail(locale);
    let captured = captured_messages(&app.stack.endpoint).await;
    let mails = captured.emails_to(&person.email);
    assert_eq!(mails.len(), 1, "one mail to {}", person.email);
    assert_eq!(mails[0].subject, subject, "{locale}");
    let html = &mails[0].body;
    assert!(
        html.contains(&format!("<html lang=\"{locale}\">")),
        "{locale}: {html}"
    );
    assert!(html.contains(html_line), "{locale}: {html}");
    assert_eq!(link_param(html, "LeadId"), person.id.as_ref());
    let text = recorder.text_to(&person.email);
    assert!(text.contains(text_line), "{locale}: {text}");
    assert_eq!(link_param(&text, "LeadId"), person.id.as_ref());
}

#[tokio::test]
async fn mail_for_a_person_with_each_shipped_locale_arrives_in_that_language() {
    // Arrange
    let recorder = SesRecorder::default();
    let app = app_with(&[], &recorder).await;
    let shipped = resetkit::domain::catalogue::LOCALES;
    assert_eq!(
        shipped,
        ["en", "es", "fr"],
        "a new locale needs its lines in LINK_MAIL"
    );

    for locale in shipped {
        // Their own locale wins over the browser's, which asks for another one.
        let other = shipped.iter().find(|l| *l != locale).expect("two locales");
        let someone = person(&app, "Ana", Some(locale)).await;

        // Act
        ask_for_link(&app, &someone, Some(other)).await;

        // Assert
        assert_link_mail_in(&app, &recorder, &someone, locale).await;
    }
}

#[tokio::test]
async fn accept_language_chooses_the_language_of_a_person_without_one() {
    // Arrange
    let recorder = SesRecorder::default();
    let app = app_with(&[], &recorder).await;
    let spanish = person(&app, "Lucía", None).await;
    let french = person(&app, "Zoé", None).await;
    let nobody_asked = person(&app, "Ana", None).await;

    // Act: a regional variant finds its language; an unoffered first choice is skipped.
    ask_for_link(&app, &spanish, Some("es-419,es;q=0.9,en;q=0.5")).await;
    ask_for_link(&app, &french, Some("de-DE,fr-CA;q=0.8,en;q=0.5")).await;
    ask_for_link(&app, &nobody_asked, None).await;

    // Assert
    assert_link_mail_in(&app, &recorder, &spanish, "es").await;
    assert_link_mail_in(&app, &recorder, &french, "fr").await;
    assert_link_mail_in(&app, &recorder, &nobody_asked, "en").await;
}

#[tokio::test]
async fn an_unknown_locale_falls_back_to_the_stage_default() {
    // Arrange: a French stage that offers French and English.
    let recorder = SesRecorder::default();
    let app = app_with(
        &[(config::DEFAULT_LOCALE, "fr"), (config::LOCALES, "fr,en")],
        &recorder,
    )
    .await;
    let german = person(&app, "Jonas", Some("de-AT")).await;
    let spanish = person(&app, "Lucía", Some("es")).await;

    // Act: neither their locale nor the browser's is offered here.
    ask_for_link(&app, &german, Some("de-AT,ja;q=0.5")).await;
    ask_for_link(&app, &spanish, Some("es")).await;

    // Assert
    assert_link_mail_in(&app, &recorder, &german, "fr").await;
    assert_link_mail_in(&app, &recorder, &spanish, "fr").await;
}

#[tokio::test]
async fn a_code_sms_is_in_the_persons_language_and_ends_with_the_origin_bound_line() {
    // Arrange
    let recorder = SesRecorder::default();
    let app = app_with(&[], &recorder).await;
    let guest = person(&app, "Inès", Some("fr")).await;

    // Act
    let (status, issued) = app
        .post_guest_reset(
            STAFF_KEY,
            &json!({"mobile": guest.mobile, "channel": "sms"}),
        )
        .await;

    // Assert
    assert_eq!(status, 200, "{issued}");
    let code = issued["verification_code"].as_str().expect("code");
    let captured = captured_messages(&app.stack.endpoint).await;
    let texts = captured.sms_to(&guest.mobile);
    assert_eq!(texts.len(), 1, "{:?}", captured.sms);
    let sms = &texts[0].message;
    assert!(
        sms.starts_with(&format!(
            "Demo Salon : votre code de réinitialisation est {code}."
        )),
        "{sms}"
    );
    // The link template's host (helpers::LINK_TEMPLATE), so a browser offers the code on
    // that site only.
    assert_eq!(
        sms.lines().last(),
        Some(format!("@reset.example.com #{code}").as_str())
    );
    let size = resetkit::domain::catalogue::SmsSize::of(sms);
    assert!(size.gsm7 && size.segments == 1, "{size:?}");
}
