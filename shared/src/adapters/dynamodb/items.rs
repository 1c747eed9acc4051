//! Items as DynamoDB stores them, and their conversion to and from domain values.
//!
//! Writing is infallible (`From`); reading is not (`TryFrom`): an item written by another
//! version or by hand may lack an attribute or hold the wrong type, and then it is
//! `StoreError::Corrupt`, naming the table and the attribute, never a panic.

use std::collections::HashMap;
use std::str::FromStr;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::domain::{SystemUserId, Timestamp};
use crate::ports::StoreError;

/// Attribute names, shared by items and expressions.
pub(super) mod attr {
    // users
    pub const USER_ID: &str = "user_id";
    /// Contract C's number, on users and audit events.
    pub const SYSTEM_USER_ID: &str = "system_user_id";
    pub const FIRST_NAME: &str = "first_name";
    pub const FIELDS: &str = "fields";
    pub const KIND: &str = "kind";
    pub const VALUE: &str = "value";
    pub const PASSWORD_HASH: &str = "password_hash";
    pub const CREDENTIAL_VERSION: &str = "credential_version";
    pub const LATEST_VERIFICATION: &str = "latest_verification";
    /// The host's version of the person (`domain::person::HostVersion`), from the people API.
    pub const HOST_VERSION: &str = "host_version";
    // identifiers
    pub const LOOKUP: &str = "lookup";
    /// On a claim (a `SystemUserId`, an exclusive field's value): the user holding it.
    pub const CLAIMED_BY: &str = "claimed_by";
    // verifications
    pub const VERIFICATION_ID: &str = "verification_id";
    pub const FLOW: &str = "flow";
    pub const CHANNEL: &str = "channel";
    pub const CODE_HASH: &str = "code_hash";
    /// On verifications, and on API keys minted since keys record it.
    pub const CREATED_AT: &str = "created_at";
    /// The TTL attribute of the verifications and guards tables.
    pub const EXPIRES_AT: &str = "expires_at";
    pub const ATTEMPTS: &str = "attempts";
    pub const MAX_ATTEMPTS: &str = "max_attempts";
    pub const CONSUMED: &str = "consumed";
    /// Where the message stands (`Delivery::as_str`), and the provider's message id once sent.
    pub const DELIVERY: &str = "delivery";
    pub const MESSAGE_ID: &str = "message_id";
    // guards
    pub const GUARD_KEY: &str = "guard_key";
    pub const HITS: &str = "hits";
    /// On a suppressed address: why (`bounce`, `complaint`); `at` holds since when.
    pub const REASON: &str = "reason";
    // api-keys
    pub const KEY_HASH: &str = "key_hash";
    pub const KEY_ID: &str = "key_id";
    pub const PERMISSIONS: &str = "permissions";
    pub const ACTIVE: &str = "active";
    /// From this moment on the key is refused (`ApiKeyRecord::revoke_at`).
    pub const REVOKE_AT: &str = "revoke_at";
    // audit
    pub const STREAM: &str = "stream";
    pub const EVENT_ID: &str = "event_id";
    pub const AT: &str = "at";
    pub const ACTION: &str = "action";
    pub const ACTOR: &str = "actor";
    pub const DESTINATION: &str = "destination";
    pub const SOURCE_IP: &str = "source_ip";
    pub const LATITUDE: &str = "latitude";
    pub const LONGITUDE: &str = "longitude";
    pub const DETAIL: &str = "detail";
    /// On a digest: its period, part, entries (56 bytes per event), and the signatures.
    pub const PERIOD_FROM: &str = "period_from";
    pub const PERIOD_TO: &str = "period_to";
    pub const PART: &str = "part";
    pub const LAST_PART: &str = "last_part";
    pub const ENTRIES: &str = "entries";
    pub const PREVIOUS: &str = "previous";
    pub const SIGNATURE: &str = "signature";
    // idempotency records (guards table)
    pub const FINGERPRINT: &str = "fingerprint";
    pub const OWNER: &str = "owner";
    pub const STATUS: &str = "status";
    pub const CONTENT_TYPE: &str = "content_type";
    pub const BODY: &str = "body";
}

pub(super) type Attrs = HashMap<String, AttributeValue>;

/// One stored item, in either direction.
#[derive(Debug, Clone, Default)]
pub(super) struct Item(pub Attrs);

pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(super) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

impl Item {
    pub fn put(&mut self, name: &str, value: AttributeValue) {
        self.0.insert(name.to_owned(), value);
    }

    pub fn put_opt(&mut self, name: &str, value: Option<AttributeValue>) {
        if let Some(v) = value {
            self.put(name, v);
        }
    }

    pub fn into_attrs(self) -> Attrs {
        self.0
    }
}

