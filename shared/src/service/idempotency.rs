//! `Idempotency-Key`, the use case: a retry with the same key and request gets the first
//! answer again (no second send, no attempt spent); the same key with another request is
//! refused; a retry while the first is still running is told to wait. The rules are in
//! `domain::idempotency`; this runs them over the `IdempotencyStore` port with the
//! service's clock and randomness. Requests and answers are plain values: reading them
//! from HTTP and writing them back is `crate::inbound`'s part.

use std::future::Future;
use std::time::Duration;

use thiserror::Error;

use super::Resetkit;
use crate::domain::code::SealPurpose;
use crate::domain::idempotency::{
    worth_replaying, Fingerprint, IdempotencyKey, IdempotencyKeyError, Replay, StoredResponse,
};
use crate::ports::{Claim, Clock, Metrics, RandomSource, Store, StoreError};

/// How long a first request holds its key: longer than any function's timeout, so a
/// sandbox that died mid-request frees the key soon after.
pub const LOCK: Duration = Duration::from_secs(60);
/// How long an answer is kept for replay.
pub const KEEP: Duration = Duration::from_secs(24 * 3600);

/// Why a request with a key is not run; each contract answers it in its own shape.
#[derive(Debug, Error)]
pub enum Refusal {
    #[error("{0}")]
    Malformed(#[from] IdempotencyKeyError),
    #[error("Idempotency-Key was already used for a different request")]
    Mismatch,
    #[error("A request with this Idempotency-Key is still in progress; retry shortly")]
    InFlight,
    #[error("idempotency record unavailable")]
    Unavailable(#[from] StoreError),
}

/// What a request with a key got: its own answer, or the first one again.
#[derive(Debug)]
pub enum Remembered<T> {
    Fresh(T),
    Replayed(StoredResponse),
}

impl<S: Store, D, C: Clock, R: RandomSource, M: Metrics> Resetkit<S, D, C, R, M> {
    /// Runs `run` under `key` unless the key already answered, or is still answering, this
    /// request. `request` is what the request asks (method, target, media type, body), as
    /// bytes; `kept` gives the plain answer to store for a fresh result.
    pub async fn remembered<T, Fut>(
        &self,
        key: &IdempotencyKey,
        request: &[&[u8]],
        kept: impl FnOnce(&T) -> StoredResponse,
        run: impl FnOnce() -> Fut,
    ) -> Result<Remembered<T>, Refusal>
    where
        Fut: Future<Output = T>,
    {
        let fingerprint = Fingerprint::of(&self.settings.code_keys, request);
        let owner = hex::encode(self.random_bytes::<16>());
        let now = self.clock.now();
        let claim = self
            .store
            .claim(key, &fingerprint, &owner, now, now.plus(LOCK))
            .await;
        let existing = match claim {
            Err(e) => {
                // The write may have landed with its answer lost: undo it if it is ours, so
                // that the client's retry is not told to wait for a request that is over.
                if let Err(undo) = self.store.release(key, &owner).await {
                    tracing::warn!(error = %undo, "could not release an idempotency claim after a failed write");
                }
                return Err(e.into());
            }
            Ok(Claim::Existing(record)) => record,
            Ok(Claim::Acquired) => return Ok(self.run_first(key, &owner, kept, run).await),
        };
        match Replay::decide(Some(existing), &fingerprint, &owner) {
            Replay::Stored(stored) => match self
                .settings
                .code_keys
                .open(SealPurpose::StoredAnswer, &stored.body)
            {
                Some(body) => Ok(Remembered::Replayed(StoredResponse { body, ..stored })),
                None => Err(StoreError::Corrupt(
                    "a stored answer does not decrypt under any secret".into(),
                )
                .into()),
            },
            Replay::InFlight => Err(Refusal::InFlight),
            Replay::Mismatch => Err(Refusal::Mismatch),
            Replay::Run => Ok(self.run_first(key, &owner, kept, run).await),
        }
    }

    async fn run_first<T, Fut>(
        &self,
        key: &IdempotencyKey,
        owner: &str,
        kept: impl FnOnce(&T) -> StoredResponse,
        run: impl FnOnce() -> Fut,
    ) -> Remembered<T>
    where
        Fut: Future<Output = T>,
    {
        let fresh = run().await;
        let answer = kept(&fresh);
        let recorded = if worth_replaying(answer.status) {
            let stored = StoredResponse {
                body: self
                    .settings
                    .code_keys
                    .seal(SealPurpose::StoredAnswer, &answer.body, |b| {
                        self.random.fill(b)
                    }),
                ..answer
            };
            self.store
                .complete(key, owner, &stored, self.clock.now().plus(KEEP))
                .await
        } else {
            self.store.release(key, owner).await
        };
        // The answer stands either way; a retry then runs again instead of replaying.
        if let Err(e) = recorded {
            tracing::error!(error = %e, "idempotency record not updated");
        }
        Remembered::Fresh(fresh)
    }
}
