//! A person as an import file or a test describes them, parsed into a `User`.

use std::collections::BTreeMap;

use serde::Deserialize;
use thiserror::Error;

use super::fields::{FieldCatalog, FieldError, LookupKey, EMAIL, MOBILE, USERNAME};
use super::identifiers::{FirstName, UserId};
use super::person::{InvalidPerson, PersonDocument};
use super::user::User;

/// One line of a JSON Lines import. `fields` holds any other catalogued field by schema name.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserImport {
    pub id: Option<String>,
    /// Contract C's number, kept from a service the person is migrated from; assigned on
    /// import when absent.
    pub system_user_id: Option<i64>,
    pub first_name: Option<String>,
    pub username: Option<String>,
    pub email: Option<String>,
    pub mobile: Option<String>,
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// The host's version of the person: required by `resetctl import --upsert`, which
    /// keeps the people API's ordering rule.
    pub version: Option<u64>,
}

#[derive(Debug, Error)]
pub enum ImportError {
    #[error("id: {0}")]
    Id(#[from] super::identifiers::GuidError),
    #[error("system_user_id: {0}")]
    SystemUserId(#[from] super::system_user_id::SystemUserIdError),
    #[error("first_name: {0}")]
    FirstName(#[from] super::identifiers::TextError),
    #[error(transparent)]
    Field(#[from] FieldError),
}

impl UserImport {
    /// The person as a people-API document, for an upsert: `id` and `version` required.
    pub fn into_document(
        self,
        catalog: &FieldCatalog,
    ) -> Result<(UserId, PersonDocument), InvalidPerson> {
        let id = self
            .id
            .as_deref()
            .ok_or_else(|| InvalidPerson::new("id", "is required for an upsert"))
            .and_then(|raw| UserId::parse(raw).map_err(|e| InvalidPerson::new("id", e)))?;
        let version = self
            .version
            .ok_or_else(|| InvalidPerson::new("version", "is required for an upsert"))?;
        let builtin = [
            (USERNAME, self.username.as_deref()),
            (EMAIL, self.email.as_deref()),
            (MOBILE, self.mobile.as_deref()),
        ];
        let fields = builtin
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .chain(self.fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let document = PersonDocument::parse(
            catalog,
            version,
            self.first_name.as_deref(),
            self.system_user_id,
            fields,
        )?;
        Ok((id, document))
    }

    /// The user and the index keys to store with it. `new_id` supplies an id when none is
    /// given; a missing `system_user_id` stays `None` for `create_person` to assign.
    pub fn into_user(
        self,
        catalog: &FieldCatalog,
        new_id: impl FnOnce() -> UserId,
    ) -> Result<(User, Vec<LookupKey>), ImportError> {
        let id = match &self.id {
            Some(raw) => UserId::parse(raw)?,
            None => new_id(),
        };
        let mut user = User::new(id);
        user.system_user_id = self
            .system_user_id
            .map(super::system_user_id::SystemUserId::new)
            .transpose()?;
        user.first_name = self
            .first_name
            .as_deref()
            .map(FirstName::parse)
            .transpose()?;
        let builtin = [
            (USERNAME, self.username),
            (EMAIL, self.email),
            (MOBILE, self.mobile),
        ];
        let named = builtin
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
            .chain(self.fields);
        for (name, raw) in named {
            let spec = catalog.get(&name)?;
            user.fields
                .insert(spec.name.clone(), catalog.parse_value(spec, &raw)?);
        }
        let keys = catalog.index_keys(&user.fields).collect();
        Ok((user, keys))
    }
}
