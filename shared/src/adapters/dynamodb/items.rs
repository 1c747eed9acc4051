//! Items as DynamoDB stores them, and their conversion to and from domain values.
//!
//! Writing is infallible (`From`); reading is not (`TryFrom`): an item written by another
//! version or by hand may lack an attribute or hold the wrong type, and then it is
//! `StoreError::Corrupt`, naming the table and the attribute, never a panic.

use std::collections::{BTreeSet, HashMap};
use std::str::FromStr;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::domain::audit::ChainedEvent;
use crate::domain::idempotency::{
    Fingerprint, IdempotencyKey, IdempotencyRecord, IdempotencyState, StoredResponse,
};
use crate::domain::{
    ApiKeyHash, ApiKeyRecord, AuditAction, AuditEvent, Channel, CodeHash, EmailAddress, FieldValue,
    FirstName, Flow, KeyKind, Location, PasswordHash, Permission, PhoneE164, SystemUserId,
    Timestamp, User, UserId, Username, VerificationId, VerificationRecord,
};
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
    // identifiers
    pub const LOOKUP: &str = "lookup";
    /// On a `SystemUserId` claim: the user holding the number.
    pub const CLAIMED_BY: &str = "claimed_by";
    // verifications
    pub const VERIFICATION_ID: &str = "verification_id";
    pub const FLOW: &str = "flow";
    pub const CHANNEL: &str = "channel";
    pub const CODE_HASH: &str = "code_hash";
    pub const CREATED_AT: &str = "created_at";
    /// The TTL attribute of the verifications and guards tables.
    pub const EXPIRES_AT: &str = "expires_at";
    pub const ATTEMPTS: &str = "attempts";
    pub const MAX_ATTEMPTS: &str = "max_attempts";
    pub const CONSUMED: &str = "consumed";
    // guards
    pub const GUARD_KEY: &str = "guard_key";
    pub const HITS: &str = "hits";
    // api-keys
    pub const KEY_HASH: &str = "key_hash";
    pub const KEY_ID: &str = "key_id";
    pub const PERMISSIONS: &str = "permissions";
    pub const ACTIVE: &str = "active";
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
    pub const PREV_HASH: &str = "prev_hash";
    pub const HASH: &str = "hash";
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
    fn put(&mut self, name: &str, value: AttributeValue) {
        self.0.insert(name.to_owned(), value);
    }

    fn put_opt(&mut self, name: &str, value: Option<AttributeValue>) {
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

    fn get(&self, name: &str) -> Option<&'a AttributeValue> {
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

// --- users -------------------------------------------------------------------------------

fn field_kind(v: &FieldValue) -> &'static str {
    match v {
        FieldValue::Text(_) => "text",
        FieldValue::Email(_) => "email",
        FieldValue::Phone(_) => "phone",
    }
}

impl From<&User> for Item {
    fn from(u: &User) -> Self {
        let fields = u
            .fields
            .iter()
            .map(|(name, value)| {
                let entry = HashMap::from([
                    (attr::KIND.to_owned(), s(field_kind(value))),
                    (attr::VALUE.to_owned(), s(value.as_str())),
                ]);
                (name.clone(), AttributeValue::M(entry))
            })
            .collect();
        let mut item = Item::default();
        item.put(attr::USER_ID, s(u.id.as_ref()));
        item.put_opt(attr::SYSTEM_USER_ID, u.system_user_id.map(|id| n(id.get())));
        item.put_opt(
            attr::FIRST_NAME,
            u.first_name.as_ref().map(|f| s(f.as_ref())),
        );
        item.put(attr::FIELDS, AttributeValue::M(fields));
        item.put_opt(
            attr::PASSWORD_HASH,
            u.password_hash.as_ref().map(|h| s(h.as_phc())),
        );
        item.put(attr::CREDENTIAL_VERSION, n(u.credential_version));
        item.put_opt(
            attr::LATEST_VERIFICATION,
            u.latest_verification.as_ref().map(|v| s(v.as_ref())),
        );
        item
    }
}

impl TryFrom<Item> for User {
    type Error = StoreError;

