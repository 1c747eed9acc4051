//! Which keys `authenticate` lets through: a key past its `revoke_at` is refused exactly as
//! an inactive one, from the store or from the warm sandbox's cache.

use std::time::Duration;

use super::{AuthError, Endpoint};
use crate::domain::{ApiKeyRecord, AuditAction, AuditEvent, KeyKind, Permission, PresentedKey};
use crate::ports::{ApiKeyStore, Clock};
use crate::testing::TestKit;

fn server_key(secret: &str, id: &str) -> ApiKeyRecord {
    ApiKeyRecord {
        hash: PresentedKey(secret).hash(),
        key_id: id.into(),
        kind: KeyKind::Server,
        permissions: [Permission::ForgotPassword].into(),
        active: true,
        created_at: None,
        revoke_at: None,
    }
}

async fn authenticate(kit: &TestKit, secret: &str) -> Result<String, AuthError> {
    kit.service
        .authenticate(
            Endpoint::ForgotPassword,
            secret,
            &[KeyKind::Server],
            Permission::ForgotPassword,
            Some("203.0.113.9".into()),
        )
        .await
        .map(|caller| caller.key.key_id)
}

/// The refusals audited for `key_id`, without it: what they say about the caller.
fn refusals_of(kit: &TestKit, key_id: &str) -> Vec<AuditEvent> {
    kit.store
        .audit_events()
        .into_iter()
        .filter(|e| e.action == AuditAction::CallerRefused && e.actor.as_deref() == Some(key_id))
        .map(|mut e| {
            e.actor = None;
            e
        })
        .collect()
}

#[tokio::test]
async fn a_key_past_its_revoke_at_is_refused_exactly_as_an_inactive_one() {
    // Arrange: one key switched off, one whose revocation fell due a second ago.
    let kit = TestKit::new().await;
    let now = kit.clock.now();
    let mut inactive = server_key("rk_switched_off", "key_inactive");
    inactive.active = false;
    let mut due = server_key("rk_due", "key_due");
    due.revoke_at = Some(now);
    for k in [&inactive, &due] {
        kit.store.put_key(k).await.unwrap_or_else(|e| panic!("{e}"));
    }

    // Act
    let refused_inactive = authenticate(&kit, "rk_switched_off").await;
    let refused_due = authenticate(&kit, "rk_due").await;

    // Assert: the same error, and the same audit event but for the key's id.
    assert!(
        matches!(refused_inactive, Err(AuthError::Unauthorized)),
        "{refused_inactive:?}"
    );
    assert!(
        matches!(refused_due, Err(AuthError::Unauthorized)),
        "{refused_due:?}"
    );
    let (inactive_events, due_events) = (
        refusals_of(&kit, "key_inactive"),
        refusals_of(&kit, "key_due"),
    );
    assert_eq!(inactive_events.len(), 1);
    assert_eq!(due_events, inactive_events);
}

#[tokio::test]
async fn a_key_works_until_its_revoke_at_and_not_from_then_on_even_from_the_cache() {
    // Arrange: a key due to be revoked in 10 s, well within the cache's 30 s.
    let kit = TestKit::new().await;
    let mut key = server_key("rk_rotated", "key_rotated");
    key.revoke_at = Some(kit.clock.now().plus(Duration::from_secs(10)));
    kit.store
        .put_key(&key)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // Act: read (and cached) now, presented again a second before and at the moment.
    let first = authenticate(&kit, "rk_rotated").await;
    kit.clock.advance(9);
    let last_second = authenticate(&kit, "rk_rotated").await;
    kit.clock.advance(1);
    let at_revoke = authenticate(&kit, "rk_rotated").await;

    // Assert
    assert_eq!(first.ok().as_deref(), Some("key_rotated"));
    assert_eq!(last_second.ok().as_deref(), Some("key_rotated"));
    assert!(
        matches!(at_revoke, Err(AuthError::Unauthorized)),
        "the cached record carries revoke_at: {at_revoke:?}"
    );
}
