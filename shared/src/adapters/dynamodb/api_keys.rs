//! The `api-keys` table: keys stored as hashes with their kind and permissions.
//!
//! Requests find a key by its hash, the table's key. The operator's tool also lists keys
//! and revokes them by `key_id`, which no index covers: those scan the table, a page at a
//! time. A stage holds a handful of keys, and no request ever scans.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::AttributeValue;

use super::errors::{condition_failed, unavailable};
use super::items::{attr, n, s, Item, Reader};
use super::{boolean, DynamoStore, LostRace};
use crate::domain::{ApiKeyHash, ApiKeyRecord, KeyKind, Permission, Timestamp};
use crate::ports::{ApiKeyStore, StoreError};

/// Conditional updates of one key tried before giving up: only another operator revoking
/// the same key at the same moment makes one lose.
const REVOKE_ATTEMPTS: usize = 3;

impl From<&ApiKeyRecord> for Item {
    fn from(k: &ApiKeyRecord) -> Self {
        let mut item = Item::default();
        item.put(attr::KEY_HASH, s(k.hash.as_ref()));
        item.put(attr::KEY_ID, s(&k.key_id));
        item.put(attr::KIND, s(k.kind.as_str()));
        // A string set cannot be empty: no permissions means no attribute.
        if !k.permissions.is_empty() {
            item.put(
                attr::PERMISSIONS,
                AttributeValue::Ss(
                    k.permissions
                        .iter()
                        .map(|p| p.as_str().to_owned())
                        .collect(),
                ),
            );
        }
        item.put(attr::ACTIVE, AttributeValue::Bool(k.active));
        item.put_opt(attr::CREATED_AT, k.created_at.map(|t| n(t.unix_seconds())));
        item.put_opt(attr::REVOKE_AT, k.revoke_at.map(|t| n(t.unix_seconds())));
        item
    }
}

impl TryFrom<Item> for ApiKeyRecord {
    type Error = StoreError;

    fn try_from(item: Item) -> Result<Self, StoreError> {
        let r = Reader::new("api-keys", &item.0);
        let permissions = r
            .strings(attr::PERMISSIONS)?
            .into_iter()
            .map(|p| {
                Permission::parse(p)
                    .ok_or_else(|| r.corrupt(attr::PERMISSIONS, format!("holds unknown '{p}'")))
            })
            .collect::<Result<BTreeSet<_>, _>>()?;
        Ok(ApiKeyRecord {
            hash: ApiKeyHash::from_hex(r.s(attr::KEY_HASH)?.to_owned()),
            key_id: r.s(attr::KEY_ID)?.to_owned(),
            kind: r.parsed(attr::KIND, |k| {
                KeyKind::parse(k).ok_or("is not a known key kind")
            })?,
            permissions,
            active: r.bool(attr::ACTIVE)?,
            // Keys stored before these attributes existed have neither.
            created_at: r.opt_timestamp(attr::CREATED_AT)?,
            revoke_at: r.opt_timestamp(attr::REVOKE_AT)?,
        })
    }
}

