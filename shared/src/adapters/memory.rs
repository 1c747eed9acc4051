//! In-memory adapters. They keep the same contracts as the AWS ones (checked by
//! `crate::store_suite`), so domain tests need no emulator.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use secrecy::SecretString;

use crate::domain::idempotency::{
    Fingerprint, IdempotencyKey, IdempotencyRecord, IdempotencyState, StoredResponse,
};
use crate::domain::message::OutgoingMessage;
use crate::domain::{
    ApiKeyHash, ApiKeyRecord, AuditDigest, AuditEvent, Delivery, Endpoint, EventKey, LookupKey,
    ParameterName, Period, PersonRemoval, PersonWrite, RecordedEvent, Suppression, SuppressionKey,
    SystemUserId, Timestamp, User, UserId, VerificationId, VerificationRecord,
};
use crate::ports::{
    ApiKeyStore, AttemptCount, AuditLog, Claim, Clock, CompletedReset, ConsumeError, DeliveryError,
    IdempotencyStore, Metric, Metrics, Notifier, OverLimit, PersonConflict, RateLimit, RateLimiter,
    SecretError, SecretStore, StoreError, SuppressionList, UserDirectory, VerificationStore,
};

#[derive(Default)]
struct State {
    users: HashMap<UserId, User>,
    index: BTreeMap<String, BTreeSet<UserId>>,
    system_user_ids: HashMap<SystemUserId, UserId>,
    /// Exclusive field values (by storage key) and who holds each.
    claims: HashMap<String, UserId>,
    verifications: HashMap<VerificationId, VerificationRecord>,
    keys: HashMap<String, ApiKeyRecord>,
    audit: BTreeMap<EventKey, RecordedEvent>,
    digests: BTreeMap<(Period, u32), AuditDigest>,
    windows: HashMap<String, (u64, u32)>,
    idempotency: HashMap<String, IdempotencyRecord>,
    suppressed: HashMap<SuppressionKey, Suppression>,
}

/// Every storage port over one mutex-guarded state; clones share it.
#[derive(Clone, Default)]
pub struct MemoryStore(Arc<Mutex<State>>);

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A poisoned lock means a test thread panicked mid-update; the data is still
        // usable for reporting, so recover it rather than cascade the panic.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn audit_events(&self) -> Vec<AuditEvent> {
        self.state()
            .audit
            .values()
            .map(|e| e.event.clone())
            .collect()
    }

    /// Every stored byte that could hold a secret, as text: user records with their
    /// password hashes, verification records with their code hashes, and the audit log.
    pub fn dump(&self) -> String {
        let s = self.state();
        let mut out = String::new();
        for u in s.users.values() {
            out.push_str(&format!(
                "{u:?} {}\n",
                u.password_hash.as_ref().map_or("", |h| h.as_phc())
            ));
        }
        for v in s.verifications.values() {
            out.push_str(&format!("{v:?} {}\n", hex::encode(v.code_hash.as_bytes())));
        }
        for e in s.audit.values() {
            out.push_str(&format!("{e:?}\n"));
        }
        for r in s.idempotency.values() {
            out.push_str(&format!("{r:?}\n"));
        }
        out
    }
}

impl UserDirectory for MemoryStore {
    async fn find_by(&self, key: &LookupKey) -> Result<Vec<UserId>, StoreError> {
        Ok(self
            .state()
            .index
            .get(&key.storage_key())
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default())
    }

    async fn get_user(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        Ok(self.state().users.get(id).cloned())
    }

    async fn create_user(&self, user: &User, keys: &[LookupKey]) -> Result<(), StoreError> {
        let mut s = self.state();
        if s.users.contains_key(&user.id) {
            return Err(StoreError::Duplicate(user.id.to_string()));
        }
        if let Some(number) = user.system_user_id {
            if s.system_user_ids.contains_key(&number) {
                return Err(StoreError::SystemUserIdTaken(number));
            }
            s.system_user_ids.insert(number, user.id.clone());
        }
        s.users.insert(user.id.clone(), user.clone());
        for k in keys {
            s.index
                .entry(k.storage_key())
                .or_default()
                .insert(user.id.clone());
        }
        Ok(())
    }

