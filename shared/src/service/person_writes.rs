//! The people API's use cases: the host system creates, replaces, patches, removes and
//! reads the people resetkit resets.
//!
//! A write is planned from the person as read (`domain::person::plan`) and applied only if
//! they are still as read; when another write came first, it is planned again from what
//! that one left, so of concurrent writes the newest version ends up stored and an older
//! one is refused as stale, whatever order they arrive in.

use thiserror::Error;

use super::{Caller, Resetkit};
use crate::domain::message::Destination;
use crate::domain::{
    person, AuditAction, Endpoint, FieldCatalog, FieldName, HostVersion, InvalidPerson,
    PersonDocument, PersonWrite, Plan, Refused, SystemUserId, Task, Timestamp, User, UserId,
};
use crate::ports::{
    Clock, DeliveryQueue, Metric, Metrics, PersonConflict, RandomSource, Store, StoreError,
    UserDirectory,
};

/// Plans per write before giving up: each lost race means another write to the same person
/// applied, so this many concurrent writers to one person still all get an answer.
pub const WRITE_TRIES: usize = 32;

/// What a write sets the person to, from the person as stored (`None`: not stored): a
/// whole document (`PUT`), or a patch of the stored one (`PATCH`).
pub trait PersonEdit {
    fn document(&self, stored: Option<&User>) -> Result<PersonDocument, PersonError>;
}

/// A replacement is the same document whatever is stored.
impl PersonEdit for PersonDocument {
    fn document(&self, _: Option<&User>) -> Result<PersonDocument, PersonError> {
        Ok(self.clone())
    }
}

#[derive(Debug, Error)]
pub enum PersonError {
    #[error(transparent)]
    Invalid(#[from] InvalidPerson),
    #[error("no such person")]
    NotFound,
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error("{0} is held by another person")]
    FieldTaken(FieldName),
    #[error("SystemUserId {0} is already taken")]
    SystemUserIdTaken(SystemUserId),
    /// Other writes to the person kept coming first.
    #[error("the person kept changing while this write was applied; send it again")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A write's outcome: the person as stored afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonWritten {
    pub user: User,
    pub created: bool,
    /// `false` when the same write had already applied.
    pub changed: bool,
}

/// A person as the host may read them back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonView {
    pub user: User,
    /// When their password was last changed by a reset, if the audit still holds it.
    pub last_reset: Option<Timestamp>,
    /// Their addresses resetkit sends nothing to (a hard bounce or a complaint), masked.
    pub suppressed: Vec<String>,
}

impl<S: Store, Q: DeliveryQueue, C: Clock, R: RandomSource, M: Metrics> Resetkit<S, Q, C, R, M> {
    /// Creates or changes person `id` by `edit`, under the ordering rule of the host's
    /// version. A change of email or mobile withdraws the live code or link and queues a
    /// notice to each old address.
    pub async fn write_person(
        &self,
        caller: &Caller,
        id: &UserId,
        edit: &impl PersonEdit,
    ) -> Result<PersonWritten, PersonError> {
        match write_in(&self.store, &self.random, &self.settings.fields, id, edit).await? {
            Applied::Unchanged(user) => Ok(PersonWritten {
                user,
                created: false,
                changed: false,
            }),
            Applied::Written(write) => Ok(self.written(caller, *write).await),
        }
    }

    /// Removes person `id` with their index entries, under the ordering rule when the host
    /// sends a version. Their live code or link stops working with them; audit events stay.
    pub async fn remove_person(
        &self,
        caller: &Caller,
        id: &UserId,
        version: Option<HostVersion>,
    ) -> Result<(), PersonError> {
        let user = remove_in(&self.store, &self.settings.fields, id, version).await?;
        let origin = caller.origin();
        let mut event = self.audit_event(&origin, AuditAction::PersonDeleted, Some(id));
        event.system_user_id = user.system_user_id;
        self.audit(event).await;
        self.count(Endpoint::People, Metric::PersonDeleted);
        Ok(())
    }

    /// Person `id`, with their last reset and suppressed addresses.
    pub async fn person(&self, id: &UserId) -> Result<PersonView, PersonError> {
        let user = self
            .store
            .get_user(id)
            .await?
            .ok_or(PersonError::NotFound)?;
        let last_reset = self
            .store
            .user_events(id)
            .await?
            .iter()
            .filter(|e| e.event.action == AuditAction::PasswordChanged)
            .map(|e| e.event.at)
            .max();
        let mut suppressed = Vec::new();
        let addresses = [
            user.email().cloned().map(Destination::Email),
            user.mobile().cloned().map(Destination::Sms),
        ];
        for to in addresses.into_iter().flatten() {
            if self.is_suppressed(&to).await? {
                suppressed.push(to.masked());
            }
        }
        Ok(PersonView {
            user,
            last_reset,
            suppressed,
        })
    }

    /// The person holding `number`, if anyone does.
    pub async fn person_by_number(&self, number: SystemUserId) -> Result<PersonView, PersonError> {
        let id = self
            .store
            .find_by_system_user_id(number)
            .await?
            .ok_or(PersonError::NotFound)?;
        self.person(&id).await
    }

