//! API keys: minted here, shown once, stored only as their hash.

use std::collections::BTreeSet;

use resetkit::domain::api_key::mint;
use resetkit::domain::{KeyKind, Permission};
use resetkit::ports::{ApiKeyStore, OsRandom, RandomSource, StoreError};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum KeyError {
    #[error("unknown key kind '{0}' (one of: employee, guest, portal_public, server, browser)")]
    Kind(String),
    #[error("unknown permission '{0}' (one of: guests:edit, password:forgot, password:reveal, password:confirm)")]
    Permission(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A key just minted: the secret to hand over (never stored) and its public id.
pub struct MintedKey {
    pub secret: String,
    pub key_id: String,
}

/// Mints a key of `kind` with `permissions` (by their wire names) and stores its hash.
pub async fn mint_key(
    store: &impl ApiKeyStore,
    kind: &str,
    permissions: &[String],
) -> Result<MintedKey, KeyError> {
    let kind = KeyKind::parse(kind).ok_or_else(|| KeyError::Kind(kind.to_owned()))?;
    let permissions = permissions
        .iter()
        .map(|p| Permission::parse(p).ok_or_else(|| KeyError::Permission(p.clone())))
        .collect::<Result<BTreeSet<_>, _>>()?;
    let (secret, record) = mint(kind, permissions, |buf| OsRandom.fill(buf));
    store.put_key(&record).await?;
    Ok(MintedKey {
        secret,
        key_id: record.key_id,
    })
}
