//! `resetctl keys`: API keys minted here, shown once and stored only as their hash; listed,
//! revoked and rotated by their public id. Nothing here prints a hash, and a secret only
//! when it is minted.
//!
//! A revocation reaches the functions through their key cache: a warm sandbox that read a
//! key trusts what it read for `RESETKIT_KEY_CACHE_SECONDS` (30 s by default), so a revoked
//! key is refused everywhere within that delay. A rotation's old key stops exactly at the
//! moment printed when the grace is at least that long.

use std::collections::BTreeSet;
use std::fmt;
use std::io::Write;
use std::time::Duration;

use clap::Subcommand;
use resetkit::domain::api_key::mint;
use resetkit::domain::{ApiKeyRecord, KeyKind, Permission, Timestamp};
use resetkit::ports::{ApiKeyStore, Clock, OsRandom, RandomSource, StoreError, SystemClock};
use thiserror::Error;

use crate::deliveries::utc;

/// A rotation's default grace: a day for every holder of the old key to switch.
pub const DEFAULT_GRACE_SECS: u64 = 86_400;

#[derive(Debug, Error)]
pub enum KeyError {
    #[error("unknown key kind '{0}' (one of: employee, guest, portal_public, server, browser)")]
    Kind(String),
    #[error("unknown permission '{0}' (one of: guests:edit, password:forgot, password:reveal, password:confirm)")]
    Permission(String),
    #[error("no key has the id '{0}' (see `resetctl keys list`)")]
    Unknown(String),
    #[error("key {0} is already revoked: there is nothing to rotate")]
    AlreadyRevoked(String),
    /// The successor is stored but the old key's revocation is not: the old key still
    /// works. The successor's secret travels with the error, so it is not lost.
    #[error(
        "minted {} to succeed {old}, but could not schedule {old}'s revocation (it still works; \
         run `resetctl keys revoke {old}` once its holders have switched)",
        .successor.key_id
    )]
    RotationIncomplete {
        old: String,
        successor: MintedKey,
        #[source]
        source: StoreError,
    },
    #[error("writing the output: {0}")]
    Output(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `Missing` from the store names the key the operator asked for.
fn by_id(key_id: &str) -> impl FnOnce(StoreError) -> KeyError + '_ {
    move |e| match e {
        StoreError::Missing(_) => KeyError::Unknown(key_id.to_owned()),
        e => KeyError::Store(e),
    }
}

/// A key just minted: the secret to hand over (never stored) and its public id.
pub struct MintedKey {
    pub secret: String,
    pub key_id: String,
}

/// Without the secret: errors carrying a key get logged and printed.
impl fmt::Debug for MintedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MintedKey")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// Mints a key of `kind` with `permissions` (by their wire names), created now by the
/// system clock, and stores its hash.
pub async fn mint_key(
    store: &impl ApiKeyStore,
    kind: &str,
    permissions: &[String],
) -> Result<MintedKey, KeyError> {
    mint_named(store, kind, permissions, SystemClock.now()).await
}

async fn mint_named(
    store: &impl ApiKeyStore,
    kind: &str,
    permissions: &[String],
    now: Timestamp,
) -> Result<MintedKey, KeyError> {
    let kind = KeyKind::parse(kind).ok_or_else(|| KeyError::Kind(kind.to_owned()))?;
    let permissions = permissions
        .iter()
        .map(|p| Permission::parse(p).ok_or_else(|| KeyError::Permission(p.clone())))
        .collect::<Result<BTreeSet<_>, _>>()?;
    mint_at(store, kind, permissions, now).await
}

async fn mint_at(
    store: &impl ApiKeyStore,
    kind: KeyKind,
    permissions: BTreeSet<Permission>,
    now: Timestamp,
) -> Result<MintedKey, KeyError> {
    let (secret, record) = mint(kind, permissions, now, |buf| OsRandom.fill(buf));
    store.put_key(&record).await?;
    Ok(MintedKey {
        secret,
        key_id: record.key_id,
    })
}

/// Every key, oldest first (keys stored before creation times were recorded lead), then
/// by id.
pub async fn list_keys(store: &impl ApiKeyStore) -> Result<Vec<ApiKeyRecord>, KeyError> {
    let mut keys = store.list_keys().await?;
    keys.sort_by(|a, b| (a.created_at, &a.key_id).cmp(&(b.created_at, &b.key_id)));
    Ok(keys)
}

/// Revokes the key `key_id` at `now`; returns it as stored.
pub async fn revoke_key(
    store: &impl ApiKeyStore,
    key_id: &str,
    now: Timestamp,
) -> Result<ApiKeyRecord, KeyError> {
    store
        .schedule_revocation(key_id, now, now)
        .await
        .map_err(by_id(key_id))
}