    fn try_from(item: Item) -> Result<Self, StoreError> {
        let r = Reader::new("users", &item.0);
        let mut user = User::new(r.parsed(attr::USER_ID, UserId::parse)?);
        // Absent on users stored before numbers existed: `None`, assigned at their next confirm.
        user.system_user_id = r.system_user_id()?;
        user.first_name = r.parsed_opt(attr::FIRST_NAME, FirstName::parse)?;
        for (name, entry) in r.map(attr::FIELDS)? {
            let AttributeValue::M(entry) = entry else {
                return Err(r.corrupt(attr::FIELDS, format!("entry '{name}' is not a map")));
            };
            let e = Reader::new("users", entry);
            let value = match e.s(attr::KIND)? {
                "text" => e.parsed(attr::VALUE, Username::parse).map(FieldValue::Text),
                "email" => e
                    .parsed(attr::VALUE, EmailAddress::parse)
                    .map(FieldValue::Email),
                "phone" => e
                    .parsed(attr::VALUE, |v| PhoneE164::parse(v, None))
                    .map(FieldValue::Phone),
                other => {
                    Err(e.corrupt(attr::KIND, format!("'{other}' is not text, email or phone")))
                }
            }
            .map_err(|err| r.corrupt(attr::FIELDS, format!("entry '{name}': {err}")))?;
            user.fields.insert(name.clone(), value);
        }
        user.password_hash = r
            .opt_s(attr::PASSWORD_HASH)?
            .map(|h| PasswordHash::from_phc(h.to_owned()));
        user.credential_version = r.n(attr::CREDENTIAL_VERSION)?;
        user.latest_verification =
            r.parsed_opt(attr::LATEST_VERIFICATION, VerificationId::parse)?;
        Ok(user)
    }
}

// --- SystemUserId claims (identifiers table) ------------------------------------------------

/// The identifiers table's sort key on a claim. A claim's key must depend on the number
/// alone, so that a conditional put finds any other holder; `claimed_by` names the user.
/// (`SystemUserId` is reserved as a field name, so no field's index entry shares its `lookup`.)
pub(super) const CLAIM_SORT_KEY: &str = "claim";

pub(super) fn system_user_id_lookup(id: SystemUserId) -> String {
    format!("{}#{id}", crate::domain::fields::SYSTEM_USER_ID)
}

/// The claim item on `id` for `user`.
pub(super) fn system_user_id_claim(id: SystemUserId, user: &UserId) -> Attrs {
    HashMap::from([
        (attr::LOOKUP.to_owned(), s(system_user_id_lookup(id))),
        (attr::USER_ID.to_owned(), s(CLAIM_SORT_KEY)),
        (attr::CLAIMED_BY.to_owned(), s(user.as_ref())),
    ])
}

// --- verifications -------------------------------------------------------------------------

impl From<&VerificationRecord> for Item {
    fn from(v: &VerificationRecord) -> Self {
        let mut item = Item::default();
        item.put(attr::VERIFICATION_ID, s(v.id.as_ref()));
        item.put(attr::USER_ID, s(v.user_id.as_ref()));
        item.put(attr::FLOW, s(v.flow.as_str()));
        item.put(attr::CHANNEL, s(v.channel.as_str()));
        item.put(
            attr::CODE_HASH,
            AttributeValue::B(Blob::new(v.code_hash.as_bytes().to_vec())),
        );
        item.put(attr::CREATED_AT, n(v.created_at.unix_seconds()));
        item.put(attr::EXPIRES_AT, n(v.expires_at.unix_seconds()));
        item.put(attr::ATTEMPTS, n(v.attempts));
        item.put(attr::MAX_ATTEMPTS, n(v.max_attempts));
        item.put(attr::CONSUMED, AttributeValue::Bool(v.consumed));
        item
    }
}

impl TryFrom<Item> for VerificationRecord {
    type Error = StoreError;

    fn try_from(item: Item) -> Result<Self, StoreError> {
        let r = Reader::new("verifications", &item.0);
        let hash: [u8; 32] = r
            .blob(attr::CODE_HASH)?
            .try_into()
            .map_err(|_| r.corrupt(attr::CODE_HASH, "is not 32 bytes"))?;
        Ok(VerificationRecord {
            id: r.parsed(attr::VERIFICATION_ID, VerificationId::parse)?,
            user_id: r.parsed(attr::USER_ID, UserId::parse)?,
            flow: r.parsed(attr::FLOW, |f| Flow::parse(f).ok_or("is not a known flow"))?,
            channel: r.parsed(attr::CHANNEL, |c| {
                Channel::parse(c).ok_or("is not a known channel")
            })?,
            code_hash: CodeHash::from_bytes(hash),
            created_at: r.timestamp(attr::CREATED_AT)?,
            expires_at: r.timestamp(attr::EXPIRES_AT)?,
            attempts: r.n(attr::ATTEMPTS)?,
            max_attempts: r.n(attr::MAX_ATTEMPTS)?,
            consumed: r.bool(attr::CONSUMED)?,
        })
    }
}

// --- api keys ------------------------------------------------------------------------------

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

// --- audit ---------------------------------------------------------------------------------

/// A link's sort key: its sequence number, zero-padded so that keys sort as numbers.
pub(super) fn audit_event_id(seq: u64) -> String {
    format!("{seq:020}")
}