/// Typed reads from one item; every mismatch becomes `Corrupt` naming table and attribute.
pub(super) struct Reader<'a> {
    table: &'static str,
    item: &'a Attrs,
}

impl<'a> Reader<'a> {
    pub fn new(table: &'static str, item: &'a Attrs) -> Self {
        Self { table, item }
    }

    pub fn corrupt(&self, name: &str, why: impl std::fmt::Display) -> StoreError {
        StoreError::Corrupt(format!("{} item: attribute '{name}' {why}", self.table))
    }

    pub fn get(&self, name: &str) -> Option<&'a AttributeValue> {
        self.item
            .get(name)
            .filter(|v| !matches!(v, AttributeValue::Null(_)))
    }

    pub fn opt_s(&self, name: &str) -> Result<Option<&'a str>, StoreError> {
        match self.get(name) {
            None => Ok(None),
            Some(AttributeValue::S(v)) => Ok(Some(v)),
            Some(_) => Err(self.corrupt(name, "is not a string")),
        }
    }

    pub fn s(&self, name: &str) -> Result<&'a str, StoreError> {
        self.opt_s(name)?
            .ok_or_else(|| self.corrupt(name, "is missing"))
    }

    pub fn opt_n<T: FromStr>(&self, name: &str) -> Result<Option<T>, StoreError> {
        match self.get(name) {
            None => Ok(None),
            Some(AttributeValue::N(v)) => v
                .parse()
                .map(Some)
                .map_err(|_| self.corrupt(name, format!("'{v}' is out of range"))),
            Some(_) => Err(self.corrupt(name, "is not a number")),
        }
    }

    pub fn n<T: FromStr>(&self, name: &str) -> Result<T, StoreError> {
        self.opt_n(name)?
            .ok_or_else(|| self.corrupt(name, "is missing"))
    }

    pub fn timestamp(&self, name: &str) -> Result<Timestamp, StoreError> {
        self.n(name).map(Timestamp::from_unix_seconds)
    }

    pub fn opt_timestamp(&self, name: &str) -> Result<Option<Timestamp>, StoreError> {
        Ok(self.opt_n(name)?.map(Timestamp::from_unix_seconds))
    }

    pub fn bool(&self, name: &str) -> Result<bool, StoreError> {
        match self.get(name) {
            Some(AttributeValue::Bool(b)) => Ok(*b),
            Some(_) => Err(self.corrupt(name, "is not a boolean")),
            None => Err(self.corrupt(name, "is missing")),
        }
    }

    pub fn blob(&self, name: &str) -> Result<&'a [u8], StoreError> {
        match self.get(name) {
            Some(AttributeValue::B(b)) => Ok(b.as_ref()),
            Some(_) => Err(self.corrupt(name, "is not binary")),
            None => Err(self.corrupt(name, "is missing")),
        }
    }

    /// A string set or a list of strings; absent reads as empty (DynamoDB has no empty sets).
    pub fn strings(&self, name: &str) -> Result<Vec<&'a str>, StoreError> {
        match self.get(name) {
            None => Ok(Vec::new()),
            Some(AttributeValue::Ss(v)) => Ok(v.iter().map(String::as_str).collect()),
            Some(AttributeValue::L(v)) => v
                .iter()
                .map(|e| match e {
                    AttributeValue::S(s) => Ok(s.as_str()),
                    _ => Err(self.corrupt(name, "holds a non-string")),
                })
                .collect(),
            Some(_) => Err(self.corrupt(name, "is not a set of strings")),
        }
    }

    pub fn map(&self, name: &str) -> Result<&'a Attrs, StoreError> {
        match self.get(name) {
            None => Err(self.corrupt(name, "is missing")),
            Some(AttributeValue::M(m)) => Ok(m),
            Some(_) => Err(self.corrupt(name, "is not a map")),
        }
    }

    /// Parses a string attribute with a domain parser.
    pub fn parsed<T, E: std::fmt::Display>(
        &self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, StoreError> {
        let raw = self.s(name)?;
        parse(raw).map_err(|e| self.corrupt(name, e))
    }

    pub fn system_user_id(&self) -> Result<Option<SystemUserId>, StoreError> {
        self.opt_n::<i64>(attr::SYSTEM_USER_ID)?
            .map(|v| SystemUserId::new(v).map_err(|e| self.corrupt(attr::SYSTEM_USER_ID, e)))
            .transpose()
    }

    pub fn parsed_opt<T, E: std::fmt::Display>(
        &self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<Option<T>, StoreError> {
        self.opt_s(name)?
            .map(|raw| parse(raw).map_err(|e| self.corrupt(name, e)))
            .transpose()
    }
}
