//! The person's side, end to end: the three functions served over loopback HTTP on the
//! emulator-backed service, and headless Debian chromium (driven by
//! `tests/browser/reset.mjs`) using the reset page from the link in a captured email and
//! with the code from a captured SMS. Screenshots land in `tests/artifacts/`.
//!
//! Never skipped: without node, `tests/browser/node_modules` or `/usr/bin/chromium` these
//! tests fail and say how to get them (`bash scripts/test.sh` installs both).

use std::path::PathBuf;
use std::time::Duration;

use resetkit::config;
use resetkit::demo::{BROWSER_KEY, PORTAL_KEY, STAFF_KEY};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{
    captured_messages, link_param, random_hex, spawn_app_with, unique_us_mobile, Person,
};
use crate::server::Server;

const CHROMIUM: &str = "/usr/bin/chromium";
const NEW_PASSWORD: &str = "maple anchor violet thunder";
const MISMATCH: &str = "maple anchor violet thunderr";
const SECOND_PASSWORD: &str = "copper lantern meadow seventeen";

/// One browser at a time: two cores, and each chromium wants one.
static BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Binds first, so that the stage's link template can name the port, then builds the
/// emulator-backed service with the browser key configured, and serves it.
async fn spawn_server() -> Server {
    crate::server::spawn(|base| async move {
        let template = format!("{base}/lambda-url/password-confirm/reset#LeadId={{LeadId}}&TemporaryPassword={{TemporaryPassword}}");
        spawn_app_with(&[(config::RESET_LINK_TEMPLATE, template.as_str()), (config::BROWSER_CONFIRM_KEY, BROWSER_KEY)]).await
    })
    .await
}

/// A plain HTTP/1.1 client, as a mail scanner or `curl` is: sends no fragment, runs no script.
async fn send(
    url: &str,
    method: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Vec<(String, String)>, String) {
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (authority, target) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let target = target.split('#').next().unwrap_or("/"); // the fragment never goes on the wire
    let mut stream = tokio::net::TcpStream::connect(authority)
        .await
        .expect("connect");
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    stream
        .write_all(format!("{head}\r\n{body}").as_bytes())
        .await
        .expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8(raw).expect("a text response");
    let (head, body) = text.split_once("\r\n\r\n").expect("a header end");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, body.to_owned())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// Flow B through the real server: a portal asks, the emulator captures the mail; returns
/// the link as the person receives it.
async fn reset_link(server: &Server, person: &Person) -> String {
    let url = format!(
        "{}/lambda-url/forgot-password/api/Authentication/ForgotPassword",
        server.base
    );
    let body = json!({"EmailAddress": person.email}).to_string();
    let (status, _, answer) = send(
        &url,
        "POST",
        &[
            ("authorization", PORTAL_KEY),
            ("content-type", "application/json"),
        ],
        &body,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let captured = captured_messages(&server.app.stack.endpoint).await;
    let mail = captured
        .emails_to(&person.email)
        .pop()
        .unwrap_or_else(|| panic!("no mail to {}", person.email))
        .clone();
    // The HTML part escapes the link as any value (`&amp;`, `&#x2f;`); a browser decodes it.
    let body = mail.body.replace("&#x2f;", "/").replace("&amp;", "&");
    let prefix = format!("{}/lambda-url/password-confirm/reset#", server.base);
    let start = body
        .find(&prefix)
        .unwrap_or_else(|| panic!("no link to {prefix} in: {body}"));
    let link: String = body[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '<' && *c != '"')
        .collect();
    assert_eq!(link_param(&link, "LeadId"), person.id.to_string());
    link
}

/// Runs `tests/browser/reset.mjs` and returns its report, or fails with its output.
async fn browser(args: Value) -> Value {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let script_dir = root.join("tests/browser");
    let missing = [
        (
            which("node").is_none(),
            "node is not on PATH (apt-get install nodejs npm)",
        ),
        (
            !std::path::Path::new(CHROMIUM).exists(),
            "/usr/bin/chromium is missing (apt-get install chromium)",
        ),
        (
            !script_dir.join("node_modules/playwright-core").exists(),
            "tests/browser/node_modules is missing (cd tests/browser && npm ci)",
        ),
    ];
    for (absent, what) in missing {
        assert!(
            !absent,
            "the browser test cannot run: {what}. `bash scripts/test.sh` installs it."
        );
    }
    let _one_at_a_time = BROWSER.lock().await;
    let mut args = args;
    args["artifacts"] = json!(root.join("tests/artifacts").to_string_lossy());
    let run = tokio::process::Command::new("node")
        .arg(script_dir.join("reset.mjs"))
        .arg(args.to_string())
        .current_dir(&root)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(180), run)
        .await
        .expect("the browser run finished within 3 minutes")
        .expect("node started");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the browser run failed ({}):\n{stderr}\n{stdout}",
        out.status
    );
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("the browser report is not JSON ({e}): {stdout}"))
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| PathBuf::from(d).join(program))
        .find(|p| p.is_file())
}