/// What `rotate_key` did.
#[derive(Debug)]
pub struct Rotation {
    pub successor: MintedKey,
    pub old_key_id: String,
    /// When the old key stops working: `now + grace`, or an earlier revocation the old key
    /// already had (a revocation is never postponed).
    pub old_stops_at: Timestamp,
}

/// Mints a successor to `key_id` with its kind and permissions, then schedules the old
/// key's revocation `grace` after `now`. The successor is stored first: if the second
/// write fails, the old key still works and the successor's secret comes back in
/// `KeyError::RotationIncomplete`. A key already revoked is not rotated.
pub async fn rotate_key(
    store: &impl ApiKeyStore,
    key_id: &str,
    grace: Duration,
    now: Timestamp,
) -> Result<Rotation, KeyError> {
    let old = store
        .list_keys()
        .await?
        .into_iter()
        .find(|k| k.key_id == key_id)
        .ok_or_else(|| KeyError::Unknown(key_id.to_owned()))?;
    if !old.is_usable(now) {
        return Err(KeyError::AlreadyRevoked(old.key_id));
    }
    let successor = mint_at(store, old.kind, old.permissions.clone(), now).await?;
    match store
        .schedule_revocation(key_id, now.plus(grace), now)
        .await
    {
        Ok(revoked) => Ok(Rotation {
            successor,
            old_key_id: revoked.key_id,
            // `revoked` sets it; `now` would only be reached by a store breaking the contract.
            old_stops_at: revoked.revoke_at.unwrap_or(now),
        }),
        Err(source) => Err(KeyError::RotationIncomplete {
            old: key_id.to_owned(),
            successor,
            source,
        }),
    }
}

/// The keys as `keys list` prints them: one line each, aligned; ids, never hashes.
pub struct KeyTable<'a> {
    pub keys: &'a [ApiKeyRecord],
    pub now: Timestamp,
}

