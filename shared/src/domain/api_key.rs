//! Callers' credentials: API keys and opaque bearer tokens, stored only as SHA-256.

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};

/// A credential as presented in a request. Keys are high-entropy random strings, so an
/// unkeyed SHA-256 is enough to make the stored form useless to a reader of the table.
pub struct PresentedKey<'a>(pub &'a str);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ApiKeyHash(String);

impl PresentedKey<'_> {
    pub fn hash(&self) -> ApiKeyHash {
        ApiKeyHash(hex::encode(Sha256::digest(self.0.trim().as_bytes())))
    }
}

impl ApiKeyHash {
    pub fn from_hex(s: String) -> Self {
        Self(s)
    }
}

impl AsRef<str> for ApiKeyHash {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Who holds the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// A staff member (employee principal) of the salon/spa back office.
    Employee,
    /// A token issued to a guest: never allowed to reset anyone's password.
    Guest,
    /// A portal's public auth key, embedded in a web page.
    PortalPublic,
    /// An integrator's server-side key.
    Server,
    /// The key the reset page posts with from a browser.
    Browser,
}

impl KeyKind {
    /// A key that many unrelated people present (it sits in a web page): limits count it
    /// per source address too, so no set of addresses can use it up for everyone else.
    pub fn is_shared(self) -> bool {
        matches!(self, KeyKind::PortalPublic | KeyKind::Browser)
    }
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Employee => "employee",
            KeyKind::Guest => "guest",
            KeyKind::PortalPublic => "portal_public",
            KeyKind::Server => "server",
            KeyKind::Browser => "browser",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            KeyKind::Employee,
            KeyKind::Guest,
            KeyKind::PortalPublic,
            KeyKind::Server,
            KeyKind::Browser,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    /// Zenoti's "edit guests": may reset a guest's password.
    GuestsEdit,
    /// May request a forgot-password link.
    ForgotPassword,
    /// May see `LeadId` and `TemporaryPassword` in the forgot-password answer
    /// (an integrator that sends its own mail).
    RevealResetSecret,
    /// May confirm a reset with a code.
    PasswordConfirm,
    /// The host system's people API: create, change and remove people.
    PeopleWrite,
    /// The host system's people API: read a person.
    PeopleRead,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::GuestsEdit => "guests:edit",
            Permission::ForgotPassword => "password:forgot",
            Permission::RevealResetSecret => "password:reveal",
            Permission::PasswordConfirm => "password:confirm",
            Permission::PeopleWrite => "people:write",
            Permission::PeopleRead => "people:read",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Permission::GuestsEdit,
            Permission::ForgotPassword,
            Permission::RevealResetSecret,
            Permission::PasswordConfirm,
            Permission::PeopleWrite,
            Permission::PeopleRead,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }
}

/// A stored credential: its hash, kind, permissions and a label for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub hash: ApiKeyHash,
    /// Non-secret identifier for logs and audit (`key_…`).
    pub key_id: String,
    pub kind: KeyKind,
    pub permissions: BTreeSet<Permission>,
    pub active: bool,
}

impl ApiKeyRecord {
    pub fn allows(&self, p: Permission) -> bool {
        self.active && self.permissions.contains(&p)
    }
}

/// Mints a new key: 256 random bits as the secret, shown once, and the record to store.
pub fn mint(
    kind: KeyKind,
    permissions: BTreeSet<Permission>,
    mut random: impl FnMut(&mut [u8]),
) -> (String, ApiKeyRecord) {
    let mut secret = [0u8; 32];
    random(&mut secret);
    let secret = format!("rk_{}", hex::encode(secret));
    let mut id = [0u8; 6];
    random(&mut id);
    let record = ApiKeyRecord {
        hash: PresentedKey(&secret).hash(),
        key_id: format!("key_{}", hex::encode(id)),
        kind,
        permissions,
        active: true,
    };
    (secret, record)
}
