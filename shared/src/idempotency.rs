//! The `Idempotency-Key` header, the same on all three functions: a retry with the same key
//! and request gets the first answer again (no second send, no attempt spent); the same key
//! with another request is refused; a retry while the first is still running is told to
//! wait. The rules are in `domain::idempotency`; this is the HTTP side of them.

use std::future::Future;
use std::time::Duration;

use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::{Body, Request, Response};

use crate::domain::idempotency::{
    worth_replaying, Fingerprint, IdempotencyKey, IdempotencyKeyError, Replay, StoredResponse,
};
use crate::ports::{Claim, Clock, Notifier, RandomSource, Store, StoreError};
use crate::service::{Endpoint, Resetkit};

pub const HEADER: &str = "idempotency-key";
/// Set on a replayed answer, so a client can tell.
pub const REPLAYED: &str = "idempotent-replayed";
/// How long a first request holds its key: longer than any function's timeout, so a
/// sandbox that died mid-request frees the key soon after.
pub const LOCK: Duration = Duration::from_secs(60);
/// How long an answer is kept for replay.
pub const KEEP: Duration = Duration::from_secs(24 * 3600);
/// What an in-flight duplicate is asked to wait, in seconds.
pub const IN_FLIGHT_RETRY_AFTER: u64 = 1;

/// Why a request with a key is not run; each contract answers it in its own shape.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("{0}")]
    Malformed(#[from] IdempotencyKeyError),
    #[error("Idempotency-Key was already used for a different request")]
    Mismatch,
    #[error("A request with this Idempotency-Key is still in progress; retry shortly")]
    InFlight,
    #[error("idempotency record unavailable: {0}")]
    Unavailable(#[from] StoreError),
}

impl Refusal {
    pub fn status(&self) -> StatusCode {
        match self {
            Refusal::Malformed(_) => StatusCode::BAD_REQUEST,
            Refusal::Mismatch => StatusCode::UNPROCESSABLE_ENTITY,
            Refusal::InFlight => StatusCode::CONFLICT,
            Refusal::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The `Retry-After` a refusal carries, if any.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Refusal::InFlight | Refusal::Unavailable(_) => Some(IN_FLIGHT_RETRY_AFTER),
            _ => None,
        }
    }
}

impl<S: Store, N: Notifier, C: Clock, R: RandomSource> Resetkit<S, N, C, R> {
    /// Runs `handler` for `req` under its `Idempotency-Key`, if it has one. `credential` is
    /// what the caller authenticates with (the key's scope); `refuse` renders a refusal in
    /// the contract's shape.
    pub async fn idempotent<F, Fut>(
        &self,
        endpoint: Endpoint,
        req: &Request,
        credential: &str,
        refuse: impl FnOnce(Refusal) -> Response<Body>,
        handler: F,
    ) -> Response<Body>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Response<Body>>,
    {
        let mut values = req.headers().get_all(HEADER).iter();
        let Some(first) = values.next() else {
            return handler().await;
        };
        // Two keys on one request cannot both be honoured.
        let raw = if values.next().is_some() {
            ""
        } else {
            first.to_str().unwrap_or("")
        };
        let key = match IdempotencyKey::parse(raw.trim(), endpoint.as_str(), credential) {
            Ok(key) => key,
            Err(e) => return refuse(e.into()),
        };
        let fingerprint = self.fingerprint(req);
        let mut token = [0u8; 16];
        self.fill_random(&mut token);
        let owner = hex::encode(token);
        let now = self.now();
        let claim = self
            .store()
            .claim(&key, &fingerprint, &owner, now, now.plus(LOCK))
            .await;
        let existing = match claim {
            Err(e) => {
                // The write may have landed with its answer lost: undo it if it is ours, so
                // that the client's retry is not told to wait for a request that is over.
                if let Err(undo) = self.store().release(&key, &owner).await {
                    tracing::warn!(error = %undo, "could not release an idempotency claim after a failed write");
                }
                return refuse(e.into());
            }
            Ok(Claim::Existing(record)) => record,
            Ok(Claim::Acquired) => return self.run_first(&key, &owner, handler).await,
        };
        match Replay::decide(Some(existing), &fingerprint, &owner) {
            Replay::Stored(stored) => match self.settings().code_keys.open(&stored.body) {
                Some(body) => replayed(&stored, body),
                None => refuse(
                    StoreError::Corrupt("a stored answer does not decrypt under any secret".into())
                        .into(),
                ),
            },
            Replay::InFlight => refuse(Refusal::InFlight),
            Replay::Mismatch => refuse(Refusal::Mismatch),
            Replay::Run => self.run_first(&key, &owner, handler).await,
        }
    }

    async fn run_first<F, Fut>(
        &self,
        key: &IdempotencyKey,
        owner: &str,
        handler: F,
    ) -> Response<Body>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Response<Body>>,
    {
        let res = handler().await;
        let status = res.status().as_u16();
        let kept = if worth_replaying(status) {
            let content_type = res
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let stored = StoredResponse {
                status,
                content_type: content_type.to_owned(),
                body: self
                    .settings()
                    .code_keys
                    .seal(res.body().as_ref(), |b| self.fill_random(b)),
            };
            self.store()
                .complete(key, owner, &stored, self.now().plus(KEEP))
                .await
        } else {
            self.store().release(key, owner).await
        };
        // The answer stands either way; a retry then runs again instead of replaying.
        if let Err(e) = kept {
            tracing::error!(error = %e, "idempotency record not updated");
        }
        res
    }

    fn fingerprint(&self, req: &Request) -> Fingerprint {
        let uri = req.uri();
        let target = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
        let media = req
            .headers()
            .get(header::CONTENT_TYPE)
            .map_or(&b""[..], HeaderValue::as_bytes);
        Fingerprint::of(
            &self.settings().code_keys,
            &[
                req.method().as_str().as_bytes(),
                target.as_bytes(),
                media,
                req.body().as_ref(),
            ],
        )
    }
}

fn replayed(stored: &StoredResponse, body: Vec<u8>) -> Response<Body> {
    let mut res = Response::new(Body::from(body));
    *res.status_mut() = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&stored.content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert(REPLAYED, HeaderValue::from_static("true"));
    res
}
