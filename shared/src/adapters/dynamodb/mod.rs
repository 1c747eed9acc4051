//! Every storage port over DynamoDB: six tables, named `{prefix}{suffix}` (see
//! `template.yaml`), no scans, and every write that decides something conditional.
//!
//! | table           | key                         | holds                                       |
//! |-----------------|-----------------------------|---------------------------------------------|
//! | `users`         | `user_id`                   | fields, password hash, credential version   |
//! | `identifiers`   | `lookup`, `user_id`         | one item per unique field value → user;     |
//! |                 |                             | one claim per `SystemUserId` (see `items`)  |
//! | `verifications` | `verification_id`           | code HMAC, expiry (TTL), attempts, consumed |
//! | `guards`        | `guard_key`                 | rate-limit windows, idempotency (TTL)       |
//! | `api-keys`      | `key_hash`                  | kind, permissions, active                   |
//! | `audit`         | `stream`, `event_id`        | append-only hash chains of events           |
//!
//! Attribute names in expressions always go through `#aliases`, so no attribute can
//! collide with DynamoDB's reserved words.

mod errors;
mod items;
mod transaction;
mod verifications;

use std::collections::BTreeSet;
use std::sync::Arc;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;

use self::errors::{build_error, condition_failed, unavailable};
use self::items::{
    attr, idempotency_guard_key, n, s, system_user_id_claim, system_user_id_lookup, Item,
    CLAIM_SORT_KEY,
};
use self::transaction::TransactError;
use crate::domain::audit::ChainedEvent;
use crate::domain::idempotency::{Fingerprint, IdempotencyKey, IdempotencyRecord, StoredResponse};
use crate::domain::{ApiKeyHash, ApiKeyRecord, LookupKey, SystemUserId, Timestamp, User, UserId};
use crate::ports::{
    ApiKeyStore, AuditLog, Claim, IdempotencyStore, RateDecision, RateLimit, RateLimiter,
    StoreError, UserDirectory,
};

/// How long a rate-limit window's item outlives the window, so TTL never removes a
/// window that is still counting.
const GUARD_SLACK_SECS: u64 = 60;

/// The six table names for one stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    pub users: String,
    pub identifiers: String,
    pub verifications: String,
    pub guards: String,
    pub api_keys: String,
    pub audit: String,
}

impl Tables {
    /// The suffixes that follow the stage prefix, as in `template.yaml`.
    pub const SUFFIXES: [&'static str; 6] = [
        "users",
        "identifiers",
        "verifications",
        "guards",
        "api-keys",
        "audit",
    ];

    /// `prefix` is the stage part, e.g. `resetkit-dev-`.
    pub fn with_prefix(prefix: &str) -> Self {
        let name = |suffix: &str| format!("{prefix}{suffix}");
        Self {
            users: name("users"),
            identifiers: name("identifiers"),
            verifications: name("verifications"),
            guards: name("guards"),
            api_keys: name("api-keys"),
            audit: name("audit"),
        }
    }

    pub fn all(&self) -> [&str; 6] {
        [
            &self.users,
            &self.identifiers,
            &self.verifications,
            &self.guards,
            &self.api_keys,
            &self.audit,
        ]
    }
}

/// The DynamoDB adapter. Cheap to clone: clones share the client and the names.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    tables: Arc<Tables>,
}

impl DynamoStore {
    pub fn new(client: Client, table_prefix: &str) -> Self {
        Self {
            client,
            tables: Arc::new(Tables::with_prefix(table_prefix)),
        }
    }

    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    async fn get_item(
        &self,
        table: &str,
        key: &str,
        value: &str,
    ) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(table)
            .key(key, s(value))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item.map(Item))
    }

    /// The conditional put of the claim on `id` for `user`: it fails if anyone holds `id`.
    fn claim_put(&self, id: SystemUserId, user: &UserId) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.tables.identifiers)
            .set_item(Some(system_user_id_claim(id, user)))
            .condition_expression("attribute_not_exists(#lookup)")
            .expression_attribute_names("#lookup", attr::LOOKUP)
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

