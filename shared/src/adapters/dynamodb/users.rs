//! The `users` table (one item per person) and the claims on `SystemUserId` numbers in the
//! `identifiers` table beside the lookup entries: `UserDirectory` over DynamoDB.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};

use super::errors::{build_error, unavailable};
use super::items::{attr, n, s, Attrs, Item, Reader};
use super::transaction::TransactError;
use super::{DynamoStore, LostRace};
use crate::domain::{
    EmailAddress, FieldValue, FirstName, HostVersion, Locale, LookupKey, PasswordHash,
    PersonRemoval, PersonWrite, PhoneE164, SystemUserId, User, UserId, Username, VerificationId,
};
use crate::ports::{PersonConflict, StoreError, UserDirectory};

fn field_kind(v: &FieldValue) -> &'static str {
    match v {
        FieldValue::Text(_) => "text",
        FieldValue::Email(_) => "email",
        FieldValue::Phone(_) => "phone",
        FieldValue::Locale(_) => "locale",
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
        item.put_opt(attr::HOST_VERSION, u.version.map(|v| n(v.get())));
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
                "locale" => e.parsed(attr::VALUE, Locale::parse).map(FieldValue::Locale),
                other => Err(e.corrupt(
                    attr::KIND,
                    format!("'{other}' is not text, email, phone or locale"),
                )),
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
        user.version = r
            .opt_n::<u64>(attr::HOST_VERSION)?
            .map(|v| HostVersion::new(v).map_err(|e| r.corrupt(attr::HOST_VERSION, e)))
            .transpose()?;
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

impl DynamoStore {
    /// The conditional put of the claim on `id` for `user`: it fails if anyone holds `id`.
    pub(super) fn claim_put(
        &self,
        id: SystemUserId,
        user: &UserId,
    ) -> Result<TransactWriteItem, StoreError> {
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
                let r = Reader::new("identifiers", item);
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
            .map(|item| Reader::new("identifiers", &item).parsed(attr::CLAIMED_BY, UserId::parse))
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

    async fn write_person(&self, write: &PersonWrite) -> Result<(), PersonConflict> {
        self.apply_person_write(write).await
    }

    async fn remove_person(&self, removal: &PersonRemoval) -> Result<(), PersonConflict> {
        self.apply_person_removal(removal).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::domain::fields::{EMAIL, LOCALE, MOBILE, USERNAME};

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
        u.fields.insert(
            LOCALE.into(),
            FieldValue::Locale(Locale::parse("pt-BR").unwrap()),
        );
        u.password_hash = Some(PasswordHash::from_phc(
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        ));
        u.credential_version = 3;
        u.latest_verification = Some(VerificationId::from_random([9; 16]));
        u.system_user_id = Some(SystemUserId::new(2_147_483_647).unwrap());
        u.version = HostVersion::new(9_007_199_254_740_991).ok();
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
    fn malformed_user_items_are_corrupt_not_panics() {
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
    }
}