    async fn find_by_system_user_id(&self, id: SystemUserId) -> Result<Option<UserId>, StoreError> {
        Ok(self.state().system_user_ids.get(&id).cloned())
    }

    async fn assign_system_user_id(
        &self,
        user: &UserId,
        id: SystemUserId,
    ) -> Result<SystemUserId, StoreError> {
        let mut guard = self.state();
        let s = &mut *guard;
        let u = s
            .users
            .get_mut(user)
            .ok_or_else(|| StoreError::Missing(user.to_string()))?;
        if let Some(existing) = u.system_user_id {
            return Ok(existing);
        }
        if s.system_user_ids.contains_key(&id) {
            return Err(StoreError::SystemUserIdTaken(id));
        }
        s.system_user_ids.insert(id, user.clone());
        u.system_user_id = Some(id);
        Ok(id)
    }

    async fn write_person(&self, write: &PersonWrite) -> Result<(), PersonConflict> {
        let mut s = self.state();
        let id = &write.after.id;
        if !s.is_as_read(id, write.before.as_ref()) {
            return Err(PersonConflict::Raced);
        }
        if let Some(taken) = write.claims_added.iter().find(|k| {
            s.claims
                .get(&k.storage_key())
                .is_some_and(|holder| holder != id)
        }) {
            return Err(PersonConflict::FieldTaken(taken.field().to_owned()));
        }
        if let Some(number) = write.new_number() {
            if s.system_user_ids
                .get(&number)
                .is_some_and(|holder| holder != id)
            {
                return Err(PersonConflict::SystemUserIdTaken(number));
            }
            s.system_user_ids.insert(number, id.clone());
        }
        for key in &write.claims_removed {
            s.claims.remove(&key.storage_key());
        }
        for key in &write.claims_added {
            s.claims.insert(key.storage_key(), id.clone());
        }
        for key in &write.index_removed {
            s.unindex(key, id);
        }
        for key in &write.index_added {
            s.index
                .entry(key.storage_key())
                .or_default()
                .insert(id.clone());
        }
        // The credential stays as stored: a confirm may have changed it since the read.
        let mut after = write.after.clone();
        if let Some(stored) = s.users.get(id) {
            after.password_hash = stored.password_hash.clone();
            after.credential_version = stored.credential_version;
            if after.latest_verification.is_some() {
                after.latest_verification = stored.latest_verification.clone();
            }
        }
        s.users.insert(id.clone(), after);
        Ok(())
    }

    async fn remove_person(&self, removal: &PersonRemoval) -> Result<(), PersonConflict> {
        let mut s = self.state();
        let id = &removal.user.id;
        if !s.is_as_read(id, Some(&removal.user)) {
            return Err(PersonConflict::Raced);
        }
        for key in &removal.claims {
            s.claims.remove(&key.storage_key());
        }
        for key in &removal.index {
            s.unindex(key, id);
        }
        s.users.remove(id);
        Ok(())
    }
}

impl State {
    /// Whether the stored person is still as `before` was read: present or absent, and
    /// with the same host version.
    fn is_as_read(&self, id: &UserId, before: Option<&User>) -> bool {
        self.users.get(id).map(|u| u.version) == before.map(|b| b.version)
    }

    fn unindex(&mut self, key: &LookupKey, id: &UserId) {
        if let Some(holders) = self.index.get_mut(&key.storage_key()) {
            holders.remove(id);
            if holders.is_empty() {
                self.index.remove(&key.storage_key());
            }
        }
    }
}

impl MemoryStore {
    /// Stores `user` as a table written before `SystemUserId` existed would hold it: without
    /// a number or its claim. For tests of that migration path.
    pub fn put_legacy_user(&self, user: &User) {
        let mut legacy = user.clone();
        legacy.system_user_id = None;
        let mut s = self.state();
        s.system_user_ids.retain(|_, holder| *holder != legacy.id);
        s.users.insert(legacy.id.clone(), legacy);
    }
}

