//! Callers' credentials: API keys and opaque bearer tokens, stored only as SHA-256.

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};

use super::Timestamp;

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
    /// When the key was minted; `None` for keys stored before this was recorded.
    pub created_at: Option<Timestamp>,
    /// From this moment on the key is refused exactly as an inactive one is: the end of a
    /// rotation's grace, or the moment it was revoked.
    pub revoke_at: Option<Timestamp>,
}

impl ApiKeyRecord {
    /// Whether the key may be used at all at `now`: active, and not at or past its
    /// `revoke_at`. The one rule every caller of a key goes through.
    pub fn is_usable(&self, now: Timestamp) -> bool {
        self.active && self.revoke_at.is_none_or(|at| now < at)
    }

    pub fn allows(&self, p: Permission, now: Timestamp) -> bool {
        self.is_usable(now) && self.permissions.contains(&p)
    }

    /// This key with its revocation due at `at`, as `ApiKeyStore::schedule_revocation`
    /// stores it. A revocation is never postponed: a key already due earlier keeps its
    /// moment (a second rotation cannot stretch the first one's grace). A key whose
    /// revocation is due by `now` is also made inactive, so that a reader that knows only
    /// `active` (an older function version during a deploy, an operator reading the table)
    /// refuses it too.
    pub fn revoked(mut self, at: Timestamp, now: Timestamp) -> Self {
        let at = self.revoke_at.map_or(at, |earlier| earlier.min(at));
        self.revoke_at = Some(at);
        if at <= now {
            self.active = false;
        }
        self
    }
}

/// Mints a new key at `now`: 256 random bits as the secret, shown once, and the record to
/// store.
pub fn mint(
    kind: KeyKind,
    permissions: BTreeSet<Permission>,
    now: Timestamp,
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
        created_at: Some(now),
        revoke_at: None,
    };
    (secret, record)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp::from_unix_seconds(1_800_000_000);

    fn at(offset: u64) -> Timestamp {
        Timestamp::from_unix_seconds(T0.unix_seconds() + offset)
    }

    fn minted() -> ApiKeyRecord {
        let mut n = 0u8;
        mint(
            KeyKind::Server,
            [Permission::ForgotPassword].into(),
            T0,
            |buf| {
                for b in buf {
                    n = n.wrapping_add(1);
                    *b = n;
                }
            },
        )
        .1
    }

    #[test]
    fn a_minted_key_is_stamped_active_and_without_a_revocation() {
        let key = minted();
        assert_eq!(key.created_at, Some(T0));
        assert_eq!(key.revoke_at, None);
        assert!(key.allows(Permission::ForgotPassword, at(1_000_000)));
        assert!(!key.allows(Permission::GuestsEdit, T0));
    }

    #[test]
    fn a_key_is_refused_from_its_revoke_at_on_exactly_as_an_inactive_one() {
        let mut scheduled = minted();
        scheduled.revoke_at = Some(at(10));
        let mut inactive = minted();
        inactive.active = false;
        assert!(scheduled.allows(Permission::ForgotPassword, at(9)));
        for now in [at(10), at(11)] {
            assert!(!scheduled.is_usable(now));
            assert!(!scheduled.allows(Permission::ForgotPassword, now));
            assert_eq!(
                scheduled.allows(Permission::ForgotPassword, now),
                inactive.allows(Permission::ForgotPassword, now)
            );
        }
    }

    #[test]
    fn a_revocation_in_the_future_leaves_the_key_active_until_then() {
        let key = minted().revoked(at(60), T0);
        assert_eq!(key.revoke_at, Some(at(60)));
        assert!(key.active);
        assert!(key.is_usable(at(59)));
        assert!(!key.is_usable(at(60)));
    }

    #[test]
    fn a_revocation_due_now_also_deactivates_the_key() {
        let key = minted().revoked(T0, T0);
        assert_eq!(key.revoke_at, Some(T0));
        assert!(!key.active);
    }

    #[test]
    fn a_revocation_is_never_postponed() {
        let key = minted().revoked(at(60), T0).revoked(at(600), T0);
        assert_eq!(key.revoke_at, Some(at(60)));
        let earlier = key.revoked(at(30), T0);
        assert_eq!(earlier.revoke_at, Some(at(30)));
        // A scheduled revocation whose moment passed: revoking now deactivates it.
        let passed = earlier.revoked(at(100), at(100));
        assert_eq!(passed.revoke_at, Some(at(30)));
        assert!(!passed.active);
    }
}
