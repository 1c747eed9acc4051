//! The person fields a caller may search by or deliver to, and their typed values.
//!
//! Four fields are built in (three back the guest-reset contract; `Locale` is the language
//! a person is written to in); a stage can declare more, each with a type and whether it is
//! a unique lookup field.

use std::collections::BTreeMap;

use thiserror::Error;

use super::identifiers::{fold_text, EmailAddress, PhoneE164, Username};
use super::locale::Locale;

pub const USERNAME: &str = "Username";
pub const EMAIL: &str = "EmailAddress";
pub const MOBILE: &str = "Mobile";
/// The person's language (`fr`, `pt-BR`): their messages use it when the stage offers it.
pub const LOCALE: &str = "Locale";
/// Not a field: the name under which the identifier index claims contract C's numbers
/// (`domain::system_user_id`), so no stage may declare a field by that name.
pub const SYSTEM_USER_ID: &str = "SystemUserId";

/// A field's schema name as the LeadSquared contract spells it (`EmailAddress`, `Phone`, `mx_…`).
pub type FieldName = String;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    Email,
    Phone,
    /// A language tag (`domain::locale::Locale`); only the built-in `Locale` field.
    Locale,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSpec {
    pub name: FieldName,
    pub kind: FieldKind,
    /// Configured as a unique lookup field: searchable in forgot-password.
    pub unique: bool,
    /// A phone or email field the stage trusts to reach the person (verified by whatever
    /// writes it), so `RecipientField` may name it. A field a lead-capture form fills in
    /// is not: whoever can write it could have someone else's reset link sent to them.
    pub deliverable: bool,
}

/// A value of a person's field, parsed according to the field's kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    Text(Username),
    Email(EmailAddress),
    Phone(PhoneE164),
    Locale(Locale),
}

impl FieldValue {
    pub fn as_str(&self) -> &str {
        match self {
            FieldValue::Text(t) => t.as_ref(),
            FieldValue::Email(e) => e.as_ref(),
            FieldValue::Phone(p) => p.as_ref(),
            FieldValue::Locale(l) => l.as_ref(),
        }
    }
}

/// One entry of the identifier index: a field and a value in its normal form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LookupKey {
    field: FieldName,
    normalized: String,
}

impl LookupKey {
    pub fn new(field: &str, value: &FieldValue) -> Self {
        Self {
            field: field.to_owned(),
            normalized: value.as_str().to_owned(),
        }
    }

    pub fn field(&self) -> &str {
        &self.field
    }

    pub fn normalized(&self) -> &str {
        &self.normalized
    }

