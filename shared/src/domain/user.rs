use std::collections::BTreeMap;

use super::fields::{FieldName, FieldValue, EMAIL, LOCALE, MOBILE, USERNAME};
use super::host_version::HostVersion;
use super::identifiers::{EmailAddress, FirstName, PhoneE164, UserId, Username, VerificationId};
use super::locale::Locale;
use super::password::PasswordHash;
use super::system_user_id::SystemUserId;

/// A person who can reset a password: a Zenoti guest or a LeadSquared lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    /// Contract C's number for the person. `None` only for a person stored before numbers
    /// existed: the next confirm assigns one (see `Resetkit::confirm`), so reading an older
    /// table never fails for want of it.
    pub system_user_id: Option<SystemUserId>,
    pub first_name: Option<FirstName>,
    /// Every identifying or contact field, keyed by schema name (`EmailAddress`, `Mobile`, …).
    pub fields: BTreeMap<FieldName, FieldValue>,
    pub password_hash: Option<PasswordHash>,
    /// Bumped on every password change; authorizers refuse sessions minted under an older one.
    pub credential_version: u64,
    /// The only verification that may still be used: issuing a new one replaces it.
    pub latest_verification: Option<VerificationId>,
    /// The host's version of the person, from its last people-API write; `None` for a
    /// person imported or created otherwise.
    pub version: Option<HostVersion>,
}

impl User {
    pub fn new(id: UserId) -> Self {
        Self {
            id,
            system_user_id: None,
            first_name: None,
            fields: BTreeMap::new(),
            password_hash: None,
            credential_version: 0,
            latest_verification: None,
            version: None,
        }
    }

    pub fn username(&self) -> Option<&Username> {
        match self.fields.get(USERNAME) {
            Some(FieldValue::Text(u)) => Some(u),
            _ => None,
        }
    }

    pub fn email(&self) -> Option<&EmailAddress> {
        self.email_field(EMAIL)
    }

    pub fn mobile(&self) -> Option<&PhoneE164> {
        self.phone_field(MOBILE)
    }

    /// The language the person asked to be written to in, if known.
    pub fn locale(&self) -> Option<&Locale> {
        match self.fields.get(LOCALE) {
            Some(FieldValue::Locale(l)) => Some(l),
            _ => None,
        }
    }

    pub fn email_field(&self, name: &str) -> Option<&EmailAddress> {
        match self.fields.get(name) {
            Some(FieldValue::Email(e)) => Some(e),
            _ => None,
        }
    }

    pub fn phone_field(&self, name: &str) -> Option<&PhoneE164> {
        match self.fields.get(name) {
            Some(FieldValue::Phone(p)) => Some(p),
            _ => None,
        }
    }

    /// Strings a new password must not resemble: the person's own identifiers.
    pub fn personal_words(&self) -> Vec<String> {
        let mut words: Vec<String> = self
            .fields
            .values()
            // A language tag says nothing about the person a guesser could use.
            .filter(|v| !matches!(v, FieldValue::Locale(_)))
            .map(|v| v.as_str().to_owned())
            .collect();
        if let Some(e) = self.email() {
            words.push(e.local_part().to_owned());
        }
        if let Some(f) = &self.first_name {
            words.push(f.as_ref().to_owned());
        }
        words
    }
}
