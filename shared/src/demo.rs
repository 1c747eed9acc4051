//! Demo people and keys: the local stack loads them, the tests rely on them, and the
//! request files in `events/` name them. The keys are public knowledge: local use only.

use std::collections::BTreeSet;

use crate::domain::import::UserImport;
use crate::domain::{ApiKeyRecord, FieldCatalog, KeyKind, Permission, PresentedKey};

/// One JSON object per line, in the format `resetctl import` reads.
pub const USERS_JSONL: &str = include_str!("../demo/users.jsonl");

pub const ANA: &str = "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a";
pub const ZOE: &str = "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b";
pub const ZARA: &str = "0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c";
pub const NUNO: &str = "0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d";
/// The lead of LeadSquared's documented samples: `johnwick@example.com`, Phone `+14-157415569`.
pub const JOHN: &str = "0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e";

/// The same people's `SystemUserId` (contract C), fixed so that docs and tests can name them.
pub const ANA_SYSTEM_USER_ID: i32 = 1001;
pub const ZOE_SYSTEM_USER_ID: i32 = 1002;
pub const ZARA_SYSTEM_USER_ID: i32 = 1003;
pub const NUNO_SYSTEM_USER_ID: i32 = 1004;

pub const STAFF_KEY: &str = "rk_demo_staff_key";
pub const STAFF_READONLY_KEY: &str = "rk_demo_staff_readonly_key";
pub const GUEST_TOKEN: &str = "rk_demo_guest_token";
pub const PORTAL_KEY: &str = "rk_demo_portal_key";
pub const SERVER_KEY: &str = "rk_demo_server_key";
pub const BROWSER_KEY: &str = "rk_demo_browser_key";
/// The host system's key for the people API.
pub const HOST_KEY: &str = "rk_demo_host_key";

/// The extra fields the demo people use (`RESETKIT_EXTRA_FIELDS`).
pub const EXTRA_FIELDS: &str =
    "Phone:phone:unique:deliverable,mx_Alt_Email:email:deliverable,mx_City:text,mx_Member_Code:text:unique,mx_Form_Email:email";

/// The field catalog of the demo stage: the built-in fields plus `EXTRA_FIELDS`, US numbers.
pub fn catalog() -> FieldCatalog {
    // A constant of this file: a parse failure is a bug here, caught by every test.
    let extra = FieldCatalog::parse_extra(EXTRA_FIELDS)
        .unwrap_or_else(|e| panic!("demo EXTRA_FIELDS: {e}"));
    FieldCatalog::new(extra, "US")
}

pub fn people() -> Vec<UserImport> {
    USERS_JSONL
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("demo/users.jsonl: {e}")))
        .collect()
}

/// The demo keys, ready to store.
pub fn keys() -> Vec<ApiKeyRecord> {
    use Permission::*;
    let key = |secret: &str, id: &str, kind: KeyKind, perms: &[Permission]| ApiKeyRecord {
        hash: PresentedKey(secret).hash(),
        key_id: id.to_owned(),
        kind,
        permissions: perms.iter().copied().collect::<BTreeSet<_>>(),
        active: true,
        created_at: None,
        revoke_at: None,
    };
    vec![
        key(
            STAFF_KEY,
            "key_demo_staff",
            KeyKind::Employee,
            &[GuestsEdit],
        ),
        key(
            STAFF_READONLY_KEY,
            "key_demo_staff_readonly",
            KeyKind::Employee,
            &[],
        ),
        // A guest token carries permissions it can never use: its kind is refused.
        key(
            GUEST_TOKEN,
            "key_demo_guest",
            KeyKind::Guest,
            &[GuestsEdit, PasswordConfirm],
        ),
        key(
            PORTAL_KEY,
            "key_demo_portal",
            KeyKind::PortalPublic,
            &[ForgotPassword],
        ),
        key(
            SERVER_KEY,
            "key_demo_server",
            KeyKind::Server,
            &[ForgotPassword, RevealResetSecret, PasswordConfirm],
        ),
        key(
            BROWSER_KEY,
            "key_demo_browser",
            KeyKind::Browser,
            &[PasswordConfirm],
        ),
        key(
            HOST_KEY,
            "key_demo_host",
            KeyKind::Server,
            &[PeopleWrite, PeopleRead],
        ),
    ]
}
