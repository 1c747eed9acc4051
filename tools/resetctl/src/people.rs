//! People in bulk: JSON Lines import (once, or as upserts under the people API's ordering
//! rule), the demo people and keys of the local stack, one person's two ids, and removing one.

use std::io::BufRead;

use futures::stream::{self, StreamExt};
use resetkit::domain::import::UserImport;
use resetkit::domain::{
    AuditAction, AuditEvent, FieldCatalog, HostVersion, InvalidPerson, SystemUserId, Timestamp,
    User, UserId,
};
use resetkit::ports::{ApiKeyStore, AuditLog, OsRandom, RandomSource, StoreError, UserDirectory};
use resetkit::service::{create_person, remove_in, write_in, Applied, PersonError};
use thiserror::Error;

/// Users written at once: enough to hide round-trip latency, few enough not to be throttled
/// on a new on-demand table.
const CONCURRENT_WRITES: usize = 8;

#[derive(Debug, Error)]
pub enum ImportError {
    #[error("reading line {line}: {source}")]
    Read { line: usize, source: std::io::Error },
    #[error("line {line}: {source}")]
    Store { line: usize, source: StoreError },
}

/// What an import did. A line that does not parse is reported and skipped; the rest go on.
#[derive(Debug, Default)]
pub struct ImportReport {
    pub imported: usize,
    /// Lines whose `id` already exists: left as they are, so an import can be re-run.
    pub already_present: usize,
    /// `(line number, reason)` for lines that are not a valid person, or whose
    /// `system_user_id` another person holds.
    pub rejected: Vec<(usize, String)>,
}

/// Imports one person per line of `jsonl` (the `UserImport` shape) into `directory`, with
/// their identifier index entries and `SystemUserId` (kept when the line gives one, drawn
/// from the OS CSPRNG otherwise). `progress` is told the bytes consumed after each line.
/// Storage failures other than "already exists" and "number taken" stop the import.
pub async fn import_users(
    directory: &impl UserDirectory,
    catalog: &FieldCatalog,
    jsonl: impl BufRead,
    progress: impl FnMut(u64),
) -> Result<ImportReport, ImportError> {
    import_users_with(directory, &OsRandom, catalog, jsonl, progress).await
}

/// `import_users`, drawing numbers from `random`.
pub async fn import_users_with(
    directory: &impl UserDirectory,
    random: &impl RandomSource,
    catalog: &FieldCatalog,
    jsonl: impl BufRead,
    mut progress: impl FnMut(u64),
) -> Result<ImportReport, ImportError> {
    let (parsed, rejected) = parse_lines(jsonl, &mut progress, |line| {
        serde_json::from_str::<UserImport>(line)
            .map_err(|e| e.to_string())
            .and_then(|p| {
                p.into_user(catalog, || UserId::from_random(random_bytes()))
                    .map_err(|e| e.to_string())
            })
    })?;
    let mut report = ImportReport {
        rejected,
        ..ImportReport::default()
    };
    let mut writes = stream::iter(parsed)
        .map(|(line, (user, keys))| async move {
            let given = user.system_user_id.is_some();
            let created = create_person(directory, random, user, &keys).await;
            (line, given, created)
        })
        .buffer_unordered(CONCURRENT_WRITES);
    while let Some((line, given, result)) = writes.next().await {
        match result {
            Ok(_) => report.imported += 1,
            Err(StoreError::Duplicate(_)) => report.already_present += 1,
            // The line's own number: the line is refused, the rest go on. (A drawn number
            // taken again and again is a store problem, below.)
            Err(StoreError::SystemUserIdTaken(number)) if given => report
                .rejected
                .push((line, format!("system_user_id {number} is already taken"))),
            Err(source) => return Err(ImportError::Store { line, source }),
        }
    }
    report.rejected.sort_by_key(|(line, _)| *line);
    Ok(report)
}

/// Loads the demo people and keys of `resetkit::demo`; re-running it changes nothing.
pub async fn seed_demo(
    store: &(impl UserDirectory + ApiKeyStore),
) -> Result<ImportReport, ImportError> {
    let report = import_users(
        store,
        &resetkit::demo::catalog(),
        resetkit::demo::USERS_JSONL.as_bytes(),
        |_| {},
    )
    .await?;
    for key in resetkit::demo::keys() {
        match store.put_key(&key).await {
            Ok(()) | Err(StoreError::Duplicate(_)) => {}
            Err(source) => return Err(ImportError::Store { line: 0, source }),
        }
    }
    Ok(report)
}

