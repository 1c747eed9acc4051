use lambda_http::{Body, Error, Request, Response};
use resetkit::domain::{KeyKind, Permission};
use resetkit::inbound::{
    read_body, requested_locale, serve, single_header, source_ip, Accepts, Entry, Problem,
};
use resetkit::ports::{Clock, DeliveryQueue, Metrics, RandomSource, Store};
use resetkit::service::{Caller, Endpoint};
use resetkit::Resetkit;

use crate::contract::{failed, render, ForgotPasswordBody, Success};

/// Translates one HTTP request into a forgot-password call and back. Every outcome a
/// request can cause is an `Ok` response in LeadSquared's shape.
pub async fn handle<S: Store, Q: DeliveryQueue, C: Clock, R: RandomSource, M: Metrics>(
    svc: &Resetkit<S, Q, C, R, M>,
    req: Request,
) -> Result<Response<Body>, Error> {
    let entry = Entry {
        endpoint: Endpoint::ForgotPassword,
        routes: crate::ROUTES,
        scope: single_header(&req, "authorization").unwrap_or_default(),
    };
    let admit = || admit(svc, &req);
    Ok(serve(svc, &req, entry, render, admit, |caller| {
        forgot(svc, &req, caller)
    })
    .await)
}

/// A portal or server key allowed to ask, within its limits.
async fn admit<S: Store, Q: DeliveryQueue, C: Clock, R: RandomSource, M: Metrics>(
    svc: &Resetkit<S, Q, C, R, M>,
    req: &Request,
) -> Result<Caller, Problem> {
    // LeadSquared portals send the bare key as the whole header value.
    let presented = single_header(req, "authorization").unwrap_or_default();
    Ok(svc
        .authenticate(
            Endpoint::ForgotPassword,
            presented,
            &[KeyKind::PortalPublic, KeyKind::Server],
            Permission::ForgotPassword,
            source_ip(req),
        )
        .await?)
}

async fn forgot<S: Store, Q: DeliveryQueue, C: Clock, R: RandomSource, M: Metrics>(
    svc: &Resetkit<S, Q, C, R, M>,
    req: &Request,
    caller: Caller,
) -> Result<Success, Problem> {
    let body: ForgotPasswordBody = read_body(req, Accepts::JsonOnly)?;
    let mut command = body.try_into_command(&svc.settings().fields)?;
    // The person's own `Locale`, when they have one, wins in the courier.
    command.language = requested_locale(req, &svc.settings().locales);
    Ok(svc
        .forgot_password(&caller, command)
        .await
        .map_err(failed)?
        .into())
}
