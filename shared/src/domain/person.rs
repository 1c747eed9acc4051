//! A person as the host system keeps them current through the people API: the document a
//! write carries, the host's version that orders writes, and the plan of one write: what
//! the identifier index gains and loses, which live secrets are withdrawn, and which old
//! addresses are told that they no longer reach the account.
//!
//! The plan is made from the person as read; the store applies it only if the person is
//! still as read (its version), so a plan never lands on a state it was not made from.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use thiserror::Error;

use super::fields::{FieldCatalog, FieldName, FieldValue, LookupKey, EMAIL, MOBILE};
pub use super::host_version::{HostVersion, HostVersionError};
use super::identifiers::{FirstName, UserId};
use super::message::Destination;
use super::system_user_id::SystemUserId;
use super::user::User;

/// A field of a people-API write that is not acceptable, by the name the caller used.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{field}: {reason}")]
pub struct InvalidPerson {
    pub field: String,
    pub reason: String,
}

impl InvalidPerson {
    pub fn new(field: impl Into<String>, reason: impl fmt::Display) -> Self {
        Self {
            field: field.into(),
            reason: reason.to_string(),
        }
    }
}

/// Everything a host says about one person in a write: the whole person, not a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonDocument {
    pub version: HostVersion,
    pub first_name: Option<FirstName>,
    /// Kept if given and free when the person is created; drawn otherwise. Never changes.
    pub system_user_id: Option<SystemUserId>,
    pub fields: BTreeMap<FieldName, FieldValue>,
}

impl PersonDocument {
    /// Parses a document's parts; `fields` by the stage's catalogue (schema names, any
    /// case), each error naming the field as the caller spelled it.
    pub fn parse<'a>(
        catalog: &FieldCatalog,
        version: u64,
        first_name: Option<&str>,
        system_user_id: Option<i64>,
        fields: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, InvalidPerson> {
        let version = HostVersion::new(version).map_err(|e| InvalidPerson::new("Version", e))?;
        let first_name = first_name
            .map(FirstName::parse)
            .transpose()
            .map_err(|e| InvalidPerson::new("FirstName", e))?;
        let system_user_id = system_user_id
            .map(SystemUserId::new)
            .transpose()
            .map_err(|e| InvalidPerson::new("SystemUserId", e))?;
        let mut values = BTreeMap::new();
        for (name, raw) in fields {
            let spec = catalog.get(name).map_err(|e| InvalidPerson::new(name, e))?;
            let value = catalog
                .parse_value(spec, raw)
                .map_err(|e| InvalidPerson::new(name, e))?;
            if values.insert(spec.name.clone(), value).is_some() {
                return Err(InvalidPerson::new(name, "given twice"));
            }
        }
        Ok(Self {
            version,
            first_name,
            system_user_id,
            fields: values,
        })
    }
}

/// Why a write or a removal changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Refused {
    /// The stored person is as new as the write, or newer.
    #[error("version {given} is not newer than the stored version {stored}")]
    Stale {
        given: HostVersion,
        stored: HostVersion,
    },
    /// The write names another `SystemUserId` than the person has.
    #[error("SystemUserId is {stored} and never changes")]
    SystemUserIdFixed { stored: SystemUserId },
}

/// What one write does, as planned from the person as read (`before`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonWrite {
    pub before: Option<User>,
    pub after: User,
    /// Index entries (field values) the person gains and loses.
    pub index_added: Vec<LookupKey>,
    pub index_removed: Vec<LookupKey>,
    /// Values of the stage's exclusive fields the person claims and gives up.
    pub claims_added: Vec<LookupKey>,
    pub claims_removed: Vec<LookupKey>,
    /// Old email and mobile addresses that no longer reach the account: each is told.
    pub moved: Vec<Destination>,
}

impl PersonWrite {
    /// A `SystemUserId` this write gives the person (new, or numbered now).
    pub fn new_number(&self) -> Option<SystemUserId> {
        let before = self.before.as_ref().and_then(|b| b.system_user_id);
        self.after.system_user_id.filter(|_| before.is_none())
    }