impl UserDirectory for DynamoStore {
    async fn find_by(&self, key: &LookupKey) -> Result<Vec<UserId>, StoreError> {
        let mut ids = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.tables.identifiers)
                .key_condition_expression("#lookup = :lookup")
                .projection_expression("#uid")
                .expression_attribute_names("#lookup", attr::LOOKUP)
                .expression_attribute_names("#uid", attr::USER_ID)
                .expression_attribute_values(":lookup", s(key.storage_key()))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            for item in out.items() {
                let r = items::Reader::new("identifiers", item);
                ids.push(r.parsed(attr::USER_ID, UserId::parse)?);
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(ids),
            }
        }
    }

    async fn get_user(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        self.get_item(&self.tables.users, attr::USER_ID, id.as_ref())
            .await?
            .map(User::try_from)
            .transpose()
    }

    /// One transaction: the user (only if new), its index items and the claim on its
    /// `SystemUserId` (only if free), or nothing.
    async fn create_user(&self, user: &User, keys: &[LookupKey]) -> Result<(), StoreError> {
        let put_user = Put::builder()
            .table_name(&self.tables.users)
            .set_item(Some(Item::from(user).into_attrs()))
            .condition_expression("attribute_not_exists(#uid)")
            .expression_attribute_names("#uid", attr::USER_ID)
            .build()
            .map_err(build_error)?;
        let mut actions = vec![TransactWriteItem::builder().put(put_user).build()];
        // One action per item: the same key twice would make DynamoDB refuse the request.
        let lookups: BTreeSet<String> = keys.iter().map(LookupKey::storage_key).collect();
        for lookup in lookups {
            let put_index = Put::builder()
                .table_name(&self.tables.identifiers)
                .item(attr::LOOKUP, s(lookup))
                .item(attr::USER_ID, s(user.id.as_ref()))
                .build()
                .map_err(build_error)?;
            actions.push(TransactWriteItem::builder().put(put_index).build());
        }
        let claim_at = actions.len();
        if let Some(number) = user.system_user_id {
            actions.push(self.claim_put(number, &user.id)?);
        }
        match self.transact(actions).await {
            Ok(()) => Ok(()),
            Err(TransactError::Cancelled(c)) if c.condition_failed_at(0) => {
                Err(StoreError::Duplicate(user.id.to_string()))
            }
            // Another transaction still claiming the same number after the retries counts as
            // holding it: the caller draws again rather than failing the import.
            Err(TransactError::Cancelled(c))
                if c.condition_failed_at(claim_at) || c.conflict_at(claim_at) =>
            {
                match user.system_user_id {
                    Some(number) => Err(StoreError::SystemUserIdTaken(number)),
                    None => Err(StoreError::unavailable(LostRace)),
                }
            }
            Err(TransactError::Cancelled(_)) => Err(StoreError::unavailable(LostRace)),
            Err(TransactError::Unavailable(e)) => Err(e),
        }
    }

    async fn find_by_system_user_id(&self, id: SystemUserId) -> Result<Option<UserId>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.identifiers)
            .key(attr::LOOKUP, s(system_user_id_lookup(id)))
            .key(attr::USER_ID, s(CLAIM_SORT_KEY))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        out.item
            .map(|item| {
                items::Reader::new("identifiers", &item).parsed(attr::CLAIMED_BY, UserId::parse)
            })
            .transpose()
    }

    /// One transaction: the claim (only if free) and the number on the user (only if the
    /// user exists without one).
    async fn assign_system_user_id(
        &self,
        user: &UserId,
        id: SystemUserId,
    ) -> Result<SystemUserId, StoreError> {
        let set_number = Update::builder()
            .table_name(&self.tables.users)
            .key(attr::USER_ID, s(user.as_ref()))
            .update_expression("SET #sid = :sid")
            .condition_expression("attribute_exists(#uid) AND attribute_not_exists(#sid)")
            .expression_attribute_names("#uid", attr::USER_ID)
            .expression_attribute_names("#sid", attr::SYSTEM_USER_ID)
            .expression_attribute_values(":sid", n(id.get()))
            .build()
            .map_err(build_error)?;
        let actions = vec![
            self.claim_put(id, user)?,
            TransactWriteItem::builder().update(set_number).build(),
        ];
        match self.transact(actions).await {
            Ok(()) => Ok(id),
            // Unknown, or numbered meanwhile: which one, the user's item says.
            Err(TransactError::Cancelled(c)) if c.condition_failed_at(1) => {
                match self.get_user(user).await? {
                    None => Err(StoreError::Missing(user.to_string())),
                    Some(u) => u
                        .system_user_id
                        .ok_or_else(|| StoreError::unavailable(LostRace)),
                }
            }
            Err(TransactError::Cancelled(c)) if c.condition_failed_at(0) => {
                Err(StoreError::SystemUserIdTaken(id))
            }
            Err(TransactError::Cancelled(_)) => Err(StoreError::unavailable(LostRace)),
            Err(TransactError::Unavailable(e)) => Err(e),
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
}

impl DynamoStore {
    /// A key query for one audit stream's links, in `seq` order unless reversed.
    fn stream_query(
        &self,
        stream: &str,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.tables.audit)
            .key_condition_expression("#stream = :stream")
            .expression_attribute_names("#stream", attr::STREAM)
            .expression_attribute_values(":stream", s(stream))
    }
}

impl AuditLog for DynamoStore {
    async fn audit_head(&self, stream: &str) -> Result<Option<ChainedEvent>, StoreError> {
        let out = self
            .stream_query(stream)
            .scan_index_forward(false)
            .limit(1)
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        out.items
            .unwrap_or_default()
            .into_iter()
            .next()
            .map(|i| ChainedEvent::try_from(Item(i)))
            .transpose()
    }

    /// The condition makes a link impossible to replace: of two writers extending the same
    /// head, one gets `Duplicate` and re-chains.
    async fn append_link(&self, link: &ChainedEvent) -> Result<(), StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.tables.audit)
            .set_item(Some(Item::from(link).into_attrs()))
            .condition_expression("attribute_not_exists(#eid)")
            .expression_attribute_names("#eid", attr::EVENT_ID)
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(StoreError::Duplicate(format!(
                "{}#{}",
                link.stream, link.seq
            ))),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn read_stream(&self, stream: &str) -> Result<Vec<ChainedEvent>, StoreError> {
        let pages = self
            .stream_query(stream)
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(unavailable)?;
        pages
            .into_iter()
            .map(|i| ChainedEvent::try_from(Item(i)))
            .collect()
    }
}

