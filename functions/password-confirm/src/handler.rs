use lambda_http::{Body, Error, Request, Response};
use resetkit::domain::Locale;
use resetkit::domain::{KeyKind, Permission};
use resetkit::inbound::{read_body, requested_locale, serve, source_ip, Accepts, Entry, Problem};
use resetkit::ports::{Clock, DeliveryQueue, Metrics, RandomSource, Store};
use resetkit::service::{Caller, ConfirmCommand, Endpoint};
use resetkit::Resetkit;

use crate::contract::{render, ConfirmBody, ConfirmResponse, Failure};
use crate::format::{self, Format};
use crate::page;

/// Routes the function's requests: the confirm endpoint and the reset page. Every outcome
/// a request can cause is an `Ok` response; errors are in ServiceStack's shape.
pub async fn handle<S: Store, Q: DeliveryQueue, C: Clock, R: RandomSource, M: Metrics>(
    svc: &Resetkit<S, Q, C, R, M>,
    req: Request,
) -> Result<Response<Body>, Error> {
    if page::is_route(req.uri().path()) {
        return Ok(page::serve(svc, &req).await);
    }
    // An unknown path, or a format this endpoint cannot write, is answered as plain JSON
    // before any `Idempotency-Key` is looked at.
    if !format::is_route(req.uri().path()) {
        return Ok(render(
            &Format::Json,
            Err(Problem::no_such_endpoint().into()),
        ));
    }
    let fmt = match format::negotiate(&req) {
        Ok(fmt) => fmt,
        Err(e) => return Ok(render(&Format::Json, Err(e.into()))),
    };
    // The credential is in the body, which the fingerprint covers; the scope is the
    // caller's address, so two people choosing the same key do not collide.
    let scope = source_ip(&req).unwrap_or_default();
    let entry = Entry {
        endpoint: Endpoint::PasswordConfirm,
        routes: crate::ROUTES,
        scope: &scope,
    };
    // The reset page's browser sends its languages: field errors come back in the first
    // one offered (the stage's default otherwise), and so does the "password changed" notice.
    let requested = requested_locale(&req, &svc.settings().locales);
    let locale = requested
        .clone()
        .unwrap_or_else(|| svc.settings().locales.default_locale().clone());
    let render = |outcome| render(&fmt, outcome);
    let admit = || admit(svc, &req, &locale, requested.clone());
    let confirm = |(caller, command)| confirm(svc, caller, command, &locale);
    Ok(serve(svc, &req, entry, render, admit, confirm).await)
}

/// The body, valid, with a browser or server key allowed to confirm (the key travels in
/// the body), within its limits.
async fn admit<S: Store, Q: DeliveryQueue, C: Clock, R: RandomSource, M: Metrics>(
    svc: &Resetkit<S, Q, C, R, M>,
    req: &Request,
    locale: &Locale,
    requested: Option<Locale>,
) -> Result<(Caller, ConfirmCommand), Failure> {
    let body: ConfirmBody = read_body(req, Accepts::JsonOrForm)?;
    let mut valid = body.validate(locale)?;
    valid.command.language = requested;
    let caller = svc
        .authenticate(
            Endpoint::PasswordConfirm,
            &valid.api_key,
            &[KeyKind::Browser, KeyKind::Server],
            Permission::PasswordConfirm,
            source_ip(req),
        )
        .await
        .map_err(Problem::from)?;
    Ok((caller, valid.command))
}

async fn confirm<S: Store, Q: DeliveryQueue, C: Clock, R: RandomSource, M: Metrics>(
    svc: &Resetkit<S, Q, C, R, M>,
    caller: Caller,
    command: ConfirmCommand,
    locale: &Locale,
) -> Result<ConfirmResponse, Failure> {
    let done = svc
        .confirm(&caller, command)
        .await
        .map_err(|e| Failure::from_confirm(e, locale))?;
    Ok(ConfirmResponse::success(&done))
}
