//! What the domain needs from the outside, as traits. Each method's doc states the contract
//! every adapter MUST keep; `crate::store_suite` checks those rules against any adapter.

use std::future::Future;

use secrecy::SecretString;
use thiserror::Error;

use crate::domain::idempotency::{Fingerprint, IdempotencyKey, IdempotencyRecord, StoredResponse};
use crate::domain::message::OutgoingMessage;
use crate::domain::{
    ApiKeyHash, ApiKeyRecord, AuditDigest, Channel, Delivery, DeliveryJob, Endpoint, FieldName,
    LimitReason, LookupKey, ParameterName, PasswordHash, PersonRemoval, PersonWrite, RecordedEvent,
    Suppression, SuppressionKey, SystemUserId, Timestamp, User, UserId, VerificationId,
    VerificationRecord,
};

/// Storage failed for a reason the caller cannot fix by changing the request.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("storage unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("stored item is malformed: {0}")]
    Corrupt(String),
    #[error("item already exists: {0}")]
    Duplicate(String),
    #[error("no such item: {0}")]
    Missing(String),
    /// Another person holds this `SystemUserId` already.
    #[error("SystemUserId {0} is already taken")]
    SystemUserIdTaken(SystemUserId),
}

impl StoreError {
    pub fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Unavailable(Box::new(e))
    }
}

/// A conditional write lost: the record was consumed, expired, burned or superseded, or the
/// user's credential changed, between the read and the write.
#[derive(Debug, Error)]
pub enum ConsumeError {
    #[error("verification can no longer be used")]
    Rejected,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Users and the identifier index (one entry per unique field value, pointing at users).
pub trait UserDirectory: Send + Sync + 'static {
    /// Ids of every user indexed under `key`, in any order. MUST be an index look-up, never a scan.
    fn find_by(
        &self,
        key: &LookupKey,
    ) -> impl Future<Output = Result<Vec<UserId>, StoreError>> + Send;

