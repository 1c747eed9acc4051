use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Error, Request, Response};
use resetkit::domain::{KeyKind, Permission};
use resetkit::http::{read_body, source_ip, with_retry_after, Accepts};
use resetkit::idempotency::Refusal;
use resetkit::ports::{Clock, Notifier, RandomSource, Store};
use resetkit::service::{AuthError, ConfirmError, Endpoint};
use resetkit::Resetkit;

use crate::contract::{ConfirmBody, ConfirmResponse, Failure};
use crate::format::{self, Format};
use crate::page;

/// Routes the function's requests: the confirm endpoint and the reset page. Every outcome
/// a request can cause is an `Ok` response; errors are in ServiceStack's shape.
pub async fn handle<S: Store, N: Notifier, C: Clock, R: RandomSource>(
    svc: &Resetkit<S, N, C, R>,
    req: Request,
) -> Result<Response<Body>, Error> {
    if page::is_route(req.uri().path()) {
        return Ok(page::serve(svc, &req).await);
    }
    if !format::is_route(req.uri().path()) {
        let f = Failure::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            "No such endpoint",
            vec![],
        );
        return Ok(reply(&Format::Json, f.0, &f.1));
    }
    let fmt = match format::negotiate(&req) {
        Ok(fmt) => fmt,
        Err(e) => {
            let f = Failure::new(e.status(), "InvalidFormat", e.message(), vec![]);
            return Ok(reply(&Format::Json, f.0, &f.1));
        }
    };
    // The credential is in the body, which the fingerprint covers; the scope is the
    // caller's address, so two people choosing the same key do not collide.
    let scope = source_ip(&req).unwrap_or_default();
    let respond = |result: Result<ConfirmResponse, Failure>| match result {
        Ok(ok) => reply(&fmt, StatusCode::OK, &ok),
        Err(Failure(status, body)) => reply(&fmt, status, &body),
    };
    let refuse = |r: Refusal| respond(Err(r.into()));
    Ok(svc
        .idempotent(Endpoint::PasswordConfirm, &req, &scope, refuse, || async {
            respond(confirm(svc, &req).await)
        })
        .await)
}

async fn confirm<S: Store, N: Notifier, C: Clock, R: RandomSource>(
    svc: &Resetkit<S, N, C, R>,
    req: &Request,
) -> Result<ConfirmResponse, Failure> {
    if req.method() != Method::POST {
        return Err(Failure::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "Use POST",
            vec![],
        ));
    }
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
        .map_err(|e| match e {
            AuthError::Unauthorized => Failure::new(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "Invalid ApiKey",
                vec![],
            ),
            AuthError::RateLimited(limited) => limited.into(),
            AuthError::Unexpected(cause) => ConfirmError::from(cause).into(),
        })?;
    let done = svc.confirm(&caller, valid.command).await?;
    Ok(ConfirmResponse::success(&done))
}

fn reply(fmt: &Format, status: StatusCode, body: &ConfirmResponse) -> Response<Body> {
    let json = serde_json::to_string(body).unwrap_or_else(|_| "{}".into());
    match body.retry_after {
        Some(secs) => with_retry_after(format::write(fmt, status, json), secs),
        None => format::write(fmt, status, json),
    }
}