/// One person's two ids: contract A's and contract B's 32-hex `user_id`, and contract C's
/// `SystemUserId` (`None` for a person stored before numbers existed, until their next
/// confirm).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonIds {
    pub user_id: UserId,
    pub system_user_id: Option<SystemUserId>,
}

impl std::fmt::Display for PersonIds {
    /// `user_id <hex>` and `SystemUserId <number>` on two lines, as `resetctl ids` prints.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "user_id {}", self.user_id)?;
        match self.system_user_id {
            Some(number) => write!(f, "SystemUserId {number}"),
            None => write!(f, "SystemUserId none yet (assigned at the next confirm)"),
        }
    }
}

#[derive(Debug, Error)]
pub enum IdsError {
    #[error("'{0}' is neither a 32-hex user id nor a SystemUserId")]
    NotAnId(String),
    #[error("no person with id {0}")]
    Unknown(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The ids of the person named by `subject`: their user id or their `SystemUserId`. Key
/// look-ups only.
pub async fn person_ids(
    directory: &impl UserDirectory,
    subject: &str,
) -> Result<PersonIds, IdsError> {
    let user_id = match (UserId::parse(subject), SystemUserId::parse(subject)) {
        (Ok(id), _) => id,
        (_, Ok(number)) => directory
            .find_by_system_user_id(number)
            .await?
            .ok_or_else(|| IdsError::Unknown(subject.to_owned()))?,
        _ => return Err(IdsError::NotAnId(subject.to_owned())),
    };
    let user = directory
        .get_user(&user_id)
        .await?
        .ok_or_else(|| IdsError::Unknown(subject.to_owned()))?;
    Ok(PersonIds {
        user_id: user.id,
        system_user_id: user.system_user_id,
    })
}

/// Lines accepted (number, value) and refused (number, reason).
type Parsed<T> = (Vec<(usize, T)>, Vec<(usize, String)>);

/// The non-blank lines of `jsonl`, numbered from 1, each through `parse`: those it accepts,
/// and those it refuses with its reason. `progress` is told the bytes read after each line.
fn parse_lines<T>(
    jsonl: impl BufRead,
    progress: &mut impl FnMut(u64),
    mut parse: impl FnMut(&str) -> Result<T, String>,
) -> Result<Parsed<T>, ImportError> {
    let (mut parsed, mut refused) = (Vec::new(), Vec::new());
    for (index, line) in jsonl.lines().enumerate() {
        let line_no = index + 1;
        let line = line.map_err(|source| ImportError::Read {
            line: line_no,
            source,
        })?;
        progress(line.len() as u64 + 1);
        if line.trim().is_empty() {
            continue;
        }
        match parse(&line) {
            Ok(value) => parsed.push((line_no, value)),
            Err(reason) => refused.push((line_no, reason)),
        }
    }
    Ok((parsed, refused))
}

fn random_bytes() -> [u8; 16] {
    let mut b = [0u8; 16];
    OsRandom.fill(&mut b);
    b
}

/// What an upsert did: each line created, updated, unchanged (the same version and values
/// were stored), or refused with its reason (bad line, an older version than stored, a
/// value another person holds).
#[derive(Debug, Default)]
pub struct UpsertReport {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub refused: Vec<(usize, String)>,
}

/// `import --upsert`: each line (`id` and `version` required) written as the people API's
/// `PUT` writes it: the same ordering rule (a version not newer than the stored one
/// changes nothing) and the same one transaction for the person and their index entries.
/// No notice goes to a replaced address: an upsert is a bulk sync, and its summary counts
/// what changed. Storage failures stop the import.
pub async fn upsert_users(
    directory: &impl UserDirectory,
    catalog: &FieldCatalog,
    jsonl: impl BufRead,
    mut progress: impl FnMut(u64),
) -> Result<UpsertReport, ImportError> {
    let (parsed, refused) = parse_lines(jsonl, &mut progress, |line| {
        serde_json::from_str::<UserImport>(line)
            .map_err(|e| e.to_string())
            .and_then(|p| p.into_document(catalog).map_err(|e| e.to_string()))
    })?;
    let mut report = UpsertReport {
        refused,
        ..UpsertReport::default()
    };
    let mut writes = stream::iter(parsed)
        .map(|(line, (id, document))| async move {
            (
                line,
                write_in(directory, &OsRandom, catalog, &id, &document).await,
            )
        })
        .buffer_unordered(CONCURRENT_WRITES);
    while let Some((line, result)) = writes.next().await {
        match result {
            Ok(Applied::Unchanged(_)) => report.unchanged += 1,
            Ok(Applied::Written(w)) if w.before.is_none() => report.created += 1,
            Ok(Applied::Written(_)) => report.updated += 1,
            Err(PersonError::Store(source)) => return Err(ImportError::Store { line, source }),
            Err(refused) => report.refused.push((line, refused.to_string())),
        }
    }
    report.refused.sort_by_key(|(line, _)| *line);
    Ok(report)
}

/// `people delete`: the person, their index entries and exclusive claims go (as the people
/// API's `DELETE`), and the removal is audited as the operator's.
pub async fn delete_person(
    store: &(impl UserDirectory + AuditLog),
    catalog: &FieldCatalog,
    id: &str,
    version: Option<HostVersion>,
    now: Timestamp,
) -> Result<User, PersonError> {
    let id = UserId::parse(id).map_err(|e| InvalidPerson::new("id", e))?;
    let user = remove_in(store, catalog, &id, version).await?;
    let mut event = AuditEvent::new(now, AuditAction::PersonDeleted);
    event.user_id = Some(id);
    event.system_user_id = user.system_user_id;
    crate::audit::record_as_operator(store, event).await?;
    Ok(user)
}

#[cfg(test)]
mod tests {
    use resetkit::adapters::memory::MemoryStore;
    use resetkit::testing::CollidingDraws;
    use serde_json::json;

    use super::*;

    fn people(tag: &str, count: usize) -> String {
        (0..count)
            .map(|i| {
                json!({"first_name": "P", "email": format!("{tag}-{i}@example.com")}).to_string()
                    + "\n"
            })
            .collect()
    }

    #[tokio::test]
    async fn two_imports_drawing_the_same_numbers_give_everyone_their_own() {
        let store = MemoryStore::new();
        let catalog = resetkit::demo::catalog();
        let (a, b) = (
            CollidingDraws::counting(),
            CollidingDraws::contested_then_unique(4, 1_000_000),
        );
        let (file_a, file_b) = (people("a", 50), people("b", 50));

        let (ra, rb) = tokio::join!(
            import_users_with(&store, &a, &catalog, file_a.as_bytes(), |_| {}),
            import_users_with(&store, &b, &catalog, file_b.as_bytes(), |_| {}),
        );

        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        assert_eq!((ra.imported, rb.imported), (50, 50), "{ra:?} {rb:?}");
        assert!(a.draws() + b.draws() > 100, "number 1 was contested");
        let mut numbers = std::collections::BTreeSet::new();
        for email in file_a.lines().chain(file_b.lines()).map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["email"]
                .as_str()
                .unwrap()
                .to_owned()
        }) {
            let key = resetkit::domain::LookupKey::new(
                resetkit::domain::fields::EMAIL,
                &resetkit::domain::FieldValue::Email(
                    resetkit::domain::EmailAddress::parse(&email).unwrap(),
                ),
            );
            let ids = store.find_by(&key).await.unwrap();
            let user = store.get_user(&ids[0]).await.unwrap().unwrap();
            let number = user.system_user_id.unwrap();
            assert_eq!(
                store.find_by_system_user_id(number).await.unwrap(),
                Some(user.id)
            );
            numbers.insert(number);
        }
        assert_eq!(numbers.len(), 100, "one number per person");
    }