/// The code in an SMS's origin-bound last line, `@<host> #<code>`, as Safari and Chrome
/// read it to offer the code on that site: the line must name the page's host.
fn one_tap_code(sms: &str, server: &Server) -> String {
    let host = server
        .base
        .trim_start_matches("http://")
        .split(':')
        .next()
        .unwrap_or_default();
    let last = sms.lines().last().unwrap_or_default();
    let code = last
        .strip_prefix(&format!("@{host} #"))
        .unwrap_or_else(|| panic!("the SMS does not end with @{host} #<code>: {sms:?}"));
    assert!(
        code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
        "{sms:?}"
    );
    code.to_owned()
}

/// Staff reset `person` through API Gateway's route; returns the SMS they receive.
async fn texted_code(server: &Server, person: &Person) -> String {
    let url = format!("{}/v1/guests/password?reset=true", server.base);
    let body = json!({"email": person.email, "channel": "sms"}).to_string();
    let auth = format!("apikey {STAFF_KEY}");
    let (status, _, answer) = send(
        &url,
        "POST",
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        &body,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let captured = captured_messages(&server.app.stack.endpoint).await;
    captured
        .sms_to(&person.mobile)
        .pop()
        .unwrap_or_else(|| panic!("no SMS to {}", person.mobile))
        .message
        .clone()
}

/// What the server must never have seen: the secret in a URL or a `Referer`.
fn assert_never_sent(server: &Server, secret: &str) {
    for line in server.seen.lock().unwrap().iter() {
        assert!(
            !line.contains(secret),
            "the secret reached the server in: {line}"
        );
        assert!(line.ends_with("referer=None"), "a Referer was sent: {line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_resets_their_password_from_the_emailed_link_in_a_real_browser() {
    let server = spawn_server().await;
    let person = server.app.person("Rita").await;
    let link = reset_link(&server, &person).await;
    let secret = link_param(&link, "TemporaryPassword");

    let report = browser(json!({
        "flow": "link", "url": link, "phone": true,
        "mismatch": MISMATCH, "password": NEW_PASSWORD, "second_password": SECOND_PASSWORD,
    }))
    .await;

    assert_eq!(
        report["seen"]["field_error"],
        "The two passwords do not match."
    );
    assert!(
        report["seen"]["success"]
            .as_str()
            .unwrap()
            .contains("Password changed"),
        "{report}"
    );
    assert!(
        report["seen"]["rejected"]
            .as_str()
            .unwrap()
            .contains("expired or has already been used"),
        "{report}"
    );
    let user = server.app.user(&person.id).await;
    let hash = user.password_hash.expect("a password was set");
    assert!(hash.as_phc().starts_with("$argon2id$"));
    assert!(
        hash.verifies(NEW_PASSWORD),
        "the stored hash verifies the new password"
    );
    assert!(
        !hash.verifies(SECOND_PASSWORD),
        "the spent link changed nothing"
    );
    assert_eq!(user.credential_version, 1);
    assert_never_sent(&server, &secret);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_resets_their_password_with_the_texted_code_in_a_real_browser() {
    let server = spawn_server().await;
    let person = server.app.person("Gil").await;
    // Staff reset the guest through API Gateway's route; the code goes out by SMS, and the
    // phone reads it from the SMS's origin-bound line.
    let code = one_tap_code(&texted_code(&server, &person).await, &server);

    let report = browser(json!({
        "flow": "code", "url": format!("{}/reset", server.base), "email": person.email, "code": code,
        "mismatch": MISMATCH, "password": NEW_PASSWORD, "second_password": SECOND_PASSWORD,
    }))
    .await;

    assert_eq!(
        report["seen"]["field_error"],
        "The two passwords do not match."
    );
    assert!(
        report["seen"]["success"]
            .as_str()
            .unwrap()
            .contains("Password changed"),
        "{report}"
    );
    assert!(
        report["seen"]["rejected"]
            .as_str()
            .unwrap()
            .contains("already been used"),
        "{report}"
    );
    let user = server.app.user(&person.id).await;
    let hash = user.password_hash.expect("a password was set");
    assert!(hash.verifies(NEW_PASSWORD) && !hash.verifies(SECOND_PASSWORD));
    assert_eq!(user.credential_version, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetching_the_link_like_a_mail_scanner_leaves_it_usable() {
    let server = spawn_server().await;
    let person = server.app.person("Sam").await;
    let link = reset_link(&server, &person).await;

    // A scanner or link preview fetches the link, the page's assets, and again.
    for url in [
        link.clone(),
        link.replace("reset#", "reset?asset=reset.js#"),
        link.replace("reset#", "reset?asset=reset.css#"),
        link.clone(),
    ] {
        let (status, headers, page) =
            send(&url, "GET", &[("user-agent", "LinkScanner/1.0")], "").await;
        assert_eq!(status, 200, "{url}");
        assert!(header(&headers, "content-security-policy").contains("frame-ancestors 'none'"));
        assert_eq!(header(&headers, "referrer-policy"), "no-referrer");
        assert_eq!(header(&headers, "cache-control"), "no-store");
        assert!(
            !page.contains(&link_param(&link, "TemporaryPassword")),
            "the page never echoes the secret"
        );
    }

    // The person then uses it.
    let confirm = format!(
        "{}/lambda-url/password-confirm/user/password/reset",
        server.base
    );
    let body = json!({
        "LeadId": link_param(&link, "LeadId"), "TemporaryPassword": link_param(&link, "TemporaryPassword"),
        "Password": NEW_PASSWORD, "PasswordConfirm": NEW_PASSWORD, "ApiKey": BROWSER_KEY,
    });
    let (status, _, answer) = send(
        &confirm,
        "POST",
        &[("content-type", "application/json")],
        &body.to_string(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert!(server
        .app
        .user(&person.id)
        .await
        .password_hash
        .expect("set")
        .verifies(NEW_PASSWORD));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_french_browser_gets_the_page_and_the_servers_field_errors_in_french() {
    let server = spawn_server().await;
    let tag = random_hex(6);
    // Her own Locale is Spanish, so the SMS is Spanish; the page follows her browser.
    let person = server
        .app
        .import(&json!({
            "first_name": "Inès", "email": format!("fr-{tag}@example.com"),
            "mobile": unique_us_mobile(), "fields": {"Locale": "es"},
        }))
        .await;
    let sms = texted_code(&server, &person).await;
    assert!(sms.contains("restablecer la contraseña"), "{sms}");
    let code = one_tap_code(&sms, &server);

    let report = browser(json!({
        "flow": "code", "url": format!("{}/reset", server.base), "email": person.email, "code": code,
        "lang": "fr", "phone": true, "weak": "court1",
        "mismatch": MISMATCH, "password": NEW_PASSWORD, "second_password": SECOND_PASSWORD,
    }))
    .await;

    let page = &report["seen"]["page"];
    assert_eq!(page["lang"], "fr", "{report}");
    assert_eq!(page["title"], "Choisissez un nouveau mot de passe");
    assert_eq!(
        page["labels"],
        json!({"email": "Adresse e-mail", "code": "Code reçu dans le message",
               "password": "Nouveau mot de passe", "confirm": "Répétez le nouveau mot de passe"})
    );
    assert_eq!(page["submit"], "Enregistrer le mot de passe");
    assert_eq!(page["code_autocomplete"], "one-time-code");
    // The server's own message (contract C's Errors[].Message), in French.
    assert_eq!(
        report["seen"]["password_error"],
        "Le mot de passe doit contenir au moins 8 caractères"
    );
    assert_eq!(
        report["seen"]["field_error"],
        "Les deux mots de passe ne correspondent pas."
    );
    assert!(
        report["seen"]["success"]
            .as_str()
            .unwrap()
            .contains("Mot de passe modifié"),
        "{report}"
    );
    assert!(
        report["seen"]["rejected"]
            .as_str()
            .unwrap()
            .contains("Code refusé"),
        "{report}"
    );
    let user = server.app.user(&person.id).await;
    let hash = user.password_hash.expect("a password was set");
    assert!(hash.verifies(NEW_PASSWORD) && !hash.verifies(SECOND_PASSWORD));
    assert_eq!(user.credential_version, 1);
    // The French confirm's notice follows her own Locale, not the browser.
    let captured = captured_messages(&server.app.stack.endpoint).await;
    let notice = captured
        .emails_to(&person.email)
        .pop()
        .expect("a password-changed notice");
    assert_eq!(notice.subject, "Demo Salon: tu contraseña ha cambiado");
}