    /// After a write applied: its audit event, and a notice to each old address (best
    /// effort: the change stands either way, and a notice not queued is audited).
    async fn written(&self, caller: &Caller, write: PersonWrite) -> PersonWritten {
        let origin = caller.origin();
        let created = write.before.is_none();
        let detail = match (created, write.withdraws()) {
            (true, _) => "created",
            (false, false) => "updated",
            (false, true) => "updated:withdrawn",
        };
        let mut event =
            self.audit_event(&origin, AuditAction::PersonChanged, Some(&write.after.id));
        event.system_user_id = write.after.system_user_id;
        self.audit(event.detail(detail)).await;
        self.count(Endpoint::People, Metric::PersonChanged);
        for old in write.moved {
            let (channel, masked) = (old.channel(), old.masked());
            let task = Task::ContactChanged {
                user: write.after.id.clone(),
                old,
            };
            if let Err(e) = self.enqueue(origin.clone(), task).await {
                tracing::warn!(error = %e, "contact-changed notice not queued");
                self.count(Endpoint::People, Metric::Unqueued);
                let mut event =
                    self.audit_event(&origin, AuditAction::SendFailed, Some(&write.after.id));
                event.channel = Some(channel);
                event.destination = Some(masked);
                self.audit(event.detail("contact_changed_notice")).await;
            }
        }
        PersonWritten {
            user: write.after,
            created,
            changed: true,
        }
    }
}

/// What `write_in` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The same version with the same content was already stored.
    Unchanged(User),
    Written(Box<PersonWrite>),
}

/// Writes person `id` by `edit` into `directory`: planned from the person as read, applied
/// only if they are still as read, planned again from what another write left when one came
/// first. The one place of the ordering rule, for the people API and `resetctl import
/// --upsert` alike; what a write then causes (audit, notices) is the caller's.
pub async fn write_in<D: UserDirectory, R: RandomSource>(
    directory: &D,
    random: &R,
    catalog: &FieldCatalog,
    id: &UserId,
    edit: &impl PersonEdit,
) -> Result<Applied, PersonError> {
    for _ in 0..WRITE_TRIES {
        let stored = directory.get_user(id).await?;
        let document = edit.document(stored.as_ref())?;
        let write = match person::plan(catalog, id, stored.as_ref(), document)? {
            Plan::Unchanged(user) => return Ok(Applied::Unchanged(user)),
            Plan::Write(write) => *write,
        };
        match apply(directory, random, write).await {
            Ok(write) => return Ok(Applied::Written(Box::new(write))),
            Err(PersonConflict::Raced) => continue,
            Err(PersonConflict::FieldTaken(field)) => return Err(PersonError::FieldTaken(field)),
            Err(PersonConflict::SystemUserIdTaken(n)) => {
                return Err(PersonError::SystemUserIdTaken(n))
            }
            Err(PersonConflict::Store(e)) => return Err(e.into()),
        }
    }
    Err(PersonError::Busy)
}

/// Applies `write`, drawing the person's `SystemUserId` when they have none yet (as
/// `create_person` does: again while the drawn number is taken).
async fn apply<D: UserDirectory, R: RandomSource>(
    directory: &D,
    random: &R,
    mut write: PersonWrite,
) -> Result<PersonWrite, PersonConflict> {
    if write.after.system_user_id.is_some() {
        return directory.write_person(&write).await.map(|()| write);
    }
    let mut taken = None;
    for _ in 0..super::SYSTEM_USER_ID_DRAWS {
        let mut bytes = [0u8; 4];
        random.fill(&mut bytes);
        write.after.system_user_id = Some(SystemUserId::from_random(bytes));
        match directory.write_person(&write).await {
            Err(PersonConflict::SystemUserIdTaken(n)) => taken = Some(n),
            other => return other.map(|()| write),
        }
    }
    Err(taken.map_or(PersonConflict::Raced, PersonConflict::SystemUserIdTaken))
}

/// Removes person `id` from `directory` with their index entries and exclusive claims,
/// under the ordering rule when `version` is given; returns them as they were. Planned
/// again when another write came first.
pub async fn remove_in<D: UserDirectory>(
    directory: &D,
    catalog: &FieldCatalog,
    id: &UserId,
    version: Option<HostVersion>,
) -> Result<User, PersonError> {
    for _ in 0..WRITE_TRIES {
        let user = directory.get_user(id).await?.ok_or(PersonError::NotFound)?;
        let removal = person::plan_removal(catalog, &user, version)?;
        match directory.remove_person(&removal).await {
            Ok(()) => return Ok(user),
            Err(PersonConflict::Raced) => continue,
            Err(PersonConflict::Store(e)) => return Err(e.into()),
            // A removal claims nothing.
            Err(e @ (PersonConflict::FieldTaken(_) | PersonConflict::SystemUserIdTaken(_))) => {
                return Err(StoreError::Corrupt(e.to_string()).into())
            }
        }
    }
    Err(PersonError::Busy)
}
