//! Every storage port over DynamoDB: six tables, named `{prefix}{suffix}` (see
//! `template.yaml`), no scans on a request's path (only the operator's tool lists and
//! revokes API keys by scanning, see `api_keys`), and every write that decides something
//! conditional.
//!
//! | table           | key                         | holds                                       |
//! |-----------------|-----------------------------|---------------------------------------------|
//! | `users`         | `user_id`                   | fields, password hash, credential version   |
//! | `identifiers`   | `lookup`, `user_id`         | one item per unique field value → user;     |
//! |                 |                             | one claim per `SystemUserId` (see `items`)  |
//! | `verifications` | `verification_id`           | code HMAC, expiry (TTL), attempts, consumed |
//! | `guards`        | `guard_key`                 | rate-limit windows, idempotency (TTL)       |
//! | `api-keys`      | `key_hash`                  | kind, permissions, active, revoke_at        |
//! | `audit`         | `stream`, `event_id`        | one item per event; signed period digests   |
//!
//! One file per table, each holding that table's port implementation and its item
//! conversions (`users`, `verifications`, `guards`, `api_keys`, `audit`); `items` has the
//! typed reading and writing they share, `transaction` the one way to run a transaction,
//! `errors` the one mapping of SDK errors. Attribute names in expressions always go through
//! `#aliases`, so no attribute can collide with DynamoDB's reserved words.

mod api_keys;
mod audit;
mod errors;
mod guards;
mod items;
mod people;
mod transaction;
mod users;
mod verifications;

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;

use self::errors::unavailable;
use self::items::{s, Item};
use crate::ports::StoreError;

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