/// The link, keyed by stream and sequence. The event holds no secret by construction
/// (masked destination, key id not key), and nothing is added.
impl From<&ChainedEvent> for Item {
    fn from(link: &ChainedEvent) -> Self {
        let e = &link.event;
        let mut item = Item::default();
        item.put(attr::STREAM, s(&link.stream));
        item.put(attr::EVENT_ID, s(audit_event_id(link.seq)));
        item.put(attr::PREV_HASH, s(&link.prev_hash));
        item.put(attr::HASH, s(&link.hash));
        item.put(attr::AT, n(e.at.unix_seconds()));
        item.put(attr::ACTION, s(e.action.as_str()));
        item.put_opt(attr::ACTOR, e.actor.as_deref().map(s));
        item.put_opt(attr::USER_ID, e.user_id.as_ref().map(|u| s(u.as_ref())));
        item.put_opt(attr::SYSTEM_USER_ID, e.system_user_id.map(|id| n(id.get())));
        item.put_opt(attr::CHANNEL, e.channel.map(|c| s(c.as_str())));
        item.put_opt(attr::DESTINATION, e.destination.as_deref().map(s));
        item.put_opt(attr::SOURCE_IP, e.source_ip.as_deref().map(s));
        item.put_opt(attr::LATITUDE, e.location.map(|l| n(l.latitude)));
        item.put_opt(attr::LONGITUDE, e.location.map(|l| n(l.longitude)));
        item.put_opt(attr::DETAIL, e.detail.as_deref().map(s));
        item
    }
}

impl TryFrom<Item> for ChainedEvent {
    type Error = StoreError;

    fn try_from(item: Item) -> Result<Self, StoreError> {
        let r = Reader::new("audit", &item.0);
        let seq = r.parsed(attr::EVENT_ID, u64::from_str)?;
        let location = match (
            r.opt_n::<f64>(attr::LATITUDE)?,
            r.opt_n::<f64>(attr::LONGITUDE)?,
        ) {
            (Some(latitude), Some(longitude)) => Some(Location {
                latitude,
                longitude,
            }),
            _ => None,
        };
        let event = AuditEvent {
            at: r.timestamp(attr::AT)?,
            action: r.parsed(attr::ACTION, |a| {
                AuditAction::parse(a).ok_or("is not an action")
            })?,
            actor: r.opt_s(attr::ACTOR)?.map(str::to_owned),
            user_id: r.parsed_opt(attr::USER_ID, UserId::parse)?,
            system_user_id: r.system_user_id()?,
            channel: r.parsed_opt(attr::CHANNEL, |c| {
                Channel::parse(c).ok_or("is not a channel")
            })?,
            destination: r.opt_s(attr::DESTINATION)?.map(str::to_owned),
            source_ip: r.opt_s(attr::SOURCE_IP)?.map(str::to_owned),
            location,
            detail: r.opt_s(attr::DETAIL)?.map(str::to_owned),
        };
        Ok(ChainedEvent {
            stream: r.s(attr::STREAM)?.to_owned(),
            seq,
            prev_hash: r.s(attr::PREV_HASH)?.to_owned(),
            hash: r.s(attr::HASH)?.to_owned(),
            event,
        })
    }
}

// --- idempotency ---------------------------------------------------------------------------

pub(super) fn idempotency_guard_key(key: &IdempotencyKey) -> String {
    format!("idem#{}", key.as_ref())
}

impl TryFrom<Item> for IdempotencyRecord {
    type Error = StoreError;

