use lambda_http::http::Method;
use lambda_http::{Body, Error, Request, Response};
use resetkit::domain::{HostVersion, InvalidPerson, KeyKind, Permission, SystemUserId, UserId};
use resetkit::inbound::{
    authorization_credential, query_param, read_body, serve, single_header, source_ip, Accepts,
    Entry, Problem,
};
use resetkit::ports::{Clock, DeliveryQueue, Metrics, RandomSource, Store};
use resetkit::service::{Caller, Endpoint};
use resetkit::Resetkit;
use serde_json::Value;

use crate::contract::{document, render, Answer, Failure, MergePatch, View, Written};

/// Translates one HTTP request into a people-API call and back. Every outcome a request
/// can cause is an `Ok` response: a success, or a Problem Details object.
pub async fn handle<S: Store, Q: DeliveryQueue, C: Clock, R: RandomSource, M: Metrics>(
    svc: &Resetkit<S, Q, C, R, M>,
    req: Request,
) -> Result<Response<Body>, Error> {
    let entry = Entry {
        endpoint: Endpoint::People,
        routes: crate::ROUTES,
        scope: single_header(&req, "authorization").unwrap_or_default(),
    };
    let needed = if req.method() == Method::GET {
        Permission::PeopleRead
    } else {
        Permission::PeopleWrite
    };
    let admit = || admit(svc, &req, needed);
    Ok(serve(svc, &req, entry, render, admit, |caller| {
        act(svc, &req, caller)
    })
    .await)
}

/// A server key with `needed`, within its limits: never a public, browser, guest or staff
/// key, whatever it was granted.
async fn admit<S: Store, Q: DeliveryQueue, C: Clock, R: RandomSource, M: Metrics>(
    svc: &Resetkit<S, Q, C, R, M>,
    req: &Request,
    needed: Permission,
) -> Result<Caller, Failure> {
    let presented = authorization_credential(req).ok_or_else(Problem::unauthorized)?;
    Ok(svc
        .authenticate(
            Endpoint::People,
            presented,
            &[KeyKind::Server],
            needed,
            source_ip(req),
        )
        .await
        .map_err(Problem::from)?)
}

async fn act<S: Store, Q: DeliveryQueue, C: Clock, R: RandomSource, M: Metrics>(
    svc: &Resetkit<S, Q, C, R, M>,
    req: &Request,
    caller: Caller,
) -> Result<Answer, Failure> {
    let catalog = &svc.settings().fields;
    let path = req.uri().path().trim_end_matches('/');
    let Some(raw_id) = path.strip_prefix("/v1/people/") else {
        // The route's other path: a person by their number.
        let raw = query_param(req, "SystemUserId")
            .ok_or_else(|| InvalidPerson::new("SystemUserId", "is required"))?;
        let number =
            SystemUserId::parse(&raw).map_err(|e| InvalidPerson::new("SystemUserId", e))?;
        return Ok(Answer::Found(View::from(
            svc.person_by_number(number).await?,
        )));
    };
    let id = UserId::parse(raw_id).map_err(|e| InvalidPerson::new("user_id", e))?;
    match *req.method() {
        Method::PUT => {
            let body: Value = read_body(req, Accepts::JsonOnly)?;
            let doc = document(&body, catalog)?;
            let written = svc.write_person(&caller, &id, &doc).await?;
            Ok(if written.created {
                Answer::Created(Written::from(written))
            } else {
                Answer::Written(Written::from(written))
            })
        }
        Method::PATCH => {
            let patch: Value = read_body(req, Accepts::JsonOnly)?;
            if !patch.is_object() {
                return Err(InvalidPerson::new("body", "must be a JSON object").into());
            }
            let edit = MergePatch { patch, catalog };
            let written = svc.write_person(&caller, &id, &edit).await?;
            Ok(Answer::Written(Written::from(written)))
        }
        Method::DELETE => {
            let version = query_param(req, "Version")
                .map(|raw| {
                    raw.parse::<u64>()
                        .ok()
                        .and_then(|n| HostVersion::new(n).ok())
                        .ok_or_else(|| {
                            InvalidPerson::new("Version", "must be a whole number from 1")
                        })
                })
                .transpose()?;
            svc.remove_person(&caller, &id, version).await?;
            Ok(Answer::Removed)
        }
        // The route allows no other method here.
        _ => Ok(Answer::Found(View::from(svc.person(&id).await?))),
    }
}
