use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Error, Request, Response};
use resetkit::domain::{KeyKind, Permission};
use resetkit::http::{json_reply, json_response, read_body, single_header, source_ip, Accepts};
use resetkit::idempotency::Refusal;
use resetkit::ports::{Clock, Notifier, RandomSource, Store};
use resetkit::service::{AuthError, Endpoint, ForgotPasswordError};
use resetkit::Resetkit;

use crate::contract::{Failure, ForgotPasswordBody, Success};

/// Translates one HTTP request into a forgot-password call and back. Every outcome a
/// request can cause is an `Ok` response in LeadSquared's shape.
pub async fn handle<S: Store, N: Notifier, C: Clock, R: RandomSource>(
    svc: &Resetkit<S, N, C, R>,
    req: Request,
) -> Result<Response<Body>, Error> {
    let scope = single_header(&req, "authorization").unwrap_or_default();
    let refuse = |r: Refusal| respond(Err(r.into()));
    Ok(svc
        .idempotent(Endpoint::ForgotPassword, &req, scope, refuse, || async {
            respond(forgot(svc, &req).await)
        })
        .await)
}

fn respond(result: Result<Success, Failure>) -> Response<Body> {
    match result {
        Ok(ok) => json_response(StatusCode::OK, &ok),
        Err(f) => json_reply(f.status, &f.body, f.retry_after),
    }
}

async fn forgot<S: Store, N: Notifier, C: Clock, R: RandomSource>(
    svc: &Resetkit<S, N, C, R>,
    req: &Request,
) -> Result<Success, Failure> {
    if !crate::ROUTES
        .iter()
        .any(|&(_, route)| route == req.uri().path().trim_end_matches('/'))
    {
        return Err(Failure::new(StatusCode::NOT_FOUND, "No such endpoint"));
    }
    if req.method() != Method::POST {
        return Err(Failure::new(StatusCode::METHOD_NOT_ALLOWED, "Use POST"));
    }
    // LeadSquared portals send the bare key as the whole header value.
    let presented = single_header(req, "authorization").unwrap_or_default();
    let caller = svc
        .authenticate(
            Endpoint::ForgotPassword,
            presented,
            &[KeyKind::PortalPublic, KeyKind::Server],
            Permission::ForgotPassword,
            source_ip(req),
        )
        .await
        .map_err(|e| match e {
            AuthError::Unauthorized => {
                Failure::new(StatusCode::UNAUTHORIZED, "Invalid or missing auth key")
            }
            AuthError::RateLimited(limited) => limited.into(),
            AuthError::Unexpected(cause) => ForgotPasswordError::Unexpected(cause).into(),
        })?;
    let body: ForgotPasswordBody = read_body(req, Accepts::JsonOnly)?;
    let command = body.try_into_command(&svc.settings().fields)?;
    Ok(svc.forgot_password(&caller, command).await?.into())
}
