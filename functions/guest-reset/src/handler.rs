use lambda_http::{Body, Error, Request, Response};
use resetkit::domain::{KeyKind, Permission};
use resetkit::inbound::{
    authorization_credential, query_param, read_body, serve, single_header, source_ip, Accepts,
    Entry, Problem,
};
use resetkit::ports::{Clock, DeliveryQueue, Metrics, RandomSource, Store};
use resetkit::service::{Caller, Endpoint};
use resetkit::Resetkit;

use crate::contract::{render, Failure, GuestResetBody, GuestResetResponse};

/// Translates one HTTP request into a guest reset and back. Every outcome a request can
/// cause is an `Ok` response in Zenoti's shape.
pub async fn handle<S: Store, Q: DeliveryQueue, C: Clock, R: RandomSource, M: Metrics>(
    svc: &Resetkit<S, Q, C, R, M>,
    req: Request,
) -> Result<Response<Body>, Error> {
    let entry = Entry {
        endpoint: Endpoint::GuestReset,
        routes: crate::ROUTES,
        scope: single_header(&req, "authorization").unwrap_or_default(),
    };
    let admit = || admit(svc, &req);
    Ok(serve(svc, &req, entry, render, admit, |caller| {
        reset(svc, &req, caller)
    })
    .await)
}

/// Staff with `guests:edit`, within their limits.
async fn admit<S: Store, Q: DeliveryQueue, C: Clock, R: RandomSource, M: Metrics>(
    svc: &Resetkit<S, Q, C, R, M>,
    req: &Request,
) -> Result<Caller, Failure> {
    if query_param(req, "reset").as_deref() != Some("true") {
        return Err(Problem::bad_request("Query parameter reset=true is required").into());
    }
    let presented = authorization_credential(req).ok_or_else(Problem::unauthorized)?;
    Ok(svc
        .authenticate(
            Endpoint::GuestReset,
            presented,
            &[KeyKind::Employee],
            Permission::GuestsEdit,
            source_ip(req),
        )
        .await
        .map_err(Problem::from)?)
}

async fn reset<S: Store, Q: DeliveryQueue, C: Clock, R: RandomSource, M: Metrics>(
    svc: &Resetkit<S, Q, C, R, M>,
    req: &Request,
    caller: Caller,
) -> Result<GuestResetResponse, Failure> {
    let body: GuestResetBody = read_body(req, Accepts::JsonOnly)?;
    let command = body.try_into_command(svc.settings().fields.default_country())?;
    let issued = svc.guest_reset(&caller, command).await?;
    Ok(GuestResetResponse::issued(
        issued,
        svc.settings().staff_code_in_response,
    ))
}
