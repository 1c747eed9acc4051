//! Contract D through the real handler: the reset page, its assets and their headers.

use lambda_http::http::HeaderMap;
use password_confirm::handle;
use resetkit::domain::{
    ApiKeyRecord, Channel, EmailAddress, KeyKind, Permission, PresentedKey, UserId,
};
use resetkit::ports::{ApiKeyStore, UserDirectory};
use resetkit::service::GuestResetCommand;
use resetkit::testing::{http_request, read_response, settings, TestKit, ANA};
use serde_json::json;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; \
                   form-action 'self'; base-uri 'none'; frame-ancestors 'none'; require-trusted-types-for 'script'";

async fn get(kit: &TestKit, uri: &str) -> (u16, HeaderMap, String) {
    let res = handle(&kit.service, http_request("GET", uri, &[], ""))
        .await
        .expect("handler never errs");
    let body = String::from_utf8(res.body().as_ref().to_vec()).expect("text");
    (res.status().as_u16(), res.headers().clone(), body)
}

fn assert_page_headers(headers: &HeaderMap, what: &str) {
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{what}: no {name}"))
    };
    let csp = h("content-security-policy");
    assert_eq!(
        csp.split_whitespace().collect::<Vec<_>>(),
        CSP.split_whitespace().collect::<Vec<_>>(),
        "{what}"
    );
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{what}"
    );
    assert_eq!(h("referrer-policy"), "no-referrer", "{what}");
    assert_eq!(h("cache-control"), "no-store", "{what}");
    assert_eq!(h("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(h("x-frame-options"), "DENY", "{what}");
}

#[tokio::test]
async fn the_page_is_html_with_its_security_headers_and_the_browser_key() {
    let kit = TestKit::new().await;
    let (status, headers, html) = get(&kit, "/reset").await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_page_headers(&headers, "page");
    assert!(html.starts_with("<!doctype html>"));
    assert!(
        html.contains(r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#)
    );
    assert!(html.contains(&format!(
        r#"<meta name="resetkit-confirm-key" content="{}">"#,
        kit.keys.browser
    )));
    for secret in [&kit.keys.server, &kit.keys.staff, &kit.keys.portal] {
        assert!(
            !html.contains(secret.as_str()),
            "a non-browser key is on the page"
        );
    }
    assert_eq!(html.matches(r#"autocomplete="new-password""#).count(), 2);
    for id in ["password", "password-confirm", "email", "code"] {
        assert!(
            html.contains(&format!(r#"<label for="{id}">"#)),
            "{id} has a label"
        );
    }
}

#[tokio::test]
async fn the_style_sheet_and_script_are_served_from_the_same_route() {
    let kit = TestKit::new().await;
    let (_, _, html) = get(&kit, "/reset").await;
    for (asset, content_type, needle) in [
        ("reset.css", "text/css; charset=utf-8", ".field-error"),
        (
            "reset.js",
            "text/javascript; charset=utf-8",
            "history.replaceState",
        ),
    ] {
        assert!(
            html.contains(&format!("\"reset?asset={asset}\"")),
            "the page refers to {asset} relatively"
        );
        let (status, headers, body) = get(&kit, &format!("/reset?asset={asset}")).await;
        assert_eq!(
            (status, headers["content-type"].to_str().unwrap()),
            (200, content_type),
            "{asset}"
        );
        assert_page_headers(&headers, asset);
        assert!(body.contains(needle), "{asset}");
    }
    let (status, _, body) = get(&kit, "/reset?asset=../../etc/passwd").await;
    assert_eq!(status, 404);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["ResponseStatus"]["ErrorCode"],
        "NotFound"
    );
}

#[tokio::test]
async fn the_script_posts_relative_to_the_page_and_reads_the_link_from_the_fragment() {
    let kit = TestKit::new().await;
    let (_, _, js) = get(&kit, "/reset?asset=reset.js").await;
    assert!(js.contains("new URL('user/password/reset', document.baseURI)"));
    assert!(js.contains("location.hash"));
    assert!(
        !js.contains("location.search.get")
            && !js.contains("searchParams.get('TemporaryPassword')")
    );
}

#[tokio::test]
async fn other_methods_and_paths_get_errors_in_servicestack_shape() {
    let kit = TestKit::new().await;
    let req = http_request(
        "POST",
        "/reset",
        &[("content-type", "application/json")],
        "{}",
    );
    let (status, headers, json) = read_response(handle(&kit.service, req).await.unwrap());
    assert_eq!(
        (status, json["ResponseStatus"]["ErrorCode"].clone()),
        (405, json!("MethodNotAllowed"))
    );
    assert_eq!(headers["allow"], "GET");
    for path in ["/reset/", "/reset.css", "/", "/user/password/reset/extra"] {
        let (status, _, json) = read_response(
            handle(&kit.service, http_request("GET", path, &[], ""))
                .await
                .unwrap(),
        );
        assert_eq!(
            (
                status,
                json["WasSuccessful"].clone(),
                json["ResponseStatus"]["ErrorCode"].clone()
            ),
            (404, json!(false), json!("NotFound")),
            "{path}"
        );
    }
    let (status, _, json) = read_response(
        handle(
            &kit.service,
            http_request("GET", "/user/password/reset", &[], ""),
        )
        .await
        .unwrap(),
    );
    assert_eq!(
        (status, json["ResponseStatus"]["ErrorCode"].clone()),
        (405, json!("MethodNotAllowed"))
    );
}

#[tokio::test]
async fn opening_the_page_spends_nothing() {
    let kit = TestKit::new().await;
    let caller = kit
        .service
        .authenticate(
            resetkit::service::Endpoint::GuestReset,
            &kit.keys.staff,
            &[KeyKind::Employee],
            Permission::GuestsEdit,
            None,
        )
        .await
        .unwrap();
    let cmd = GuestResetCommand {
        email: Some(EmailAddress::parse("ana@example.com").unwrap()),
        channel: Some(Channel::Email),
        ..Default::default()
    };
    let issued = kit.service.guest_reset(&caller, cmd).await.unwrap();
    let audit_before = kit.store.audit_events().len();

    // A scanner fetches the link: the page and its assets, with and without query noise.
    for uri in [
        "/reset",
        "/reset?utm_source=mail",
        "/reset?asset=reset.js",
        "/reset?asset=reset.css",
        "/reset",
    ] {
        assert_eq!(get(&kit, uri).await.0, 200, "{uri}");
    }
    assert_eq!(
        kit.store.audit_events().len(),
        audit_before,
        "no attempt was recorded"
    );

    let body = json!({"EmailAddress": "ana@example.com", "TemporaryPassword": issued.code.expose(),
                      "Password": "correct horse battery staple", "PasswordConfirm": "correct horse battery staple",
                      "ApiKey": kit.keys.browser});
    let req = http_request(
        "POST",
        "/user/password/reset",
        &[("content-type", "application/json")],
        body.to_string(),
    );
    let (status, _, json) = read_response(handle(&kit.service, req).await.unwrap());
    assert_eq!(
        (status, json["WasSuccessful"].clone()),
        (200, json!(true)),
        "the code is still usable: {json}"
    );
    let ana = kit
        .store
        .get_user(&UserId::parse(ANA).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(ana
        .password_hash
        .unwrap()
        .verifies("correct horse battery staple"));
}

#[tokio::test]
async fn without_a_browser_key_the_page_is_off() {
    let kit = TestKit::with_settings(resetkit::service::Settings {
        browser_confirm_key: None,
        ..settings()
    })
    .await;
    for uri in ["/reset", "/reset?asset=reset.js"] {
        let (status, headers, body) = get(&kit, uri).await;
        assert_eq!(status, 404, "{uri}");
        assert_page_headers(&headers, uri);
        assert!(body.contains("not enabled"), "{body}");
    }
}

#[tokio::test]
async fn a_key_that_could_do_more_than_confirm_is_never_published() {
    for (kind, perms) in [
        (KeyKind::Server, vec![Permission::PasswordConfirm]),
        (
            KeyKind::Browser,
            vec![Permission::PasswordConfirm, Permission::RevealResetSecret],
        ),
        (KeyKind::Browser, vec![]),
    ] {
        let secret = "rk_misconfigured_page_key";
        let kit = TestKit::with_settings(resetkit::service::Settings {
            browser_confirm_key: Some(secret.into()),
            ..settings()
        })
        .await;
        let record = ApiKeyRecord {
            hash: PresentedKey(secret).hash(),
            key_id: "key_misconfigured".into(),
            kind,
            permissions: perms.iter().copied().collect(),
            active: true,
            created_at: None,
            revoke_at: None,
        };
        kit.store.put_key(&record).await.unwrap();
        let (status, _, body) = get(&kit, "/reset").await;
        assert_eq!(status, 503, "{kind:?} {perms:?}");
        assert!(!body.contains(secret), "{kind:?} {perms:?}");
    }
    // An unknown key too.
    let kit = TestKit::with_settings(resetkit::service::Settings {
        browser_confirm_key: Some("rk_nobody_has_this".into()),
        ..settings()
    })
    .await;
    assert_eq!(get(&kit, "/reset").await.0, 503);
}

async fn get_in(kit: &TestKit, uri: &str, accept_language: &str) -> (u16, HeaderMap, String) {
    let req = http_request("GET", uri, &[("accept-language", accept_language)], "");
    let res = handle(&kit.service, req).await.expect("handler never errs");
    let body = String::from_utf8(res.body().as_ref().to_vec()).expect("text");
    (res.status().as_u16(), res.headers().clone(), body)
}

#[tokio::test]
async fn the_page_speaks_the_browsers_first_offered_language() {
    let kit = TestKit::new().await;
    for (accept, lang, title, code_label) in [
        (
            "fr-CA,fr;q=0.9,en;q=0.5",
            "fr",
            "Choisissez un nouveau mot de passe",
            "Code reçu dans le message",
        ),
        (
            "de-DE,es;q=0.7",
            "es",
            "Elige una nueva contraseña",
            "Código del mensaje",
        ),
        (
            "de-DE",
            "en",
            "Choose a new password",
            "Code from the message",
        ),
    ] {
        let (status, headers, html) = get_in(&kit, "/reset", accept).await;
        assert_eq!(status, 200, "{accept}");
        assert_page_headers(&headers, accept);
        assert_eq!(headers["content-language"], lang, "{accept}");
        assert_eq!(headers["vary"], "Accept-Language");
        assert!(
            html.contains(&format!("<html lang=\"{lang}\">")),
            "{accept}"
        );
        assert!(
            html.contains(&format!("<title>{title}</title>")),
            "{accept}"
        );
        assert!(
            html.contains(&format!("<label for=\"code\">{code_label}</label>")),
            "{accept}"
        );
        assert!(html.contains(r#"<input id="code" type="text" autocomplete="one-time-code""#));
    }
}