    fn get_user(
        &self,
        id: &UserId,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;

    /// Creates `user` with its index entries `keys` and, when it carries one, the claim on
    /// its `system_user_id`. MUST fail with `Duplicate` if the id exists (whatever else
    /// fails), else with `SystemUserIdTaken` if another user holds the number, atomically
    /// under any concurrency; MUST NOT leave index entries or a claim for a user that was
    /// not created.
    fn create_user(
        &self,
        user: &User,
        keys: &[LookupKey],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The user holding `id`, by the claim's key, never a scan.
    fn find_by_system_user_id(
        &self,
        id: SystemUserId,
    ) -> impl Future<Output = Result<Option<UserId>, StoreError>> + Send;

    /// Gives a user stored without a `SystemUserId` the number `id`, claimed as
    /// `create_user` claims it, and returns the user's number afterwards: `id`, or the one
    /// they already had (then `id` is left free). MUST fail with `SystemUserIdTaken` if
    /// another user holds `id`, and with `Missing` for an unknown user.
    fn assign_system_user_id(
        &self,
        user: &UserId,
        id: SystemUserId,
    ) -> impl Future<Output = Result<SystemUserId, StoreError>> + Send;

    /// Applies `write` in one atomic step: the person's name, fields and version (and the
    /// withdrawal of their live secret when `write.after` has none), every index entry
    /// gained and lost, every exclusive claim gained and given up, and the claim on a
    /// number the write gives. Leaves the password hash and credential version as stored.
    /// MUST apply nothing and fail with `Raced` unless the stored person is still as
    /// `write.before` was read (present or absent, and the same `version`); with
    /// `FieldTaken` naming the field when another person holds a claimed value; with
    /// `SystemUserIdTaken` when another person holds the number.
    fn write_person(
        &self,
        write: &PersonWrite,
    ) -> impl Future<Output = Result<(), PersonConflict>> + Send;

    /// Removes the person, their index entries and exclusive claims in one atomic step (their
    /// number stays claimed, so it is never given to another). MUST apply nothing and fail
    /// with `Raced` unless the stored person has the `version` `removal.user` was read with.
    fn remove_person(
        &self,
        removal: &PersonRemoval,
    ) -> impl Future<Output = Result<(), PersonConflict>> + Send;
}

/// Why a people-API write or removal did not apply. Nothing of it did.
#[derive(Debug, Error)]
pub enum PersonConflict {
    /// The person is no longer as the write was planned from: another write came first.
    #[error("the person changed since they were read")]
    Raced,
    /// Another person holds a value of this exclusive field.
    #[error("{0} is held by another person")]
    FieldTaken(FieldName),
    #[error("SystemUserId {0} is already taken")]
    SystemUserIdTaken(SystemUserId),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The reset that `VerificationStore::complete_reset` applies in one atomic step.
#[derive(Debug, Clone)]
pub struct CompletedReset {
    pub verification: VerificationId,
    pub user: UserId,
    /// The user's `credential_version` when the code was checked.
    pub expected_credential_version: u64,
    pub new_password_hash: PasswordHash,
    pub now: Timestamp,
}

/// After a failed attempt: how many so far, and whether the record is now burned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptCount {
    pub attempts: u32,
    pub burned: bool,
}

pub trait VerificationStore: Send + Sync + 'static {
    /// Stores `record` and makes it the user's latest verification in one atomic step, so
    /// every earlier one stops working (latest wins). MUST fail with `Missing` for an
    /// unknown user.
    fn issue(
        &self,
        record: &VerificationRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The record, or `None` if unknown or expired at `now` (TTL deletion lags, so an
    /// adapter MUST re-check `expires_at` itself).
    fn get_verification(
        &self,
        id: &VerificationId,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<VerificationRecord>, StoreError>> + Send;

    /// Counts one failed attempt, atomically. MUST NOT count past `max_attempts`, on a
    /// consumed record, or on one expired at `now` (then `Rejected`).
    fn record_failure(
        &self,
        id: &VerificationId,
        now: Timestamp,
    ) -> impl Future<Output = Result<AttemptCount, ConsumeError>> + Send;

    /// Withdraws a record that could not be delivered: it stops being the user's latest and
    /// can never be consumed. Idempotent.
    fn revoke(
        &self,
        id: &VerificationId,
        user: &UserId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records where the record's message stands. Changes nothing else: a record's
    /// usability is decided by `issue`, `revoke` and `complete_reset` alone. MUST fail with
    /// `Missing` for an unknown id.
    fn record_delivery(
        &self,
        id: &VerificationId,
        delivery: &Delivery,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Consumes the verification, stores the new password hash and bumps the user's
    /// `credential_version`, all or nothing. MUST succeed only if the record is unconsumed,
    /// unexpired at `now`, not burned, still the user's latest, and the user's credential
    /// version is the expected one; otherwise `Rejected`. MUST succeed at most once per
    /// record under any concurrency.
    fn complete_reset(
        &self,
        reset: &CompletedReset,
    ) -> impl Future<Output = Result<(), ConsumeError>> + Send;
}

/// API keys, stored by their hash. Requests find a key by its hash only; the operator's
/// tool (`resetctl keys`) also lists keys and revokes them by their public `key_id`, which
/// no index covers: those two read the whole store (a paginated Scan in DynamoDB), which
/// is fine for the few keys a stage holds and never happens on a request's path.
pub trait ApiKeyStore: Send + Sync + 'static {
    fn find_key(
        &self,
        hash: &ApiKeyHash,
    ) -> impl Future<Output = Result<Option<ApiKeyRecord>, StoreError>> + Send;

    /// MUST fail with `Duplicate` if a key with that hash exists.
    fn put_key(&self, key: &ApiKeyRecord) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every stored key, in any order. Reads the whole store: for the operator's tool only.
    fn list_keys(&self) -> impl Future<Output = Result<Vec<ApiKeyRecord>, StoreError>> + Send;

    /// Makes the key with public id `key_id` refused from `at` on, and returns the key as
    /// stored afterwards. What is stored is `ApiKeyRecord::revoked(at, now)`: `revoke_at`
    /// becomes `at` unless the key was already due earlier (a revocation is never
    /// postponed), and when that moment is not after `now` the key is also made inactive.
    /// Nothing else about the key changes. MUST fail with `Missing` for an unknown
    /// `key_id`; MUST NOT postpone a revocation stored concurrently. Finds the key as
    /// `list_keys` does (a scan): for the operator's tool only.
    fn schedule_revocation(
        &self,
        key_id: &str,
        at: Timestamp,
        now: Timestamp,
    ) -> impl Future<Output = Result<ApiKeyRecord, StoreError>> + Send;
}

/// The audit log: events written without a read, each its own record, and the digests that
/// seal them after the fact (`domain::audit_digest`).
pub trait AuditLog: Send + Sync + 'static {
    /// Stores `event` as its own record. MUST be conditional on its key being new, so that
    /// nothing replaces a stored event; and MUST succeed when that very event is already
    /// stored (a write retried after its answer was lost), storing it once.
    fn record(&self, event: &RecordedEvent) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The events stamped within `[from, to)`, in key order. Key queries, never a scan.
    fn events_between(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>, StoreError>> + Send;

    /// One person's events, in key order (an index query).
    fn user_events(
        &self,
        user: &UserId,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>, StoreError>> + Send;

    /// The newest digest (the chain's head), read consistently, or `None` before the first.
    fn last_digest(&self) -> impl Future<Output = Result<Option<AuditDigest>, StoreError>> + Send;

    /// Stores a digest. MUST fail with `Duplicate` when a different digest holds its place
    /// (period and part), and MUST succeed when the same digest is already there (two runs
    /// sealing the same period compute the same digest).
    fn put_digest(
        &self,
        digest: &AuditDigest,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every digest, in chain order (period, then part).
    fn digests(&self) -> impl Future<Output = Result<Vec<AuditDigest>, StoreError>> + Send;
}

/// What `IdempotencyStore::claim` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key was free (or its record had expired): the caller now holds it.
    Acquired,
    /// Someone holds or held the key: their record.
    Existing(IdempotencyRecord),
}

/// Records behind the `Idempotency-Key` header, in the guards table. Each claim carries
/// an `owner`, a random token of the request that made it: a write whose answer was lost
/// can then be recognised as one's own, and only the owner completes or releases it.
pub trait IdempotencyStore: Send + Sync + 'static {
    /// Takes `key` for a request with `fingerprint` until `lock_until`, atomically: of
    /// concurrent claims at most one is `Acquired`. A record whose `expires_at` is before
    /// `now` counts as free.
    fn claim(
        &self,
        key: &IdempotencyKey,
        fingerprint: &Fingerprint,
        owner: &str,
        now: Timestamp,
        lock_until: Timestamp,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send;

    /// Stores the first response under a key `owner` holds, kept until `expires_at`.
    /// MUST fail with `Missing` when `owner` no longer holds it.
    fn complete(
        &self,
        key: &IdempotencyKey,
        owner: &str,
        response: &StoredResponse,
        expires_at: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Gives up a key `owner` holds, without a response. A key held by someone else (or
    /// nobody) is left alone, without error.
    fn release(
        &self,
        key: &IdempotencyKey,
        owner: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A fixed-window counter limit: at most `max` hits per `window_secs`. A `max` or a window
/// of 0 switches the limit off (a stage setting of 0): nothing is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub max: u32,
    pub window_secs: u64,
}

impl RateLimit {
    pub fn is_off(&self) -> bool {
        self.max == 0 || self.window_secs == 0
    }
}

/// The bucket of a `hit_together` that was at its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverLimit {
    /// Its index in the hits.
    pub index: usize,
    pub retry_after_secs: u64,
}

pub trait RateLimiter: Send + Sync + 'static {
    /// Counts one hit on every bucket of `hits` in the windows containing `now`, all or
    /// none: `Ok` when each is under its limit, else the first bucket at its limit (its
    /// index, and the end of its window) and nothing counted. MUST be atomic as `hit` is,
    /// and a call the client retries after its answer was lost MUST count once. `hits`
    /// names each bucket once; a limit that is off does not belong in it.
    fn hit_together(
        &self,
        hits: &[(String, RateLimit)],
        now: Timestamp,
    ) -> impl Future<Output = Result<Result<(), OverLimit>, StoreError>> + Send;
}

/// Addresses that bounced hard or drew a complaint: the courier sends them nothing until an
/// operator clears them. Entries never expire.
pub trait SuppressionList: Send + Sync + 'static {
    /// Suppresses `key`. Suppressing a suppressed address again keeps the first entry.
    fn suppress(
        &self,
        key: &SuppressionKey,
        suppression: &Suppression,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The entry for `key`, read consistently (a clear is seen at once), or `None`.
    fn suppression(
        &self,
        key: &SuppressionKey,
    ) -> impl Future<Output = Result<Option<Suppression>, StoreError>> + Send;

    /// Lifts the suppression of `key`; whether there was one.
    fn clear_suppression(
        &self,
        key: &SuppressionKey,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Everything the services keep: one value that implements every storage port.
pub trait Store:
    UserDirectory
    + VerificationStore
    + ApiKeyStore
    + AuditLog
    + RateLimiter
    + IdempotencyStore
    + SuppressionList
{
}
impl<
        T: UserDirectory
            + VerificationStore
            + ApiKeyStore
            + AuditLog
            + RateLimiter
            + IdempotencyStore
            + SuppressionList,
    > Store for T
{
}

#[derive(Debug, Error)]
pub enum DeliveryError {
    #[error("the provider refused the message: {0}")]
    Rejected(String),
    #[error("the provider could not be reached: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Email and SMS delivery: the courier's side.
pub trait Notifier: Send + Sync + 'static {
    /// Sends `message`. `Ok` means the provider accepted it, under the returned message id.
    /// `Unavailable` MUST mean that trying again later may succeed (throttling, 5xx, the
    /// network); `Rejected` that it will not.
    fn send(
        &self,
        message: &OutgoingMessage,
    ) -> impl Future<Output = Result<String, DeliveryError>> + Send;
}

#[derive(Debug, Error)]
#[error("the delivery queue could not be reached: {0}")]
pub struct QueueError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// The delivery queue: the request path's side of the courier.
pub trait DeliveryQueue: Send + Sync + 'static {
    /// Puts `job` on the queue. `Ok` means the queue holds it durably.
    fn enqueue(&self, job: &DeliveryJob) -> impl Future<Output = Result<(), QueueError>> + Send;
}

/// A stage secret could not be read. No variant carries the secret or any part of it.
#[derive(Debug, Error)]
pub enum SecretError {
    #[error("no parameter has this name")]
    NotFound,
    /// Stored in clear (a `String`): anyone allowed to read the parameter store reads it.
    #[error("it is stored unencrypted; store it as a SecureString")]
    NotEncrypted,
    #[error("the parameter store could not be read: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Where a stage keeps its secrets (SSM Parameter Store in production), read once per cold
/// start, so that they are in no function's configuration.
pub trait SecretStore: Send + Sync + 'static {
    /// The plaintext stored under `name`. MUST answer `NotFound` when nothing is stored
    /// under `name`, MUST refuse (`NotEncrypted`) a value stored unencrypted, and MUST return
    /// the decrypted value of an encrypted one, never its ciphertext.
    fn read_secret(
        &self,
        name: &ParameterName,
    ) -> impl Future<Output = Result<SecretString, SecretError>> + Send;
}

/// Something worth counting, by endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    Sent(Channel),
    /// A send withheld: the recipient was over its limit, had no address on file, or is
    /// suppressed (a hard bounce or a complaint).
    Suppressed,
    DeliveryFailed(Channel),
    /// A send the provider could not take yet (throttling, 5xx): the courier retries it.
    Deferred(Channel),
    /// A job the delivery queue could not take.
    Unqueued,
    LimitHit(LimitReason),
    PasswordChanged,
    CodeRejected,
    /// A person created or changed through the people API.
    PersonChanged,
    PersonDeleted,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::Sent(_) => "Sent",
            Metric::Suppressed => "Suppressed",
            Metric::DeliveryFailed(_) => "DeliveryFailed",
            Metric::Deferred(_) => "Deferred",
            Metric::Unqueued => "Unqueued",
            Metric::LimitHit(_) => "LimitHit",
            Metric::PasswordChanged => "PasswordChanged",
            Metric::CodeRejected => "CodeRejected",
            Metric::PersonChanged => "PersonChanged",
            Metric::PersonDeleted => "PersonDeleted",
        }
    }

    /// The second dimension's value: channel or reason, where there is one.
    pub fn detail(self) -> &'static str {
        match self {
            Metric::Sent(c) | Metric::DeliveryFailed(c) | Metric::Deferred(c) => c.as_str(),
            Metric::LimitHit(r) => r.as_str(),
            _ => "all",
        }
    }
}

/// Operational counts. `record` MUST NOT fail or block the request: a metric lost is
/// better than an answer delayed, so it returns nothing and does no network I/O.
pub trait Metrics: Send + Sync + 'static {
    /// One count of `metric` on `endpoint`, at `at` by the service's clock.
    fn record(&self, endpoint: Endpoint, metric: Metric, at: Timestamp);
}

/// Counts nothing: for tools and tests that run the service without metrics.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMetrics;

impl Metrics for NoMetrics {
    fn record(&self, _: Endpoint, _: Metric, _: Timestamp) {}
}

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// Randomness for codes, ids and salts. Production MUST use the OS CSPRNG.
pub trait RandomSource: Send + Sync + 'static {
    fn fill(&self, buf: &mut [u8]);
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Timestamp::from_unix_seconds(secs)
    }
}

/// The operating system's CSPRNG.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&self, buf: &mut [u8]) {
        // The OS RNG failing is not something to continue from: codes would be guessable.
        if let Err(e) = getrandom::fill(buf) {
            panic!("the operating system's random number generator failed: {e}");
        }
    }
}