    #[tokio::test]
    async fn a_given_number_already_taken_refuses_its_line_only() {
        let store = MemoryStore::new();
        let catalog = resetkit::demo::catalog();
        let file = [
            json!({"email": "one@example.com", "system_user_id": 42}),
            json!({"email": "two@example.com", "system_user_id": 42}),
            json!({"email": "three@example.com"}),
            json!({"email": "four@example.com", "system_user_id": 0}),
        ]
        .map(|l| l.to_string() + "\n")
        .concat();

        let report = import_users(&store, &catalog, file.as_bytes(), |_| {})
            .await
            .unwrap();

        assert_eq!(report.imported, 2, "{report:?}");
        assert_eq!(report.rejected.len(), 2, "{report:?}");
        assert_eq!(
            report.rejected[0],
            (2, "system_user_id 42 is already taken".to_owned())
        );
        assert_eq!(report.rejected[1].0, 4, "{report:?}");
        assert!(report.rejected[1].1.contains("system_user_id"));
        let holder = store
            .find_by_system_user_id(SystemUserId::new(42).unwrap())
            .await
            .unwrap()
            .unwrap();
        let ids = person_ids(&store, "42").await.unwrap();
        assert_eq!(ids.user_id, holder);
        assert_eq!(
            person_ids(&store, holder.as_ref())
                .await
                .unwrap()
                .to_string(),
            format!("user_id {holder}\nSystemUserId 42")
        );
        assert!(matches!(
            person_ids(&store, "43").await,
            Err(IdsError::Unknown(_))
        ));
        assert!(matches!(
            person_ids(&store, "ana").await,
            Err(IdsError::NotAnId(_))
        ));
    }