    /// The single string under which the index stores this key.
    pub fn storage_key(&self) -> String {
        format!("{}#{}", self.field, self.normalized)
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum FieldError {
    #[error("unknown SchemaName '{0}'")]
    Unknown(String),
    #[error("SchemaName '{0}' is not a unique lookup field")]
    NotUnique(String),
    #[error("field '{0}' is neither a phone nor an email field")]
    NotDeliverable(String),
    #[error("field '{0}' is not declared deliverable on this stage")]
    NotTrustedRecipient(String),
    #[error("invalid value for '{field}': {reason}")]
    InvalidValue { field: String, reason: String },
}

/// Every field this stage knows, by schema name.
#[derive(Debug, Clone)]
pub struct FieldCatalog {
    fields: BTreeMap<FieldName, FieldSpec>,
    default_country: String,
}

impl FieldCatalog {
    /// The built-in fields plus `extra`; `default_country` parses national phone numbers.
    pub fn new(extra: impl IntoIterator<Item = FieldSpec>, default_country: &str) -> Self {
        let builtin = [
            FieldSpec {
                name: USERNAME.into(),
                kind: FieldKind::Text,
                unique: true,
                deliverable: false,
            },
            FieldSpec {
                name: EMAIL.into(),
                kind: FieldKind::Email,
                unique: true,
                deliverable: true,
            },
            FieldSpec {
                name: MOBILE.into(),
                kind: FieldKind::Phone,
                unique: true,
                deliverable: true,
            },
            FieldSpec {
                name: LOCALE.into(),
                kind: FieldKind::Locale,
                unique: false,
                deliverable: false,
            },
        ];
        let fields = builtin
            .into_iter()
            .chain(extra)
            .map(|f| (f.name.clone(), f))
            .collect();
        Self {
            fields,
            default_country: default_country.to_owned(),
        }
    }

    /// Parses `FIELD:KIND[:unique][:deliverable]` entries separated by commas, e.g.
    /// `Phone:phone:unique:deliverable,mx_Alt_Email:email`. Only phone and email fields
    /// can be deliverable.
    pub fn parse_extra(spec: &str) -> Result<Vec<FieldSpec>, String> {
        spec.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|entry| {
                let mut parts = entry.split(':');
                let name = parts.next().unwrap_or_default();
                let kind = match parts.next().map(str::to_ascii_lowercase) {
                    Some(k) if k == "text" => FieldKind::Text,
                    Some(k) if k == "email" => FieldKind::Email,
                    Some(k) if k == "phone" => FieldKind::Phone,
                    _ => return Err(format!("'{entry}': kind must be text, email or phone")),
                };
                let (mut unique, mut deliverable) = (false, false);
                for flag in parts {
                    match flag.to_ascii_lowercase().as_str() {
                        "unique" if !unique => unique = true,
                        "deliverable" if !deliverable && kind != FieldKind::Text => {
                            deliverable = true
                        }
                        _ => {
                            return Err(format!(
                                "'{entry}' is not FIELD:KIND[:unique][:deliverable] \
                                 (deliverable: phone and email only)"
                            ))
                        }
                    }
                }
                if name.is_empty() {
                    return Err(format!("'{entry}' has no field name"));
                }
                if name.eq_ignore_ascii_case(SYSTEM_USER_ID) {
                    return Err(format!("'{entry}': {SYSTEM_USER_ID} is reserved"));
                }
                Ok(FieldSpec {
                    name: name.to_owned(),
                    kind,
                    unique,
                    deliverable,
                })
            })
            .collect()
    }

    pub fn default_country(&self) -> &str {
        &self.default_country
    }

    pub fn get(&self, name: &str) -> Result<&FieldSpec, FieldError> {
        // Schema names are matched exactly first, then ignoring case, as LeadSquared does.
        self.fields
            .get(name)
            .or_else(|| {
                self.fields
                    .values()
                    .find(|f| f.name.eq_ignore_ascii_case(name))
            })
            .ok_or_else(|| FieldError::Unknown(super::identifiers::printable(name)))
    }

    /// A field a person may be searched by: known and configured unique.
    pub fn lookup_field(&self, name: &str) -> Result<&FieldSpec, FieldError> {
        let spec = self.get(name)?;
        if spec.unique {
            Ok(spec)
        } else {
            Err(FieldError::NotUnique(spec.name.clone()))
        }
    }

    /// A field a message may be delivered to: known, phone- or email-typed, and declared
    /// deliverable.
    pub fn recipient_field(&self, name: &str) -> Result<&FieldSpec, FieldError> {
        let spec = self.get(name)?;
        match spec.kind {
            FieldKind::Text | FieldKind::Locale => {
                Err(FieldError::NotDeliverable(spec.name.clone()))
            }
            _ if !spec.deliverable => Err(FieldError::NotTrustedRecipient(spec.name.clone())),
            FieldKind::Email | FieldKind::Phone => Ok(spec),
        }
    }

    /// Parses `raw` as a value of `spec`.
    pub fn parse_value(&self, spec: &FieldSpec, raw: &str) -> Result<FieldValue, FieldError> {
        let invalid = |reason: String| FieldError::InvalidValue {
            field: spec.name.clone(),
            reason,
        };
        match spec.kind {
            FieldKind::Text => fold_text(raw, 256)
                .and_then(|_| Username::parse(raw))
                .map(FieldValue::Text)
                .map_err(|e| invalid(e.to_string())),
            FieldKind::Email => EmailAddress::parse(raw)
                .map(FieldValue::Email)
                .map_err(|e| invalid(e.to_string())),
            FieldKind::Phone => PhoneE164::parse(raw, Some(&self.default_country))
                .map(FieldValue::Phone)
                .map_err(|e| invalid(e.to_string())),
            FieldKind::Locale => Locale::parse(raw)
                .map(FieldValue::Locale)
                .map_err(|e| invalid(e.to_string())),
        }
    }

    /// The values no two people may share: one per unique field the stage declared itself
    /// (a CRM's member number, say). The built-in lookups are unique in that a search by
    /// them must find one person, yet people may share them (a family's email, a salon
    /// guest's parent's mobile): guest reset narrows those by first name.
    pub fn exclusive_keys<'a>(
        &'a self,
        values: &'a BTreeMap<FieldName, FieldValue>,
    ) -> impl Iterator<Item = LookupKey> + 'a {
        self.index_keys(values)
            .filter(|key| ![USERNAME, EMAIL, MOBILE].contains(&key.field()))
    }

    /// The index keys for a set of field values: one per unique field that has a value.
    pub fn index_keys<'a>(
        &'a self,
        values: &'a BTreeMap<FieldName, FieldValue>,
    ) -> impl Iterator<Item = LookupKey> + 'a {
        values
            .iter()
            .filter(|(name, _)| self.fields.get(*name).is_some_and(|f| f.unique))
            .map(|(name, value)| LookupKey::new(name, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> FieldCatalog {
        FieldCatalog::new(
            FieldCatalog::parse_extra(
                "Phone:phone:unique:deliverable, mx_Alt_Email:email:deliverable, mx_City:text, mx_Form_Email:email",
            )
                .unwrap(),
            "US",
        )
    }

    #[test]
    fn lookup_fields_must_be_known_and_unique() {
        let c = catalog();
        assert_eq!(c.lookup_field("phone").unwrap().name, "Phone");
        assert_eq!(
            c.lookup_field("mx_Alt_Email"),
            Err(FieldError::NotUnique("mx_Alt_Email".into()))
        );
        assert_eq!(
            c.lookup_field("Nope"),
            Err(FieldError::Unknown("Nope".into()))
        );
    }

    #[test]
    fn recipients_must_be_phone_or_email() {
        let c = catalog();
        assert!(c.recipient_field("mx_Alt_Email").is_ok());
        assert_eq!(
            c.recipient_field("mx_City"),
            Err(FieldError::NotDeliverable("mx_City".into()))
        );
        assert_eq!(
            c.recipient_field("mx_Form_Email"),
            Err(FieldError::NotTrustedRecipient("mx_Form_Email".into()))
        );
        assert!(c.recipient_field("EmailAddress").is_ok() && c.recipient_field("Mobile").is_ok());
        assert_eq!(
            c.recipient_field("Locale"),
            Err(FieldError::NotDeliverable("Locale".into()))
        );
    }

    #[test]
    fn a_locale_is_a_language_tag() {
        let c = catalog();
        let spec = c.get("locale").unwrap();
        assert_eq!(
            c.parse_value(spec, "fr-ca"),
            Ok(FieldValue::Locale(Locale::parse("fr-CA").unwrap()))
        );
        assert!(c.parse_value(spec, "<script>").is_err());
        assert!(c.lookup_field("Locale").is_err(), "not a lookup field");
    }

    #[test]
    fn malformed_field_specs_are_refused() {
        assert!(FieldCatalog::parse_extra("Phone").is_err());
        assert!(FieldCatalog::parse_extra("Phone:fax").is_err());
        assert!(FieldCatalog::parse_extra("Phone:phone:primary").is_err());
        assert!(FieldCatalog::parse_extra("City:text:deliverable").is_err());
        assert!(FieldCatalog::parse_extra("Phone:phone:unique:unique").is_err());
        assert!(FieldCatalog::parse_extra(":phone").is_err());
        let both = FieldCatalog::parse_extra("Phone:phone:deliverable:unique").unwrap();
        assert!(both[0].unique && both[0].deliverable);
        assert!(FieldCatalog::parse_extra("systemuserid:text:unique").is_err());
        assert_eq!(FieldCatalog::parse_extra("").unwrap(), vec![]);
    }
}