impl DynamoStore {
    /// Every key, or only those with `key_id`: a paginated, consistent Scan (the filter
    /// applies after each page is read, so every page is read either way).
    async fn scan_keys(&self, key_id: Option<&str>) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let mut keys = Vec::new();
        let mut start = None;
        loop {
            let mut scan = self
                .client
                .scan()
                .table_name(&self.tables.api_keys)
                .consistent_read(true)
                .set_exclusive_start_key(start);
            if let Some(id) = key_id {
                scan = scan
                    .filter_expression("#id = :id")
                    .expression_attribute_names("#id", attr::KEY_ID)
                    .expression_attribute_values(":id", s(id));
            }
            let out = scan.send().await.map_err(unavailable)?;
            for item in out.items.unwrap_or_default() {
                keys.push(ApiKeyRecord::try_from(Item(item))?);
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(keys),
            }
        }
    }

    /// Stores `updated` in place of `current`, only if the item still holds `current`'s
    /// `active` and `revoke_at`: `Ok(false)` when it changed meanwhile (or is gone).
    async fn replace_revocation(
        &self,
        current: &ApiKeyRecord,
        updated: &ApiKeyRecord,
    ) -> Result<bool, StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.tables.api_keys)
            .key(attr::KEY_HASH, s(current.hash.as_ref()))
            .expression_attribute_names("#id", attr::KEY_ID)
            .expression_attribute_names("#active", attr::ACTIVE)
            .expression_attribute_names("#revoke", attr::REVOKE_AT)
            .expression_attribute_values(":id", s(&current.key_id))
            .expression_attribute_values(":was_active", boolean(current.active))
            .expression_attribute_values(":active", boolean(updated.active));
        if let Some(at) = updated.revoke_at {
            update = update
                .update_expression("SET #active = :active, #revoke = :revoke")
                .expression_attribute_values(":revoke", n(at.unix_seconds()));
        } else {
            update = update.update_expression("SET #active = :active");
        }
        update = match current.revoke_at {
            Some(was) => update
                .condition_expression("#id = :id AND #active = :was_active AND #revoke = :was")
                .expression_attribute_values(":was", n(was.unix_seconds())),
            None => update.condition_expression(
                "#id = :id AND #active = :was_active AND attribute_not_exists(#revoke)",
            ),
        };
        match update.send().await {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }
}

impl ApiKeyStore for DynamoStore {
    async fn find_key(&self, hash: &ApiKeyHash) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.get_item(&self.tables.api_keys, attr::KEY_HASH, hash.as_ref())
            .await?
            .map(ApiKeyRecord::try_from)
            .transpose()
    }

    async fn put_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.tables.api_keys)
            .set_item(Some(Item::from(key).into_attrs()))
            .condition_expression("attribute_not_exists(#hash)")
            .expression_attribute_names("#hash", attr::KEY_HASH)
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(StoreError::Duplicate(key.key_id.clone())),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn list_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.scan_keys(None).await
    }

    /// Scans for the key by id, then writes the domain's `revoked` conditionally on the
    /// item still being as read, so a concurrent revocation is never overwritten by a later
    /// moment; a lost condition reads the key again (by hash) and retries.
    async fn schedule_revocation(
        &self,
        key_id: &str,
        at: Timestamp,
        now: Timestamp,
    ) -> Result<ApiKeyRecord, StoreError> {
        let mut found = self.scan_keys(Some(key_id)).await?;
        if found.len() > 1 {
            return Err(StoreError::Corrupt(format!(
                "api-keys: {} keys share the id {key_id}",
                found.len()
            )));
        }
        let mut current = found
            .pop()
            .ok_or_else(|| StoreError::Missing(key_id.to_owned()))?;
        for _ in 0..REVOKE_ATTEMPTS {
            let updated = current.clone().revoked(at, now);
            if updated == current || self.replace_revocation(&current, &updated).await? {
                return Ok(updated);
            }
            current = self
                .find_key(&current.hash)
                .await?
                .filter(|k| k.key_id == key_id)
                .ok_or_else(|| StoreError::Missing(key_id.to_owned()))?;
        }
        Err(StoreError::unavailable(LostRace))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_round_trip_with_and_without_permissions() {
        let mut k = ApiKeyRecord {
            hash: ApiKeyHash::from_hex("ab".repeat(32)),
            key_id: "key_1".into(),
            kind: KeyKind::Server,
            permissions: [Permission::ForgotPassword, Permission::RevealResetSecret].into(),
            active: true,
            created_at: None,
            revoke_at: None,
        };
        assert_eq!(ApiKeyRecord::try_from(Item::from(&k)).unwrap(), k);
        k.permissions.clear();
        assert_eq!(ApiKeyRecord::try_from(Item::from(&k)).unwrap(), k);
        k.created_at = Some(Timestamp::from_unix_seconds(1_800_000_000));
        k.revoke_at = Some(Timestamp::from_unix_seconds(1_800_086_400));
        let item = Item::from(&k);
        assert_eq!(item.0.get(attr::REVOKE_AT), Some(&n(1_800_086_400u64)));
        assert_eq!(ApiKeyRecord::try_from(item).unwrap(), k);
    }
}