impl fmt::Display for KeyTable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: Vec<[String; 5]> = self
            .keys
            .iter()
            .map(|k| {
                let permissions = k
                    .permissions
                    .iter()
                    .map(|p| p.as_str())
                    .collect::<Vec<_>>()
                    .join(",");
                [
                    k.key_id.clone(),
                    k.kind.as_str().to_owned(),
                    if permissions.is_empty() {
                        "-".to_owned()
                    } else {
                        permissions
                    },
                    k.created_at.map_or_else(|| "-".to_owned(), utc),
                    state(k, self.now),
                ]
            })
            .collect();
        let header = ["ID", "KIND", "PERMISSIONS", "CREATED", "STATE"].map(str::to_owned);
        let mut widths = [0; 5];
        for row in std::iter::once(&header).chain(&rows) {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.len());
            }
        }
        for row in std::iter::once(&header).chain(&rows) {
            let line = row
                .iter()
                .zip(widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect::<Vec<_>>()
                .join("  ");
            writeln!(f, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

/// `active`, `revokes <when>` (a rotation's grace running), `revoked <when>`, or
/// `inactive` (switched off without a moment, by hand or by an older resetctl).
fn state(k: &ApiKeyRecord, now: Timestamp) -> String {
    match (k.is_usable(now), k.revoke_at) {
        (true, None) => "active".to_owned(),
        (true, Some(at)) => format!("revokes {}", utc(at)),
        (false, Some(at)) if at <= now => format!("revoked {}", utc(at)),
        (false, _) => "inactive".to_owned(),
    }
}

/// `resetctl keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Mint a key: the secret is printed once and only its hash is stored.
    Mint {
        #[arg(long)]
        prefix: String,
        /// employee, guest, portal_public, server or browser.
        #[arg(long)]
        kind: String,
        /// guests:edit, password:forgot, password:reveal or password:confirm; repeatable.
        #[arg(long = "permission")]
        permissions: Vec<String>,
    },
    /// Every key: id, kind, permissions, when it was created, and whether it works (or
    /// when it stops). Never a secret or a hash.
    List {
        #[arg(long)]
        prefix: String,
    },
    /// Revoke a key now. Functions that read it recently refuse it within
    /// RESETKIT_KEY_CACHE_SECONDS (30 s by default).
    Revoke {
        #[arg(long)]
        prefix: String,
        /// The key's id (`key_…`), as `keys list` shows it.
        id: String,
    },
    /// Mint a successor with the key's kind and permissions (its secret printed once), and
    /// revoke the old key when the grace ends.
    Rotate {
        #[arg(long)]
        prefix: String,
        /// The key's id (`key_…`), as `keys list` shows it.
        id: String,
        /// Seconds the old key keeps working alongside the new one.
        #[arg(long, default_value_t = DEFAULT_GRACE_SECS)]
        grace: u64,
    },
}

impl KeysCommand {
    /// The stage's table prefix, which every key command names.
    pub fn prefix(&self) -> &str {
        match self {
            Self::Mint { prefix, .. }
            | Self::List { prefix }
            | Self::Revoke { prefix, .. }
            | Self::Rotate { prefix, .. } => prefix,
        }
    }
}

/// Runs `command` on `store` at `now`, writing what the operator reads to `out` and notes
/// to stderr. A minted secret is written once, to `out`.
pub async fn run(
    store: &impl ApiKeyStore,
    command: KeysCommand,
    now: Timestamp,
    out: &mut impl Write,
) -> Result<(), KeyError> {
    match command {
        KeysCommand::Mint {
            kind, permissions, ..
        } => {
            let key = mint_named(store, &kind, &permissions, now).await?;
            print_minted(out, &key)?;
        }
        KeysCommand::List { .. } => {
            let keys = list_keys(store).await?;
            write!(out, "{}", KeyTable { keys: &keys, now })?;
        }
        KeysCommand::Revoke { id, .. } => {
            let key = revoke_key(store, &id, now).await?;
            let at = key.revoke_at.unwrap_or(now);
            writeln!(out, "{} revoked at {}", key.key_id, utc(at))?;
            eprintln!(
                "Functions that read it recently refuse it within RESETKIT_KEY_CACHE_SECONDS \
                 (30 s by default)."
            );
        }
        KeysCommand::Rotate { id, grace, .. } => {
            match rotate_key(store, &id, Duration::from_secs(grace), now).await {
                Ok(rotation) => {
                    print_minted(out, &rotation.successor)?;
                    writeln!(
                        out,
                        "{} stops working at {} (in {} s)",
                        rotation.old_key_id,
                        utc(rotation.old_stops_at),
                        now.seconds_until(rotation.old_stops_at)
                    )?;
                }
                Err(KeyError::RotationIncomplete {
                    old,
                    successor,
                    source,
                }) => {
                    // The successor exists: its secret must reach the operator regardless.
                    print_minted(out, &successor)?;
                    return Err(KeyError::RotationIncomplete {
                        old,
                        successor,
                        source,
                    });
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

fn print_minted(out: &mut impl Write, key: &MintedKey) -> Result<(), KeyError> {
    writeln!(out, "key id: {}", key.key_id)?;
    writeln!(out, "secret: {}", key.secret)?;
    eprintln!("The secret is shown only now; only its hash is stored.");
    Ok(())
}

#[cfg(test)]
mod tests {
    use resetkit::adapters::memory::MemoryStore;
    use resetkit::domain::PresentedKey;

    use super::*;

    const T0: Timestamp = Timestamp::from_unix_seconds(1_800_000_000);

    async fn output(store: &MemoryStore, command: KeysCommand, now: Timestamp) -> String {
        let mut out = Vec::new();
        run(store, command, now, &mut out)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        String::from_utf8(out).unwrap_or_else(|e| panic!("{e}"))
    }

    fn prefix() -> String {
        "resetkit-test-".into()
    }

    #[tokio::test]
    async fn a_rotation_keeps_kind_and_permissions_and_schedules_the_old_keys_end() {
        let store = MemoryStore::new();
        let old = mint_at(
            &store,
            KeyKind::Server,
            [Permission::ForgotPassword, Permission::RevealResetSecret].into(),
            T0,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let now = T0.plus(Duration::from_secs(100));

        let rotation = rotate_key(&store, &old.key_id, Duration::from_secs(60), now)
            .await
            .unwrap_or_else(|e| panic!("{e}"));

        assert_eq!(rotation.old_stops_at, now.plus(Duration::from_secs(60)));
        let new = store
            .find_key(&PresentedKey(&rotation.successor.secret).hash())
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("the successor is stored"));
        let was = store
            .find_key(&PresentedKey(&old.secret).hash())
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("the old key is kept"));
        assert_eq!((new.kind, &new.permissions), (was.kind, &was.permissions));
        assert_eq!(new.created_at, Some(now));
        assert!(new.revoke_at.is_none() && new.is_usable(now));
        assert_eq!(was.revoke_at, Some(rotation.old_stops_at));
        assert!(was.is_usable(now) && was.active);
    }

    #[tokio::test]
    async fn unknown_and_revoked_keys_are_named_as_such() {
        let store = MemoryStore::new();
        assert!(matches!(
            revoke_key(&store, "key_nobody", T0).await,
            Err(KeyError::Unknown(id)) if id == "key_nobody"
        ));
        assert!(matches!(
            rotate_key(&store, "key_nobody", Duration::ZERO, T0).await,
            Err(KeyError::Unknown(_))
        ));
        let key = mint_at(&store, KeyKind::Browser, BTreeSet::new(), T0)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        revoke_key(&store, &key.key_id, T0)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            rotate_key(&store, &key.key_id, Duration::ZERO, T0).await,
            Err(KeyError::AlreadyRevoked(_))
        ));
        assert_eq!(
            store.list_keys().await.map(|k| k.len()).ok(),
            Some(1),
            "no successor minted"
        );
    }

    #[tokio::test]
    async fn the_listing_shows_each_keys_state_and_never_a_secret_or_hash() {
        // Arrange: an active key, one being rotated out, one revoked, one switched off by
        // hand before keys had creation times.
        let store = MemoryStore::new();
        let mint =
            |kind, perms: &[Permission]| mint_at(&store, kind, perms.iter().copied().collect(), T0);
        let active = mint(KeyKind::Employee, &[Permission::GuestsEdit]).await;
        let rotated = mint(KeyKind::PortalPublic, &[Permission::ForgotPassword]).await;
        let revoked = mint(KeyKind::Browser, &[Permission::PasswordConfirm]).await;
        let (active, rotated, revoked) = (
            active.unwrap_or_else(|e| panic!("{e}")),
            rotated.unwrap_or_else(|e| panic!("{e}")),
            revoked.unwrap_or_else(|e| panic!("{e}")),
        );
        let legacy = ApiKeyRecord {
            hash: PresentedKey("rk_legacy").hash(),
            key_id: "key_legacy".into(),
            kind: KeyKind::Server,
            permissions: BTreeSet::new(),
            active: false,
            created_at: None,
            revoke_at: None,
        };
        store
            .put_key(&legacy)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let now = T0.plus(Duration::from_secs(3_600));
        let rotation = output(
            &store,
            KeysCommand::Rotate {
                prefix: prefix(),
                id: rotated.key_id.clone(),
                grace: 60,
            },
            now,
        )
        .await;
        let revocation = output(
            &store,
            KeysCommand::Revoke {
                prefix: prefix(),
                id: revoked.key_id.clone(),
            },
            now,
        )
        .await;

        // Act
        let table = output(&store, KeysCommand::List { prefix: prefix() }, now).await;

        // Assert
        let line = |id: &str| {
            table
                .lines()
                .find(|l| l.starts_with(id))
                .unwrap_or_else(|| panic!("{id} in:\n{table}"))
                .split_whitespace()
                .collect::<Vec<_>>()
        };
        assert_eq!(
            line(&active.key_id),
            [
                active.key_id.as_str(),
                "employee",
                "guests:edit",
                "2027-01-15T08:00:00Z",
                "active"
            ]
        );
        assert_eq!(
            line(&rotated.key_id)[4..],
            ["revokes", "2027-01-15T09:01:00Z"]
        );
        assert_eq!(
            line(&revoked.key_id)[4..],
            ["revoked", "2027-01-15T09:00:00Z"]
        );
        assert_eq!(
            line("key_legacy"),
            ["key_legacy", "server", "-", "-", "inactive"]
        );
        assert_eq!(table.lines().count(), 1 + 5, "a header and five keys");
        assert!(
            rotation.contains(&format!(
                "{} stops working at 2027-01-15T09:01:00Z (in 60 s)",
                rotated.key_id
            )),
            "{rotation}"
        );
        assert_eq!(
            revocation,
            format!("{} revoked at 2027-01-15T09:00:00Z\n", revoked.key_id)
        );
        let successor_secret = rotation
            .lines()
            .find_map(|l| l.strip_prefix("secret: "))
            .unwrap_or_else(|| panic!("the successor's secret, once: {rotation}"));
        for key in store.list_keys().await.unwrap_or_else(|e| panic!("{e}")) {
            assert!(!table.contains(key.hash.as_ref()), "{table}");
            assert!(!revocation.contains(key.hash.as_ref()));
            assert!(!rotation.contains(key.hash.as_ref()));
        }
        for secret in [
            active.secret.as_str(),
            &rotated.secret,
            &revoked.secret,
            successor_secret,
        ] {
            assert!(!table.contains(secret), "{table}");
        }
        assert!(!revocation.contains("rk_"));
    }
}
