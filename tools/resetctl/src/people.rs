//! People in bulk: JSON Lines import, and the demo people and keys of the local stack.

use std::io::BufRead;

use futures::stream::{self, StreamExt};
use resetkit::domain::import::UserImport;
use resetkit::domain::{FieldCatalog, UserId};
use resetkit::ports::{ApiKeyStore, OsRandom, RandomSource, StoreError, UserDirectory};
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
    /// `(line number, reason)` for lines that are not a valid person.
    pub rejected: Vec<(usize, String)>,
}

/// Imports one person per line of `jsonl` (the `UserImport` shape) into `directory`, with
/// their identifier index entries. `progress` is told the bytes consumed after each line.
/// Storage failures other than "already exists" stop the import.
pub async fn import_users(
    directory: &impl UserDirectory,
    catalog: &FieldCatalog,
    jsonl: impl BufRead,
    mut progress: impl FnMut(u64),
) -> Result<ImportReport, ImportError> {
    let mut report = ImportReport::default();
    let mut parsed = Vec::new();
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
        let person = serde_json::from_str::<UserImport>(&line)
            .map_err(|e| e.to_string())
            .and_then(|p| {
                p.into_user(catalog, || UserId::from_random(random_bytes()))
                    .map_err(|e| e.to_string())
            });
        match person {
            Ok(person) => parsed.push((line_no, person)),
            Err(reason) => report.rejected.push((line_no, reason)),
        }
    }
    let mut writes = stream::iter(parsed)
        .map(
            |(line, (user, keys))| async move { (line, directory.create_user(&user, &keys).await) },
        )
        .buffer_unordered(CONCURRENT_WRITES);
    while let Some((line, result)) = writes.next().await {
        match result {
            Ok(()) => report.imported += 1,
            Err(StoreError::Duplicate(_)) => report.already_present += 1,
            Err(source) => return Err(ImportError::Store { line, source }),
        }
    }
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

fn random_bytes() -> [u8; 16] {
    let mut b = [0u8; 16];
    OsRandom.fill(&mut b);
    b
}