impl VerificationStore for MemoryStore {
    async fn issue(&self, record: &VerificationRecord) -> Result<(), StoreError> {
        let mut s = self.state();
        if s.verifications.contains_key(&record.id) {
            return Err(StoreError::Duplicate(record.id.to_string()));
        }
        let user = s
            .users
            .get_mut(&record.user_id)
            .ok_or_else(|| StoreError::Missing(record.user_id.to_string()))?;
        user.latest_verification = Some(record.id.clone());
        s.verifications.insert(record.id.clone(), record.clone());
        Ok(())
    }

    async fn record_delivery(
        &self,
        id: &VerificationId,
        delivery: &Delivery,
    ) -> Result<(), StoreError> {
        let mut s = self.state();
        let record = s
            .verifications
            .get_mut(id)
            .ok_or_else(|| StoreError::Missing(id.to_string()))?;
        record.delivery = delivery.clone();
        Ok(())
    }

    async fn get_verification(
        &self,
        id: &VerificationId,
        now: Timestamp,
    ) -> Result<Option<VerificationRecord>, StoreError> {
        Ok(self
            .state()
            .verifications
            .get(id)
            .filter(|r| r.expires_at > now)
            .cloned())
    }

    async fn record_failure(
        &self,
        id: &VerificationId,
        now: Timestamp,
    ) -> Result<AttemptCount, ConsumeError> {
        let mut s = self.state();
        let r = s.verifications.get_mut(id).ok_or(ConsumeError::Rejected)?;
        if r.consumed || r.expires_at <= now || r.attempts >= r.max_attempts {
            return Err(ConsumeError::Rejected);
        }
        r.attempts += 1;
        Ok(AttemptCount {
            attempts: r.attempts,
            burned: r.attempts >= r.max_attempts,
        })
    }

    async fn revoke(&self, id: &VerificationId, user: &UserId) -> Result<(), StoreError> {
        let mut s = self.state();
        if let Some(r) = s.verifications.get_mut(id) {
            r.consumed = true;
        }
        if let Some(u) = s.users.get_mut(user) {
            if u.latest_verification.as_ref() == Some(id) {
                u.latest_verification = None;
            }
        }
        Ok(())
    }

    async fn complete_reset(&self, reset: &CompletedReset) -> Result<(), ConsumeError> {
        let mut guard = self.state();
        let s = &mut *guard;
        let (Some(r), Some(u)) = (
            s.verifications.get_mut(&reset.verification),
            s.users.get_mut(&reset.user),
        ) else {
            return Err(ConsumeError::Rejected);
        };
        let usable = !r.consumed
            && r.expires_at > reset.now
            && r.attempts < r.max_attempts
            && r.user_id == reset.user
            && u.latest_verification.as_ref() == Some(&reset.verification)
            && u.credential_version == reset.expected_credential_version;
        if !usable {
            return Err(ConsumeError::Rejected);
        }
        r.consumed = true;
        u.password_hash = Some(reset.new_password_hash.clone());
        u.credential_version += 1;
        u.latest_verification = None;
        Ok(())
    }
}

impl ApiKeyStore for MemoryStore {
    async fn find_key(&self, hash: &ApiKeyHash) -> Result<Option<ApiKeyRecord>, StoreError> {
        Ok(self.state().keys.get(hash.as_ref()).cloned())
    }

    async fn put_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        let mut s = self.state();
        if s.keys.contains_key(key.hash.as_ref()) {
            return Err(StoreError::Duplicate(key.key_id.clone()));
        }
        s.keys.insert(key.hash.as_ref().to_owned(), key.clone());
        Ok(())
    }

    async fn list_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        Ok(self.state().keys.values().cloned().collect())
    }

    async fn schedule_revocation(
        &self,
        key_id: &str,
        at: Timestamp,
        now: Timestamp,
    ) -> Result<ApiKeyRecord, StoreError> {
        let mut s = self.state();
        let key = s
            .keys
            .values_mut()
            .find(|k| k.key_id == key_id)
            .ok_or_else(|| StoreError::Missing(key_id.to_owned()))?;
        *key = key.clone().revoked(at, now);
        Ok(key.clone())
    }
}