    fn try_from(item: Item) -> Result<Self, StoreError> {
        let r = Reader::new("guards", &item.0);
        let state = match r.opt_n::<u16>(attr::STATUS)? {
            None => IdempotencyState::InFlight,
            Some(status) => IdempotencyState::Completed(StoredResponse {
                status,
                content_type: r.s(attr::CONTENT_TYPE)?.to_owned(),
                body: r.blob(attr::BODY)?.to_vec(),
            }),
        };
        Ok(IdempotencyRecord {
            fingerprint: Fingerprint::from_stored(r.s(attr::FINGERPRINT)?.to_owned()),
            owner: r.s(attr::OWNER)?.to_owned(),
            state,
            expires_at: r.timestamp(attr::EXPIRES_AT)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fields::{EMAIL, MOBILE, USERNAME};

    fn user() -> User {
        let mut u = User::new(UserId::from_random([7; 16]));
        u.first_name = Some(FirstName::parse("Zoë").unwrap());
        u.fields.insert(
            USERNAME.into(),
            FieldValue::Text(Username::parse("zoe.b").unwrap()),
        );
        u.fields.insert(
            EMAIL.into(),
            FieldValue::Email(EmailAddress::parse("Zoe@Example.com").unwrap()),
        );
        u.fields.insert(
            MOBILE.into(),
            FieldValue::Phone(PhoneE164::parse("+1 415 741 5569", None).unwrap()),
        );
        u.password_hash = Some(PasswordHash::from_phc(
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        ));
        u.credential_version = 3;
        u.latest_verification = Some(VerificationId::from_random([9; 16]));
        u.system_user_id = Some(SystemUserId::new(2_147_483_647).unwrap());
        u
    }

    #[test]
    fn users_round_trip() {
        let u = user();
        assert_eq!(User::try_from(Item::from(&u)).unwrap(), u);
        let bare = User::new(UserId::from_random([1; 16]));
        assert_eq!(User::try_from(Item::from(&bare)).unwrap(), bare);
    }

    #[test]
    fn a_user_without_a_system_user_id_reads_as_none_and_a_bad_one_is_corrupt() {
        let mut item = Item::from(&user()).into_attrs();
        item.remove(attr::SYSTEM_USER_ID);
        assert_eq!(User::try_from(Item(item)).unwrap().system_user_id, None);
        for bad in ["0", "2147483648", "-3"] {
            let mut item = Item::from(&user()).into_attrs();
            item.insert(attr::SYSTEM_USER_ID.into(), n(bad));
            assert!(
                matches!(User::try_from(Item(item)), Err(StoreError::Corrupt(m)) if m.contains("system_user_id")),
                "{bad}"
            );
        }
    }

    #[test]
    fn verifications_round_trip() {
        let v = VerificationRecord {
            id: VerificationId::from_random([2; 16]),
            user_id: UserId::from_random([3; 16]),
            flow: Flow::Link,
            channel: Channel::Sms,
            code_hash: CodeHash::from_bytes([4; 32]),
            created_at: Timestamp::from_unix_seconds(1_800_000_000),
            expires_at: Timestamp::from_unix_seconds(1_800_003_600),
            attempts: 2,
            max_attempts: 5,
            consumed: false,
        };
        assert_eq!(VerificationRecord::try_from(Item::from(&v)).unwrap(), v);
    }

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

    #[test]
    fn malformed_items_are_corrupt_not_panics() {
        let mut item = Item::from(&user()).into_attrs();
        item.insert(attr::CREDENTIAL_VERSION.into(), s("three"));
        let err = User::try_from(Item(item)).unwrap_err();
        assert!(
            matches!(&err, StoreError::Corrupt(m) if m.contains("credential_version")),
            "{err}"
        );

        let mut item = Item::from(&user()).into_attrs();
        item.remove(attr::USER_ID);
        assert!(matches!(
            User::try_from(Item(item)),
            Err(StoreError::Corrupt(_))
        ));

        let mut fields = HashMap::new();
        fields.insert(
            "Mobile".to_owned(),
            AttributeValue::M(HashMap::from([
                (attr::KIND.to_owned(), s("fax")),
                (attr::VALUE.to_owned(), s("1")),
            ])),
        );
        let mut item = Item::from(&user()).into_attrs();
        item.insert(attr::FIELDS.into(), AttributeValue::M(fields));
        assert!(matches!(
            User::try_from(Item(item)),
            Err(StoreError::Corrupt(_))
        ));

        let mut item = Item::from(&VerificationRecord {
            id: VerificationId::from_random([2; 16]),
            user_id: UserId::from_random([3; 16]),
            flow: Flow::StaffCode,
            channel: Channel::Email,
            code_hash: CodeHash::from_bytes([4; 32]),
            created_at: Timestamp::from_unix_seconds(1),
            expires_at: Timestamp::from_unix_seconds(2),
            attempts: 0,
            max_attempts: 5,
            consumed: false,
        })
        .into_attrs();
        item.insert(
            attr::CODE_HASH.into(),
            AttributeValue::B(Blob::new(vec![1, 2, 3])),
        );
        assert!(matches!(
            VerificationRecord::try_from(Item(item)),
            Err(StoreError::Corrupt(_))
        ));
    }

    #[test]
    fn audit_links_round_trip_and_hold_only_what_the_event_holds() {
        let mut e = AuditEvent::new(
            Timestamp::from_unix_seconds(5),
            AuditAction::PasswordChanged,
        );
        e.destination = Some("z***@example.com".into());
        e.location = Some(Location {
            latitude: 51.5,
            longitude: -0.12,
        });
        e.source_ip = Some("203.0.113.5".into());
        e.system_user_id = Some(SystemUserId::new(1001).unwrap());
        let link = ChainedEvent::next(None, e);
        let item = Item::from(&link).into_attrs();
        assert_eq!(item.get(attr::STREAM), Some(&s("ip:203.0.113.5")));
        assert_eq!(item.get(attr::EVENT_ID), Some(&s("00000000000000000001")));
        assert_eq!(item.get(attr::LATITUDE), Some(&n(51.5)));
        assert_eq!(item.get(attr::SYSTEM_USER_ID), Some(&n(1001)));
        assert!(!item.contains_key(attr::ACTOR));
        assert_eq!(ChainedEvent::try_from(Item(item)).unwrap(), link);
    }
}