    fn lines(values: &[serde_json::Value]) -> String {
        values.iter().map(|l| l.to_string() + "\n").collect()
    }

    #[tokio::test]
    async fn an_upsert_creates_updates_keeps_and_refuses_by_the_hosts_version() {
        let store = MemoryStore::new();
        let catalog = resetkit::demo::catalog();
        let (a, b) = ("0a".repeat(16), "0b".repeat(16));
        let first = lines(&[
            json!({"id": a, "version": 2, "email": "a@example.com"}),
            json!({"id": b, "version": 1, "email": "b@example.com"}),
            json!({"email": "no-id@example.com", "version": 1}),
        ]);
        let report = upsert_users(&store, &catalog, first.as_bytes(), |_| {})
            .await
            .unwrap();
        assert_eq!(
            (report.created, report.updated, report.unchanged),
            (2, 0, 0)
        );
        assert_eq!(report.refused.len(), 1);
        assert!(report.refused[0].1.contains("id"), "{:?}", report.refused);

        let second = lines(&[
            json!({"id": a, "version": 1, "email": "older@example.com"}),
            json!({"id": b, "version": 1, "email": "b@example.com"}),
            json!({"id": b, "version": 3, "email": "b.new@example.com"}),
            json!({"id": a, "version": 3}),
        ]);
        let report = upsert_users(&store, &catalog, second.as_bytes(), |_| {})
            .await
            .unwrap();
        assert_eq!(
            (
                report.created,
                report.updated,
                report.unchanged,
                report.refused.len()
            ),
            (0, 2, 1, 1),
            "{report:?}"
        );
        assert_eq!(report.refused[0].0, 1, "the older version is refused");
        let b_user = store
            .get_user(&UserId::parse(&b).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            b_user.email().map(|e| e.as_ref().to_owned()),
            Some("b.new@example.com".into())
        );
        let found = store
            .find_by(&resetkit::domain::LookupKey::new(
                "EmailAddress",
                &catalog
                    .parse_value(catalog.get("EmailAddress").unwrap(), "b@example.com")
                    .unwrap(),
            ))
            .await
            .unwrap();
        assert!(found.is_empty(), "the old email's index entry is gone");
    }

    #[tokio::test]
    async fn a_deleted_person_is_gone_and_the_removal_audited() {
        let store = MemoryStore::new();
        let catalog = resetkit::demo::catalog();
        let id = "0c".repeat(16);
        let file = lines(&[json!({"id": id, "version": 5, "email": "c@example.com"})]);
        upsert_users(&store, &catalog, file.as_bytes(), |_| {})
            .await
            .unwrap();
        let now = Timestamp::from_unix_seconds(1_800_000_000);
        let older = delete_person(&store, &catalog, &id, HostVersion::new(4).ok(), now).await;
        assert!(matches!(older, Err(PersonError::Refused(_))), "{older:?}");
        delete_person(&store, &catalog, &id, None, now)
            .await
            .unwrap();
        let user_id = UserId::parse(&id).unwrap();
        assert_eq!(store.get_user(&user_id).await.unwrap(), None);
        let events = store.user_events(&user_id).await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event.action, AuditAction::PersonDeleted);
        assert_eq!(events[0].event.actor.as_deref(), Some("resetctl"));
    }
}
