//! The HTTP side of `Idempotency-Key` (the use case is `Resetkit::remembered`): the key
//! from its header, what the request asks as plain bytes, the answer as a plain value to
//! keep, and a kept answer written back.

use std::future::Future;

use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::{Body, Request, Response};

use super::response::respond;
use crate::domain::idempotency::{IdempotencyKey, StoredResponse};
use crate::ports::{Clock, DeliveryQueue, Metrics, RandomSource, Store};
use crate::service::{Endpoint, Refusal, Remembered, Resetkit};

pub const HEADER: &str = "idempotency-key";
/// Set on a replayed answer, so a client can tell.
pub const REPLAYED: &str = "idempotent-replayed";

/// Runs `run` for `req` under its `Idempotency-Key`, if it has one. `scope` is what the
/// caller authenticates with (the key's scope); `refuse` renders a refusal in the
/// contract's shape.
pub(super) async fn guard<S: Store, N: DeliveryQueue, C: Clock, R: RandomSource, M: Metrics, Fut>(
    svc: &Resetkit<S, N, C, R, M>,
    req: &Request,
    endpoint: Endpoint,
    scope: &str,
    refuse: impl FnOnce(Refusal) -> Response<Body>,
    run: impl FnOnce() -> Fut,
) -> Response<Body>
where
    Fut: Future<Output = Response<Body>>,
{
    let mut values = req.headers().get_all(HEADER).iter();
    let Some(first) = values.next() else {
        return run().await;
    };
    // Two keys on one request cannot both be honoured.
    let raw = if values.next().is_some() {
        ""
    } else {
        first.to_str().unwrap_or("")
    };
    let key = match IdempotencyKey::parse(raw.trim(), endpoint.as_str(), scope) {
        Ok(key) => key,
        Err(e) => return refuse(e.into()),
    };
    let uri = req.uri();
    let target = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
    let media = req
        .headers()
        .get(header::CONTENT_TYPE)
        .map_or(&b""[..], HeaderValue::as_bytes);
    let asked = [
        req.method().as_str().as_bytes(),
        target.as_bytes(),
        media,
        req.body().as_ref(),
    ];
    match svc.remembered(&key, &asked, kept, run).await {
        Ok(Remembered::Fresh(res)) => res,
        Ok(Remembered::Replayed(stored)) => replayed(stored),
        Err(refusal) => refuse(refusal),
    }
}

fn kept(res: &Response<Body>) -> StoredResponse {
    StoredResponse {
        status: res.status().as_u16(),
        content_type: res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned(),
        body: <[u8]>::to_vec(res.body().as_ref()),
    }
}

/// The first answer again, marked as such.
fn replayed(stored: StoredResponse) -> Response<Body> {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut res = respond(status, &stored.content_type, stored.body);
    res.headers_mut()
        .insert(REPLAYED, HeaderValue::from_static("true"));
    res
}
