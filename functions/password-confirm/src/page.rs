//! Contract D: the reset page, `GET /reset`. One HTML page with its style sheet and script,
//! compiled into the binary.
//!
//! The CSP forbids inline script and style, so the two assets are responses of their own.
//! They come from the same route (`reset?asset=reset.js`), so a deployment needs one route
//! and the page's relative URLs resolve wherever the function is mounted: `/reset` behind
//! API Gateway, `/lambda-url/password-confirm/reset` under `cargo lambda watch`.
//!
//! The page speaks the visitor's language: the first of the browser's languages the stage
//! offers (else the stage's default), with its words from the message catalogue
//! (`messages/<locale>/strings.json`, the `page.` entries), escaped by the template.
//!
//! Serving the page spends nothing: the link's `LeadId` and `TemporaryPassword` travel in
//! the URL fragment, which browsers never send, and only the POST of contract C uses them.

use std::sync::LazyLock;

use lambda_http::http::{header, HeaderValue, Method};
use lambda_http::{Body, Request, Response};
use minijinja::{context, Environment};
use resetkit::domain::{Catalogue, Locale};
use resetkit::inbound::{ok, query_param, requested_locale, Kind, Problem};
use resetkit::ports::{Clock, DeliveryQueue, Metrics, RandomSource, Store};
use resetkit::service::PageKeyError;
use resetkit::Resetkit;

use crate::contract::{self, Failure};
use crate::format::Format;

pub const PATH: &str = "/reset";

const HTML: &str = include_str!("../assets/reset.html");
const CSS: &str = include_str!("../assets/reset.css");
const JS: &str = include_str!("../assets/reset.js");

/// The page template; `.html`, so every value is HTML-escaped.
static PAGE: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    if let Err(e) = env.add_template("reset.html", HTML) {
        // Caught by the unit tests; a page that cannot be parsed is answered with a 500.
        tracing::error!(error = %e, "reset page template");
    }
    env
});

/// Nothing inline, nothing from elsewhere, no framing, and script may only reach this origin.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'; \
    require-trusted-types-for 'script'";

/// Is `path` the page? Exactly `/reset`: with a trailing slash the relative asset and
/// endpoint URLs would resolve one level too deep.
pub fn is_route(path: &str) -> bool {
    path == PATH
}

/// The page or one of its assets, or an error in contract C's shape; all with the page's
/// security headers.
pub async fn serve<S: Store, Q: DeliveryQueue, C: Clock, R: RandomSource, M: Metrics>(
    svc: &Resetkit<S, Q, C, R, M>,
    req: &Request,
) -> Response<Body> {
    let (mut res, allow) = match asset(svc, req).await {
        Ok(res) => (res, false),
        Err(failure) => {
            let allow = failure.problem.kind == Kind::MethodNotAllowed;
            (contract::render(&Format::Json, Err(failure)), allow)
        }
    };
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if allow {
        h.insert(header::ALLOW, HeaderValue::from_static("GET"));
    }
    // The page's words depend on the browser's languages.
    h.insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    res
}

async fn asset<S: Store, Q: DeliveryQueue, C: Clock, R: RandomSource, M: Metrics>(
    svc: &Resetkit<S, Q, C, R, M>,
    req: &Request,
) -> Result<Response<Body>, Failure> {
    if req.method() != Method::GET {
        return Err(Problem::method_not_allowed("Use GET").into());
    }
    if !svc.reset_page_enabled() {
        return Err(PageKeyError::Disabled.into());
    }
    Ok(match query_param(req, "asset").as_deref() {
        // The key is checked before it is handed out (`Resetkit::reset_page_key`).
        None => {
            let locales = &svc.settings().locales;
            let locale =
                requested_locale(req, locales).unwrap_or_else(|| locales.default_locale().clone());
            let page = render(svc.reset_page_key().await?, &locale)
                .map_err(|e| Problem::failed("reset page not rendered", e.as_ref()))?;
            let mut res = ok("text/html; charset=utf-8", page);
            if let Ok(lang) = HeaderValue::from_str(locale.as_ref()) {
                res.headers_mut().insert(header::CONTENT_LANGUAGE, lang);
            }
            res
        }
        Some("reset.css") => ok("text/css; charset=utf-8", CSS.to_owned()),
        Some("reset.js") => ok("text/javascript; charset=utf-8", JS.to_owned()),
        Some(_) => return Err(Problem::not_found("No such asset").into()),
    })
}

/// The page in `locale`, carrying `key`.
fn render(key: &str, locale: &Locale) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let words = Catalogue::get()
        .map_err(|e| e.to_string())?
        .page_strings(locale)?;
    Ok(PAGE.get_template("reset.html")?.render(context! {
        lang => locale.as_ref(),
        confirm_key => key,
        t => words,
    })?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_has_no_inline_script_or_style() {
        let html = HTML.to_ascii_lowercase();
        assert_eq!(
            html.matches("<script").count(),
            html.matches("<script src=").count(),
            "every script has a src"
        );
        for inline in [
            "<style",
            " style=",
            " onclick=",
            " onload=",
            " onsubmit=",
            "javascript:",
        ] {
            assert!(!html.contains(inline), "{inline}");
        }
        assert_eq!(html.matches("{{ confirm_key }}").count(), 1);
    }

    #[test]
    fn the_key_is_escaped_into_its_attribute() {
        let page = render("a\"><script>x</script>", &Locale::parse("en").unwrap()).unwrap();
        assert!(!page.contains("\"><script>x"), "{page}");
    }

    #[test]
    fn the_page_renders_in_every_locale_with_every_word() {
        for tag in resetkit::domain::catalogue::LOCALES {
            let locale = Locale::parse(tag).unwrap();
            let page = render("rk_demo_browser_key", &locale).unwrap();
            assert!(page.contains(&format!("<html lang=\"{locale}\">")), "{tag}");
            assert!(page.contains(r#"autocomplete="one-time-code""#), "{tag}");
            let words = Catalogue::get().unwrap().page_strings(&locale).unwrap();
            for (key, text) in &words {
                let escaped = html_escape::encode_double_quoted_attribute(text);
                assert!(page.contains(&format!("data-{key}=\"")), "{tag}: {key}");
                assert!(
                    page.contains(text.as_str())
                        || page.contains(escaped.as_ref())
                        || page.contains("&#x27;"),
                    "{tag}: {key}"
                );
            }
            // Every word the script reads is on the page.
            for (at, _) in JS.match_indices("t.") {
                let before = JS[..at].chars().last().unwrap_or(' ');
                if before.is_ascii_alphanumeric() || matches!(before, '_' | '.' | '$') {
                    continue; // `event.target`, not the words
                }
                let key: String = JS[at + 2..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                assert!(
                    words.contains_key(&key),
                    "reset.js reads t.{key}, which {tag} lacks"
                );
            }
        }
        let fr = render("k", &Locale::parse("fr").unwrap()).unwrap();
        assert!(fr.contains("<title>Choisissez un nouveau mot de passe</title>"));
    }

    #[test]
    fn the_script_builds_no_html_from_strings() {
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
        ] {
            assert!(!JS.contains(sink), "{sink}");
        }
    }

    #[test]
    fn only_the_exact_path_is_the_page() {
        assert!(is_route("/reset"));
        for other in [
            "/reset/",
            "/reset.css",
            "/resets",
            "/",
            "/user/password/reset",
        ] {
            assert!(!is_route(other), "{other}");
        }
    }
}
