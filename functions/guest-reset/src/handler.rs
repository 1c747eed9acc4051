use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Error, Request, Response};
use resetkit::domain::{KeyKind, Permission};
use resetkit::http::{
    json_reply, json_response, query_param, read_body, single_header, source_ip, Accepts,
};
use resetkit::idempotency::Refusal;
use resetkit::ports::{Clock, Notifier, RandomSource, Store};
use resetkit::service::{AuthError, Endpoint};
use resetkit::Resetkit;

use crate::contract::{Failure, GuestResetBody, GuestResetResponse};

/// Translates one HTTP request into a guest reset and back. Every outcome a request can
/// cause is an `Ok` response in Zenoti's shape.
pub async fn handle<S: Store, N: Notifier, C: Clock, R: RandomSource>(
    svc: &Resetkit<S, N, C, R>,
    req: Request,
) -> Result<Response<Body>, Error> {
    let scope = single_header(&req, "authorization").unwrap_or_default();
    let refuse = |r: Refusal| respond(Err(r.into()));
    Ok(svc
        .idempotent(Endpoint::GuestReset, &req, scope, refuse, || async {
            respond(reset(svc, &req).await)
        })
        .await)
}

fn respond(result: Result<GuestResetResponse, Failure>) -> Response<Body> {
    match result {
        Ok(ok) => json_response(StatusCode::OK, &ok),
        Err(Failure(status, body)) => json_reply(status, &body, body.retry_after),
    }
}

async fn reset<S: Store, N: Notifier, C: Clock, R: RandomSource>(
    svc: &Resetkit<S, N, C, R>,
    req: &Request,
) -> Result<GuestResetResponse, Failure> {
    if !crate::ROUTES
        .iter()
        .any(|&(_, route)| route == req.uri().path().trim_end_matches('/'))
    {
        return Err(Failure::new(StatusCode::NOT_FOUND, "No such endpoint"));
    }
    if req.method() != Method::POST {
        return Err(Failure::new(StatusCode::METHOD_NOT_ALLOWED, "Use POST"));
    }
    if query_param(req, "reset").as_deref() != Some("true") {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "Query parameter reset=true is required",
        ));
    }
    let presented = credential(req).ok_or_else(unauthorized)?;
    let caller = svc
        .authenticate(
            Endpoint::GuestReset,
            presented,
            &[KeyKind::Employee],
            Permission::GuestsEdit,
            source_ip(req),
        )
        .await
        .map_err(|e| match e {
            AuthError::Unauthorized => unauthorized(),
            AuthError::RateLimited(limited) => limited.into(),
            AuthError::Unexpected(cause) => {
                resetkit::service::GuestResetError::Unexpected(cause).into()
            }
        })?;
    let body: GuestResetBody = read_body(req, Accepts::JsonOnly)?;
    let command = body.try_into_command(svc.settings().fields.default_country())?;
    let issued = svc.guest_reset(&caller, command).await?;
    Ok(GuestResetResponse::issued(
        issued,
        svc.settings().staff_code_in_response,
    ))
}

/// `Authorization: apikey <key>` or `Authorization: bearer <token>` (scheme case-insensitive).
fn credential(req: &Request) -> Option<&str> {
    let value = single_header(req, "authorization")?.trim();
    let (scheme, rest) = value.split_once(char::is_whitespace)?;
    let ok = scheme.eq_ignore_ascii_case("apikey") || scheme.eq_ignore_ascii_case("bearer");
    ok.then(|| rest.trim()).filter(|k| !k.is_empty())
}

fn unauthorized() -> Failure {
    Failure::new(
        StatusCode::UNAUTHORIZED,
        "Unauthorized: an employee key with permission to edit guests is required",
    )
}
