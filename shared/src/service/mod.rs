//! The use cases, one module each, over the ports. No AWS types, no HTTP.

mod audit_trail;
mod confirm;
mod courier;
mod forgot_password;
mod guest_reset;
mod idempotency;
mod issue;
mod key_cache;
#[cfg(test)]
mod key_tests;
mod limits;
mod people;
mod person_writes;
mod provider_events;
mod reset_page;
#[cfg(test)]
mod tests;

use std::time::Duration;

use thiserror::Error;

pub use crate::domain::{Endpoint, LimitReason};
pub use audit_trail::{AuditTrail, Sealed, Verified, VerifyError};
pub use confirm::{ConfirmCommand, ConfirmError, ConfirmSubject, Confirmed, UnexpectedConfirm};
pub use forgot_password::{ForgotPasswordCommand, ForgotPasswordError, ForgotPasswordOutcome};
pub use guest_reset::{GuestResetCommand, GuestResetError, GuestResetIssued};
pub use idempotency::{Refusal, Remembered, KEEP, LOCK};
pub use limits::{Limits, RateLimited};
pub use people::{create_person, SYSTEM_USER_ID_DRAWS};
pub use person_writes::{
    remove_in, write_in, Applied, PersonEdit, PersonError, PersonView, PersonWritten, WRITE_TRIES,
};
pub use reset_page::PageKeyError;

use self::key_cache::KeyCache;
use crate::domain::catalogue::Brand;
use crate::domain::code::CodeKeys;
use crate::domain::message::LinkTemplate;
use crate::domain::password::HashParams;
use crate::domain::{
    ApiKeyHash, ApiKeyRecord, AuditAction, AuditEvent, DeliveryJob, EventId, FieldCatalog, JobId,
    KeyKind, Locales, Origin, Permission, PresentedKey, RecordedEvent, RetryPolicy, Task, UserId,
    VerificationId,
};
use crate::ports::{
    Clock, Metric, Metrics, NoMetrics, OsRandom, RandomSource, Store, StoreError, SystemClock,
};

/// Domain settings for one stage. Every default lives in `crate::config`.
#[derive(Clone)]
pub struct Settings {
    pub fields: FieldCatalog,
    pub code_keys: CodeKeys,
    pub code_ttl: Duration,
    pub link_ttl: Duration,
    pub max_attempts: u32,
    pub link_template: LinkTemplate,
    /// Return the staff-flow code to staff in the response (Zenoti compatibility).
    pub staff_code_in_response: bool,
    pub notify_password_changed: bool,
    pub hash_params: HashParams,
    pub limits: Limits,
    /// How the courier retries a send the provider could not take yet.
    pub retry: RetryPolicy,
    /// The key the reset page (contract D) posts with: a browser key with `password:confirm`.
    /// `None` turns the page off. The service checks it (`reset_page_key`) before the page
    /// hands it to browsers.
    pub browser_confirm_key: Option<String>,
    /// How long a warm sandbox trusts a key it read (0: never); a key deactivated in the
    /// table keeps working that long where it was seen.
    pub key_cache: Duration,
    /// The name and support contact messages go out under.
    pub brand: Brand,
    /// The languages messages and the reset page are offered in, and the default.
    pub locales: Locales,
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key: ApiKeyRecord,
    pub source_ip: Option<String>,
}

impl Caller {
    /// Who is asking, as audit events and recipient budgets name them; a delivery job
    /// carries it to the courier. The requester is the asker whose budget a send spends,
    /// which one asker must not spend for another: behind a shared key the source address,
    /// else the key itself (staff keep their own budget).
    pub fn origin(&self) -> Origin {
        let requester = match &self.source_ip {
            Some(ip) if self.key.kind.is_shared() => format!("ip:{ip}"),
            _ => format!("key:{}", self.key.key_id),
        };
        Origin {
            key_id: self.key.key_id.clone(),
            source_ip: self.source_ip.clone(),
            requester,
        }
    }
}

#[derive(Debug, Error)]
pub enum AuthError {
    /// Unknown, inactive, of the wrong kind or without the permission. One variant, so a
    /// response cannot tell a prober which.
    #[error("unauthorized")]
    Unauthorized,
    #[error("{0}")]
    RateLimited(RateLimited),
    #[error(transparent)]
    Unexpected(#[from] StoreError),
}

/// The service behind the three functions and the courier. `D` is its side of delivery:
/// the queue (`DeliveryQueue`) for the functions, which never wait on a provider; the
/// provider (`Notifier`) for the courier, which sends what they queued.
pub struct Resetkit<S, D, C = SystemClock, R = OsRandom, M = NoMetrics> {
    store: S,
    delivery: D,
    clock: C,
    random: R,
    metrics: M,
    keys: KeyCache,
    settings: Settings,
}

impl<S: Store, D, C: Clock, R: RandomSource, M: Metrics> Resetkit<S, D, C, R, M> {
    pub fn new(store: S, delivery: D, clock: C, random: R, metrics: M, settings: Settings) -> Self {
        Self {
            store,
            delivery,
            clock,
            random,
            metrics,
            keys: KeyCache::new(settings.key_cache),
            settings,
        }
    }

