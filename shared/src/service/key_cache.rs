//! API keys remembered by a warm sandbox for a short while, so that most requests skip the
//! key read. The price is a revocation delay: a key deactivated in the table keeps working
//! in a sandbox that saw it for up to the cache's lifetime (`RESETKIT_KEY_CACHE_SECONDS`,
//! 30 s by default; 0 turns the cache off). Only keys that were found are kept: a key
//! minted a moment ago is never refused because of an earlier miss. A cached key's
//! `revoke_at` is still checked at every use (`ApiKeyRecord::allows`), so a rotation whose
//! grace is at least the cache's lifetime ends exactly on time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::domain::{ApiKeyHash, ApiKeyRecord, Timestamp};

/// Keys found at most `ttl` ago, by hash.
pub(super) struct KeyCache {
    ttl: Duration,
    keys: Mutex<HashMap<ApiKeyHash, (ApiKeyRecord, Timestamp)>>,
}

/// More keys than any stage has: a flood of distinct valid keys cannot grow the map further.
const MAX_KEYS: usize = 1024;

impl KeyCache {
    pub(super) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// The key, if it was found less than `ttl` before `now`.
    pub(super) fn get(&self, hash: &ApiKeyHash, now: Timestamp) -> Option<ApiKeyRecord> {
        if self.ttl.is_zero() {
            return None;
        }
        let keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        keys.get(hash)
            .filter(|(_, found_at)| now < found_at.plus(self.ttl))
            .map(|(key, _)| key.clone())
    }

    pub(super) fn put(&self, key: &ApiKeyRecord, now: Timestamp) {
        if self.ttl.is_zero() {
            return;
        }
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if keys.len() >= MAX_KEYS {
            let ttl = self.ttl;
            keys.retain(|_, (_, found_at)| now < found_at.plus(ttl));
            if keys.len() >= MAX_KEYS {
                keys.clear();
            }
        }
        keys.insert(key.hash.clone(), (key.clone(), now));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::domain::{KeyKind, PresentedKey};

    fn key() -> ApiKeyRecord {
        ApiKeyRecord {
            hash: PresentedKey("rk_cached").hash(),
            key_id: "key_cached".into(),
            kind: KeyKind::Employee,
            permissions: BTreeSet::new(),
            active: true,
            created_at: None,
            revoke_at: None,
        }
    }

    #[test]
    fn a_key_is_remembered_for_the_lifetime_and_not_a_second_longer() {
        let cache = KeyCache::new(Duration::from_secs(30));
        let t0 = Timestamp::from_unix_seconds(1_000);
        cache.put(&key(), t0);
        assert_eq!(
            cache.get(&key().hash, t0.plus(Duration::from_secs(29))),
            Some(key())
        );
        assert_eq!(
            cache.get(&key().hash, t0.plus(Duration::from_secs(30))),
            None
        );
    }

    #[test]
    fn a_lifetime_of_zero_remembers_nothing() {
        let cache = KeyCache::new(Duration::ZERO);
        let t0 = Timestamp::from_unix_seconds(1_000);
        cache.put(&key(), t0);
        assert_eq!(cache.get(&key().hash, t0), None);
    }
}