impl IdempotencyStore for DynamoStore {
    /// One conditional put takes a free or expired key; when it is held, the holder's
    /// record is read back consistently.
    async fn claim(
        &self,
        key: &IdempotencyKey,
        fingerprint: &Fingerprint,
        owner: &str,
        now: Timestamp,
        lock_until: Timestamp,
    ) -> Result<Claim, StoreError> {
        let guard_key = idempotency_guard_key(key);
        let put = self
            .client
            .put_item()
            .table_name(&self.tables.guards)
            .item(attr::GUARD_KEY, s(&guard_key))
            .item(attr::FINGERPRINT, s(fingerprint.as_ref()))
            .item(attr::OWNER, s(owner))
            .item(attr::EXPIRES_AT, n(lock_until.unix_seconds()))
            .condition_expression("attribute_not_exists(#k) OR #exp < :now")
            .expression_attribute_names("#k", attr::GUARD_KEY)
            .expression_attribute_names("#exp", attr::EXPIRES_AT)
            .expression_attribute_values(":now", n(now.unix_seconds()))
            .send()
            .await;
        match put {
            Ok(_) => Ok(Claim::Acquired),
            Err(e) if condition_failed(&e) => match self
                .get_item(&self.tables.guards, attr::GUARD_KEY, &guard_key)
                .await?
            {
                Some(item) => Ok(Claim::Existing(IdempotencyRecord::try_from(item)?)),
                // Released between our put and our read: the caller may simply retry.
                None => Err(StoreError::Missing(guard_key)),
            },
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn complete(
        &self,
        key: &IdempotencyKey,
        owner: &str,
        response: &StoredResponse,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.tables.guards)
            .key(attr::GUARD_KEY, s(idempotency_guard_key(key)))
            .update_expression("SET #status = :status, #ct = :ct, #body = :body, #exp = :exp")
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", attr::OWNER)
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_names("#status", attr::STATUS)
            .expression_attribute_names("#ct", attr::CONTENT_TYPE)
            .expression_attribute_names("#body", attr::BODY)
            .expression_attribute_names("#exp", attr::EXPIRES_AT)
            .expression_attribute_values(":status", n(response.status))
            .expression_attribute_values(":ct", s(&response.content_type))
            .expression_attribute_values(
                ":body",
                AttributeValue::B(Blob::new(response.body.clone())),
            )
            .expression_attribute_values(":exp", n(expires_at.unix_seconds()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                if condition_failed(&e) {
                    StoreError::Missing(key.as_ref().to_owned())
                } else {
                    unavailable(e)
                }
            })
    }

    async fn release(&self, key: &IdempotencyKey, owner: &str) -> Result<(), StoreError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.tables.guards)
            .key(attr::GUARD_KEY, s(idempotency_guard_key(key)))
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", attr::OWNER)
            .expression_attribute_values(":owner", s(owner))
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }
}

impl RateLimiter for DynamoStore {
    /// A fixed window is one item, `rate#{bucket}#{window_start}`; a hit is one
    /// conditional `ADD`, so concurrent hits can never count past `max`.
    async fn hit(
        &self,
        bucket: &str,
        limit: RateLimit,
        now: Timestamp,
    ) -> Result<RateDecision, StoreError> {
        let window = limit.window_secs.max(1);
        let start = now.unix_seconds() - now.unix_seconds() % window;
        let end = start + window;
        let limited = RateDecision::Limited {
            retry_after_secs: end.saturating_sub(now.unix_seconds()).max(1),
        };
        if limit.max == 0 {
            return Ok(limited);
        }
        let update = self
            .client
            .update_item()
            .table_name(&self.tables.guards)
            .key(attr::GUARD_KEY, s(format!("rate#{bucket}#{start}")))
            .update_expression("ADD #hits :one SET #exp = :exp")
            .condition_expression("attribute_not_exists(#hits) OR #hits < :max")
            .expression_attribute_names("#hits", attr::HITS)
            .expression_attribute_names("#exp", attr::EXPIRES_AT)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":exp", n(end + GUARD_SLACK_SECS))
            .expression_attribute_values(":max", n(limit.max))
            .return_values(ReturnValue::None)
            .send()
            .await;
        match update {
            Ok(_) => Ok(RateDecision::Allowed),
            Err(e) if condition_failed(&e) => Ok(limited),
            Err(e) => Err(unavailable(e)),
        }
    }
}

/// Concurrent writers kept cancelling a transaction past its retries: nothing was decided,
/// so the caller may try again.
#[derive(Debug, thiserror::Error)]
#[error("the transaction kept conflicting with concurrent writes")]
struct LostRace;

/// `true`, `false` as attribute values.
fn boolean(b: bool) -> AttributeValue {
    AttributeValue::Bool(b)
}