    /// The key with `hash`, from the warm sandbox's cache when it was read recently.
    async fn find_key(&self, hash: &ApiKeyHash) -> Result<Option<ApiKeyRecord>, StoreError> {
        let now = self.clock.now();
        if let Some(key) = self.keys.get(hash, now) {
            return Ok(Some(key));
        }
        let key = self.store.find_key(hash).await?;
        if let Some(key) = &key {
            self.keys.put(key, now);
        }
        Ok(key)
    }

    /// One count of `metric`, stamped by the service's clock.
    fn count(&self, endpoint: Endpoint, metric: Metric) {
        self.metrics.record(endpoint, metric, self.clock.now());
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Finds the presented key by its hash (from the warm sandbox's cache, mostly), checks
    /// its kind and permission, and counts the request against its source address and, for a
    /// key that passed, against the key: both counters in one round trip. The address is
    /// counted whatever the key, so guessing keys is limited too.
    pub async fn authenticate(
        &self,
        endpoint: Endpoint,
        presented: &str,
        kinds: &[KeyKind],
        needed: Permission,
        source_ip: Option<String>,
    ) -> Result<Caller, AuthError> {
        let limits = self.settings.limits;
        let mut event =
            AuditEvent::new(self.clock.now(), AuditAction::CallerRefused).detail(needed.as_str());
        event.source_ip = source_ip.clone();
        let key = if presented.trim().is_empty() {
            None
        } else {
            self.find_key(&PresentedKey(presented).hash()).await?
        };
        event.actor = key.as_ref().map(|k| k.key_id.clone());
        let now = self.clock.now();
        let key = key.filter(|k| kinds.contains(&k.kind) && k.allows(needed, now));

        let mut hits = Vec::with_capacity(2);
        if let Some(ip) = &source_ip {
            hits.push((
                LimitReason::SourceIp,
                format!("ip#{}#{ip}", endpoint.as_str()),
                limits.per_address(endpoint),
            ));
        }
        if let Some(key) = &key {
            let per_key = if endpoint == Endpoint::ForgotPassword {
                limits.forgot_per_key
            } else {
                limits.per_key
            };
            let bucket = match &source_ip {
                Some(ip) if key.kind.is_shared() => {
                    format!("key#{}#{}#{ip}", endpoint.as_str(), key.key_id)
                }
                _ => format!("key#{}#{}", endpoint.as_str(), key.key_id),
            };
            hits.push((LimitReason::ApiKey, bucket, per_key));
        }
        if let Err(limited) = self.limits_together(endpoint, &hits).await? {
            self.audit_limited(event, limited).await;
            return Err(AuthError::RateLimited(limited));
        }
        match key {
            Some(key) => Ok(Caller { key, source_ip }),
            None => {
                self.audit(event).await;
                Err(AuthError::Unauthorized)
            }
        }
    }

    /// Records an audit event as its own item: one conditional write, no read, so no
    /// request waits on another's events and none is dropped for contention (the digest job
    /// seals them later). A failure is logged, not returned: the request has had its effect
    /// and must get its answer.
    async fn audit(&self, event: AuditEvent) {
        let recorded = RecordedEvent {
            id: EventId::from_random(self.random_bytes()),
            event,
        };
        if let Err(e) = self.store.record(&recorded).await {
            tracing::error!(error = %e, action = recorded.event.action.as_str(), "audit write failed");
        }
    }

    fn audit_event(
        &self,
        origin: &Origin,
        action: AuditAction,
        user: Option<&UserId>,
    ) -> AuditEvent {
        let mut e = AuditEvent::new(self.clock.now(), action);
        e.actor = Some(origin.key_id.clone());
        e.user_id = user.cloned();
        e.source_ip = origin.source_ip.clone();
        e
    }

    /// A new job for the courier, from `origin`.
    fn job(&self, origin: Origin, task: Task) -> DeliveryJob {
        DeliveryJob {
            id: JobId::from_random(self.random_bytes()),
            origin,
            queued_at: self.clock.now(),
            task,
        }
    }

    fn random_bytes<const LEN: usize>(&self) -> [u8; LEN] {
        let mut b = [0u8; LEN];
        self.random.fill(&mut b);
        b
    }

    fn new_verification_id(&self) -> VerificationId {
        VerificationId::from_random(self.random_bytes())
    }
}
