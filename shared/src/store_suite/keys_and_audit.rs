//! API keys found by hash only, and the audit chain.

use super::{random_id, T0};
use crate::domain::audit::{verify_chain, ChainedEvent};
use crate::domain::{
    ApiKeyRecord, AuditAction, AuditEvent, KeyKind, Permission, PresentedKey, UserId,
};
use crate::ports::{Store, StoreError};

pub(super) async fn api_keys_are_found_by_hash_only<S: Store>(store: S) {
    let secret = hex::encode(random_id());
    let key = ApiKeyRecord {
        hash: PresentedKey(&secret).hash(),
        key_id: format!("key_{}", &secret[..8]),
        kind: KeyKind::Employee,
        permissions: [Permission::GuestsEdit].into(),
        active: true,
    };
    store.put_key(&key).await.expect("put");
    assert_eq!(
        store
            .find_key(&PresentedKey(&secret).hash())
            .await
            .expect("find"),
        Some(key.clone())
    );
    assert_eq!(
        store
            .find_key(&PresentedKey("other").hash())
            .await
            .expect("find"),
        None
    );
    assert!(matches!(
        store.put_key(&key).await,
        Err(StoreError::Duplicate(_))
    ));
}

pub(super) async fn audit_links_chain_and_are_never_replaced<S: Store>(store: S) {
    let user = UserId::from_random(random_id());
    let event = |action| AuditEvent::new(T0, action).user(&user);
    let stream = event(AuditAction::CodeSent).stream();
    assert!(
        store.audit_head(&stream).await.expect("head").is_none(),
        "an empty stream MUST have no head"
    );
    let first = ChainedEvent::next(None, event(AuditAction::CodeSent));
    store.append_link(&first).await.expect("first link");
    let second = ChainedEvent::next(Some(&first), event(AuditAction::PasswordChanged));
    store.append_link(&second).await.expect("second link");
    let rival = ChainedEvent::next(Some(&first), event(AuditAction::AttemptFailed));
    assert!(
        matches!(
            store.append_link(&rival).await,
            Err(StoreError::Duplicate(_))
        ),
        "a link MUST NOT replace another with the same seq"
    );
    store
        .append_link(&second)
        .await
        .expect("the same link again (a retried write) MUST succeed, adding nothing");
    assert_eq!(
        store.audit_head(&stream).await.expect("head"),
        Some(second.clone()),
        "the head is the last link"
    );
    let links = store.read_stream(&stream).await.expect("read");
    assert_eq!(
        links,
        vec![first, second],
        "a stream reads back in seq order, unchanged"
    );
    assert_eq!(verify_chain(&links), Ok(2));
}