impl AuditLog for MemoryStore {
    async fn record(&self, event: &RecordedEvent) -> Result<(), StoreError> {
        let mut s = self.state();
        match s.audit.get(&event.key()) {
            Some(held) if held == event => Ok(()),
            Some(_) => Err(StoreError::Duplicate(event.key().to_string())),
            None => {
                s.audit.insert(event.key(), event.clone());
                Ok(())
            }
        }
    }

    async fn events_between(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        Ok(self
            .state()
            .audit
            .values()
            .filter(|e| from <= e.event.at && e.event.at < to)
            .cloned()
            .collect())
    }

    async fn user_events(&self, user: &UserId) -> Result<Vec<RecordedEvent>, StoreError> {
        Ok(self
            .state()
            .audit
            .values()
            .filter(|e| e.event.user_id.as_ref() == Some(user))
            .cloned()
            .collect())
    }

    async fn last_digest(&self) -> Result<Option<AuditDigest>, StoreError> {
        Ok(self.state().digests.values().next_back().cloned())
    }

    async fn put_digest(&self, digest: &AuditDigest) -> Result<(), StoreError> {
        let mut s = self.state();
        match s.digests.get(&(digest.period, digest.part)) {
            Some(held) if held == digest => Ok(()),
            Some(_) => Err(StoreError::Duplicate(digest.name())),
            None => {
                s.digests
                    .insert((digest.period, digest.part), digest.clone());
                Ok(())
            }
        }
    }

    async fn digests(&self) -> Result<Vec<AuditDigest>, StoreError> {
        Ok(self.state().digests.values().cloned().collect())
    }
}

/// Test-only access to the log, as an attacker with write access to the table has.
impl MemoryStore {
    /// Applies `change` to the stored event with `key`.
    pub fn tamper_with_event(&self, key: &EventKey, change: impl FnOnce(&mut AuditEvent)) {
        if let Some(e) = self.state().audit.get_mut(key) {
            change(&mut e.event);
        }
    }

    pub fn delete_event(&self, key: &EventKey) {
        self.state().audit.remove(key);
    }

    /// Stores `event` as though it had always been there.
    pub fn insert_event(&self, event: RecordedEvent) {
        self.state().audit.insert(event.key(), event);
    }
}

impl IdempotencyStore for MemoryStore {
    async fn claim(
        &self,
        key: &IdempotencyKey,
        fingerprint: &Fingerprint,
        owner: &str,
        now: Timestamp,
        lock_until: Timestamp,
    ) -> Result<Claim, StoreError> {
        let mut s = self.state();
        match s.idempotency.get(key.as_ref()) {
            Some(existing) if existing.expires_at >= now => Ok(Claim::Existing(existing.clone())),
            _ => {
                let record = IdempotencyRecord {
                    fingerprint: fingerprint.clone(),
                    owner: owner.to_owned(),
                    state: IdempotencyState::InFlight,
                    expires_at: lock_until,
                };
                s.idempotency.insert(key.as_ref().to_owned(), record);
                Ok(Claim::Acquired)
            }
        }
    }

    async fn complete(
        &self,
        key: &IdempotencyKey,
        owner: &str,
        response: &StoredResponse,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut s = self.state();
        let record = s
            .idempotency
            .get_mut(key.as_ref())
            .filter(|r| r.owner == owner)
            .ok_or_else(|| StoreError::Missing(key.as_ref().to_owned()))?;
        record.state = IdempotencyState::Completed(response.clone());
        record.expires_at = expires_at;
        Ok(())
    }

    async fn release(&self, key: &IdempotencyKey, owner: &str) -> Result<(), StoreError> {
        let mut s = self.state();
        if s.idempotency
            .get(key.as_ref())
            .is_some_and(|r| r.owner == owner)
        {
            s.idempotency.remove(key.as_ref());
        }
        Ok(())
    }
}

