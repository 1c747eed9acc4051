//! The `api-keys` table: keys stored as hashes with their kind and permissions.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::AttributeValue;

use super::errors::{condition_failed, unavailable};
use super::items::{attr, s, Item, Reader};
use super::DynamoStore;
use crate::domain::{ApiKeyHash, ApiKeyRecord, KeyKind, Permission};
use crate::ports::{ApiKeyStore, StoreError};

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
        })
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
        };
        assert_eq!(ApiKeyRecord::try_from(Item::from(&k)).unwrap(), k);
        k.permissions.clear();
        assert_eq!(ApiKeyRecord::try_from(Item::from(&k)).unwrap(), k);
    }
}
