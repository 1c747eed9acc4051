use lambda_http::{Body, Error, Request, Response};
use resetkit::domain::{KeyKind, Permission};
use resetkit::inbound::{read_body, serve, source_ip, Accepts, Entry, Problem};
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
    let render = |outcome| render(&fmt, outcome);
    let admit = || admit(svc, &req);
    let confirm = |(caller, command)| confirm(svc, caller, command);
    Ok(serve(svc, &req, entry, render, admit, confirm).await)
}

/// The body, valid, with a browser or server key allowed to confirm (the key travels in
/// the body), within its limits.
async fn admit<S: Store, Q: DeliveryQueue, C: Clock, R: RandomSource, M: Metrics>(
    svc: &Resetkit<S, Q, C, R, M>,
    req: &Request,
) -> Result<(Caller, ConfirmCommand), Failure> {
    let body: ConfirmBody = read_body(req, Accepts::JsonOrForm)?;
    let valid = body.validate()?;
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
) -> Result<ConfirmResponse, Failure> {
    let done = svc.confirm(&caller, command).await?;
    Ok(ConfirmResponse::success(&done))
}