impl RateLimiter for MemoryStore {
    async fn hit_together(
        &self,
        hits: &[(String, RateLimit)],
        now: Timestamp,
    ) -> Result<Result<(), OverLimit>, StoreError> {
        let mut s = self.state();
        let mut counted = Vec::with_capacity(hits.len());
        for (index, (bucket, limit)) in hits.iter().enumerate() {
            let window = limit.window_secs.max(1);
            let start = now.unix_seconds() - now.unix_seconds() % window;
            let hits_so_far = match s.windows.get(bucket) {
                Some(&(at, n)) if at == start => n,
                _ => 0,
            };
            if hits_so_far >= limit.max {
                return Ok(Err(OverLimit {
                    index,
                    retry_after_secs: (start + window).saturating_sub(now.unix_seconds()).max(1),
                }));
            }
            counted.push((bucket.clone(), (start, hits_so_far + 1)));
        }
        s.windows.extend(counted);
        Ok(Ok(()))
    }
}

impl SuppressionList for MemoryStore {
    async fn suppress(
        &self,
        key: &SuppressionKey,
        suppression: &Suppression,
    ) -> Result<(), StoreError> {
        self.state()
            .suppressed
            .entry(key.clone())
            .or_insert_with(|| suppression.clone());
        Ok(())
    }

    async fn suppression(&self, key: &SuppressionKey) -> Result<Option<Suppression>, StoreError> {
        Ok(self.state().suppressed.get(key).cloned())
    }

    async fn clear_suppression(&self, key: &SuppressionKey) -> Result<bool, StoreError> {
        Ok(self.state().suppressed.remove(key).is_some())
    }
}

/// Captures sent messages; can be told to fail, to exercise delivery-failure paths.
#[derive(Clone, Default)]
pub struct MemoryOutbox {
    sent: Arc<Mutex<Vec<OutgoingMessage>>>,
    failing: Arc<AtomicBool>,
}

impl MemoryOutbox {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn sent(&self) -> Vec<OutgoingMessage> {
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn fail_deliveries(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

impl Notifier for MemoryOutbox {
    async fn send(&self, message: &OutgoingMessage) -> Result<String, DeliveryError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(DeliveryError::Rejected("delivery disabled by test".into()));
        }
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        sent.push(message.clone());
        Ok(format!("memory-{}", sent.len()))
    }
}

/// Records every count, so tests can assert what a flow measured; clones share the record.
#[derive(Clone, Default)]
pub struct MemoryMetrics(Arc<Mutex<Vec<(Endpoint, Metric, Timestamp)>>>);

impl MemoryMetrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// What was counted, in order.
    pub fn recorded(&self) -> Vec<(Endpoint, Metric, Timestamp)> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Metrics for MemoryMetrics {
    fn record(&self, endpoint: Endpoint, metric: Metric, at: Timestamp) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((endpoint, metric, at));
    }
}

/// A clock tests move by hand; clones share the time.
#[derive(Clone)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    pub fn at(t: Timestamp) -> Self {
        Self(Arc::new(AtomicU64::new(t.unix_seconds())))
    }

    pub fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_seconds(self.0.load(Ordering::SeqCst))
    }
}

/// A parameter store in memory: names to values, each encrypted or not.
#[derive(Clone, Default)]
pub struct MemorySecrets(Arc<Mutex<HashMap<ParameterName, (SecretString, bool)>>>);

impl MemorySecrets {
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores `value` under `name` encrypted (a SecureString), replacing any earlier one.
    pub fn put(&self, name: &ParameterName, value: &str) {
        self.insert(name, value, true);
    }

    /// Stores `value` under `name` in clear (a String), replacing any earlier one.
    pub fn put_unencrypted(&self, name: &ParameterName, value: &str) {
        self.insert(name, value, false);
    }

    fn insert(&self, name: &ParameterName, value: &str, encrypted: bool) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).insert(
            name.clone(),
            (SecretString::from(value.to_owned()), encrypted),
        );
    }
}

impl SecretStore for MemorySecrets {
    async fn read_secret(&self, name: &ParameterName) -> Result<SecretString, SecretError> {
        match self.0.lock().unwrap_or_else(|p| p.into_inner()).get(name) {
            None => Err(SecretError::NotFound),
            Some((_, false)) => Err(SecretError::NotEncrypted),
            Some((value, true)) => Ok(value.clone()),
        }
    }
}