    /// Whether the person's live code or link is withdrawn by this write.
    pub fn withdraws(&self) -> bool {
        self.before
            .as_ref()
            .is_some_and(|b| b.latest_verification.is_some())
            && self.after.latest_verification.is_none()
    }
}

/// The outcome of planning a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// The same version with the same content: a retry of a write that landed.
    Unchanged(User),
    Write(Box<PersonWrite>),
}

/// Plans writing `doc` as person `id`, stored as `before` (`None`: not stored yet).
///
/// The person keeps their password, credential version and `SystemUserId`. A change to a
/// deliverable field (email, mobile, or a stage field declared deliverable) withdraws the
/// live code or link: it may have gone to the address that changed, and whoever holds that
/// address now must not be able to use it.
pub fn plan(
    catalog: &FieldCatalog,
    id: &UserId,
    before: Option<&User>,
    doc: PersonDocument,
) -> Result<Plan, Refused> {
    let mut after = before.cloned().unwrap_or_else(|| User::new(id.clone()));
    if let Some(stored) = before.and_then(|b| b.version) {
        let same = doc.version == stored
            && after.first_name == doc.first_name
            && after.fields == doc.fields
            && doc
                .system_user_id
                .is_none_or(|n| after.system_user_id == Some(n));
        if same {
            return Ok(Plan::Unchanged(after));
        }
        if doc.version <= stored {
            return Err(Refused::Stale {
                given: doc.version,
                stored,
            });
        }
    }
    match (after.system_user_id, doc.system_user_id) {
        (Some(stored), Some(given)) if stored != given => {
            return Err(Refused::SystemUserIdFixed { stored })
        }
        (None, given) => after.system_user_id = given,
        _ => {}
    }
    after.version = Some(doc.version);
    after.first_name = doc.first_name;
    after.fields = doc.fields;

    let empty = BTreeMap::new();
    let old = before.map_or(&empty, |b| &b.fields);
    let changed = |name: &FieldName| old.get(name) != after.fields.get(name);
    let touched: BTreeSet<&FieldName> = old.keys().chain(after.fields.keys()).collect();
    if touched
        .iter()
        .any(|name| changed(name) && catalog.get(name).is_ok_and(|s| s.deliverable))
    {
        after.latest_verification = None;
    }
    let moved = [EMAIL, MOBILE]
        .into_iter()
        .filter(|name| changed(&(*name).to_owned()))
        .filter_map(|name| match old.get(name) {
            Some(FieldValue::Email(e)) => Some(Destination::Email(e.clone())),
            Some(FieldValue::Phone(p)) => Some(Destination::Sms(p.clone())),
            _ => None,
        })
        .collect();
    let (index_added, index_removed) = diff(
        catalog.index_keys(old).collect(),
        catalog.index_keys(&after.fields).collect(),
    );
    let (claims_added, claims_removed) = diff(
        catalog.exclusive_keys(old).collect(),
        catalog.exclusive_keys(&after.fields).collect(),
    );
    Ok(Plan::Write(Box::new(PersonWrite {
        before: before.cloned(),
        after,
        index_added,
        index_removed,
        claims_added,
        claims_removed,
        moved,
    })))
}

/// What removing a person takes with them: the person, every index entry and exclusive
/// claim. Their `SystemUserId` stays claimed, so the number is never given to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRemoval {
    pub user: User,
    pub index: Vec<LookupKey>,
    pub claims: Vec<LookupKey>,
}

/// Plans removing `user`; `version`, when the host sends one, must be newer than theirs.
pub fn plan_removal(
    catalog: &FieldCatalog,
    user: &User,
    version: Option<HostVersion>,
) -> Result<PersonRemoval, Refused> {
    if let (Some(given), Some(stored)) = (version, user.version) {
        if given <= stored {
            return Err(Refused::Stale { given, stored });
        }
    }
    Ok(PersonRemoval {
        user: user.clone(),
        index: catalog.index_keys(&user.fields).collect(),
        claims: catalog.exclusive_keys(&user.fields).collect(),
    })
}

/// (in `new` only, in `old` only): each key once, none in both, so no store writes one item
/// twice in a transaction.
fn diff(old: BTreeSet<LookupKey>, new: BTreeSet<LookupKey>) -> (Vec<LookupKey>, Vec<LookupKey>) {
    (
        new.difference(&old).cloned().collect(),
        old.difference(&new).cloned().collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fields::{FieldCatalog, LOCALE, USERNAME};
    use crate::domain::VerificationId;

    fn catalog() -> FieldCatalog {
        FieldCatalog::new(
            FieldCatalog::parse_extra("mx_Member:text:unique,mx_Alt:email:deliverable").unwrap(),
            "US",
        )
    }

    fn doc(version: u64, fields: &[(&str, &str)]) -> PersonDocument {
        PersonDocument::parse(
            &catalog(),
            version,
            Some("Ana"),
            None,
            fields.iter().copied(),
        )
        .unwrap()
    }

    fn written(before: Option<&User>, doc: PersonDocument) -> PersonWrite {
        match plan(&catalog(), &UserId::from_random([1; 16]), before, doc) {
            Ok(Plan::Write(w)) => *w,
            other => panic!("not a write: {other:?}"),
        }
    }

    fn stored(version: u64, fields: &[(&str, &str)]) -> User {
        let mut user = written(None, doc(version, fields)).after;
        user.system_user_id = SystemUserId::new(42).ok();
        user.latest_verification = Some(VerificationId::from_random([2; 16]));
        user.credential_version = 3;
        user
    }

    #[test]
    fn parsing_names_the_field_as_the_caller_spelled_it() {
        let bad = |fields: &[(&str, &str)]| {
            PersonDocument::parse(&catalog(), 1, None, None, fields.iter().copied())
                .unwrap_err()
                .field
        };
        assert_eq!(bad(&[("emailaddress", "not an address")]), "emailaddress");
        assert_eq!(bad(&[("mx_Nope", "x")]), "mx_Nope");
        assert_eq!(bad(&[("Mobile", "12")]), "Mobile");
        assert_eq!(
            bad(&[
                ("EmailAddress", "a@example.com"),
                ("emailaddress", "b@example.com")
            ]),
            "emailaddress"
        );
        let version = |v| PersonDocument::parse(&catalog(), v, None, None, []).map(|d| d.version);
        assert_eq!(version(0).unwrap_err().field, "Version");
        assert_eq!(version(HostVersion::MAX + 1).unwrap_err().field, "Version");
        assert_eq!(version(7).unwrap(), HostVersion::new(7).unwrap());
        let number = PersonDocument::parse(&catalog(), 1, None, Some(0), []).unwrap_err();
        assert_eq!(number.field, "SystemUserId");
    }

    #[test]
    fn a_new_person_gains_an_index_entry_per_unique_field_and_a_claim_per_exclusive_one() {
        let w = written(
            None,
            doc(
                1,
                &[
                    ("EmailAddress", "ana@example.com"),
                    ("mx_Member", "M-1"),
                    ("mx_Alt", "alt@example.com"),
                    (LOCALE, "fr"),
                ],
            ),
        );
        let fields = |keys: &[LookupKey]| {
            keys.iter()
                .map(|k| k.field().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(fields(&w.index_added), ["EmailAddress", "mx_Member"]);
        assert_eq!(fields(&w.claims_added), ["mx_Member"]);
        assert!(w.index_removed.is_empty() && w.claims_removed.is_empty() && w.moved.is_empty());
        assert_eq!(w.after.version, HostVersion::new(1).ok());
        assert_eq!(w.new_number(), None, "drawn by the service");
    }

    #[test]
    fn a_changed_email_moves_the_index_withdraws_the_live_secret_and_tells_the_old_address() {
        let before = stored(1, &[("EmailAddress", "old@example.com"), (USERNAME, "ana")]);
        let w = written(
            Some(&before),
            doc(2, &[("EmailAddress", "new@example.com"), (USERNAME, "ana")]),
        );
        assert_eq!(
            w.index_added,
            [LookupKey::new(
                "EmailAddress",
                &w.after.fields["EmailAddress"]
            )]
        );
        assert_eq!(
            w.index_removed,
            [LookupKey::new(
                "EmailAddress",
                &before.fields["EmailAddress"]
            )]
        );
        assert_eq!(w.after.latest_verification, None);
        assert!(w.withdraws());
        assert_eq!(w.moved.len(), 1);
        assert_eq!(w.moved[0].masked(), "o***@example.com");
        assert_eq!(
            (
                w.after.password_hash.clone(),
                w.after.credential_version,
                w.after.system_user_id
            ),
            (before.password_hash.clone(), 3, before.system_user_id),
            "the credential and the number stay"
        );
    }

    #[test]
    fn a_change_to_no_deliverable_field_keeps_the_live_secret() {
        let before = stored(1, &[("EmailAddress", "ana@example.com"), (LOCALE, "en")]);
        let w = written(
            Some(&before),
            doc(2, &[("EmailAddress", "ana@example.com"), (LOCALE, "fr")]),
        );
        assert_eq!(w.after.latest_verification, before.latest_verification);
        assert!(w.index_added.is_empty() && w.index_removed.is_empty() && w.moved.is_empty());
        let alt = written(
            Some(&before),
            doc(
                2,
                &[
                    ("EmailAddress", "ana@example.com"),
                    ("mx_Alt", "x@example.com"),
                ],
            ),
        );
        assert_eq!(
            alt.after.latest_verification, None,
            "a deliverable extra field changed"
        );
        assert!(alt.moved.is_empty(), "only email and mobile are told");
    }

    #[test]
    fn an_older_or_equal_version_is_refused_unless_it_is_the_same_write_again() {
        let before = stored(5, &[("EmailAddress", "ana@example.com")]);
        let older = plan(&catalog(), &before.id, Some(&before), doc(4, &[]));
        assert!(matches!(older, Err(Refused::Stale { .. })));
        let equal = plan(&catalog(), &before.id, Some(&before), doc(5, &[]));
        assert!(matches!(equal, Err(Refused::Stale { .. })));
        let again = plan(
            &catalog(),
            &before.id,
            Some(&before),
            doc(5, &[("EmailAddress", "ana@example.com")]),
        );
        assert_eq!(again, Ok(Plan::Unchanged(before.clone())));
    }

    #[test]
    fn the_number_is_kept_and_never_changed() {
        let before = stored(1, &[]);
        let mut other = doc(2, &[]);
        other.system_user_id = SystemUserId::new(7).ok();
        assert_eq!(
            plan(&catalog(), &before.id, Some(&before), other),
            Err(Refused::SystemUserIdFixed {
                stored: SystemUserId::new(42).unwrap()
            })
        );
        let mut unnumbered = before.clone();
        unnumbered.system_user_id = None;
        let mut given = doc(2, &[]);
        given.system_user_id = SystemUserId::new(7).ok();
        assert_eq!(
            written(Some(&unnumbered), given).new_number(),
            SystemUserId::new(7).ok()
        );
    }

    #[test]
    fn removal_takes_every_entry_and_claim_and_refuses_an_older_version() {
        let user = stored(
            3,
            &[("EmailAddress", "ana@example.com"), ("mx_Member", "M-1")],
        );
        let removal = plan_removal(&catalog(), &user, None).unwrap();
        assert_eq!(removal.index.len(), 2);
        assert_eq!(removal.claims.len(), 1);
        assert!(plan_removal(&catalog(), &user, HostVersion::new(3).ok()).is_err());
        assert!(plan_removal(&catalog(), &user, HostVersion::new(4).ok()).is_ok());
    }
}
