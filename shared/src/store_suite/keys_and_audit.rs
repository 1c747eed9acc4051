//! API keys found by hash, listed and revoked by id, and the audit log's events and digests.

use super::{random_id, T0};
use std::time::Duration;

use crate::domain::{
    ApiKeyRecord, AuditAction, AuditDigest, AuditEvent, CodeKeys, EventId, KeyKind, Period,
    Permission, PresentedKey, RecordedEvent, Timestamp, UserId,
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
        created_at: None,
        revoke_at: None,
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

fn new_key(kind: KeyKind, created_at: Option<Timestamp>) -> ApiKeyRecord {
    let secret = hex::encode(random_id());
    ApiKeyRecord {
        hash: PresentedKey(&secret).hash(),
        key_id: format!("key_{}", &secret[..12]),
        kind,
        permissions: [Permission::ForgotPassword].into(),
        active: true,
        created_at,
        revoke_at: None,
    }
}

fn sorted(mut keys: Vec<ApiKeyRecord>) -> Vec<ApiKeyRecord> {
    keys.sort_by(|a, b| a.key_id.cmp(&b.key_id));
    keys
}

pub(super) async fn api_keys_are_listed_whole<S: Store>(store: S) {
    assert_eq!(store.list_keys().await.expect("list"), vec![]);
    // One as minted now, one stored before keys recorded when they were made.
    let minted = new_key(KeyKind::Server, Some(T0));
    let older = new_key(KeyKind::Employee, None);
    for k in [&minted, &older] {
        store.put_key(k).await.expect("put");
    }
    assert_eq!(
        sorted(store.list_keys().await.expect("list")),
        sorted(vec![minted, older]),
        "every key, with every attribute as stored"
    );
}

pub(super) async fn api_key_revocations_are_scheduled_by_id_and_never_postponed<S: Store>(
    store: S,
) {
    let at = |s: u64| T0.plus(Duration::from_secs(s));
    let key = new_key(KeyKind::Server, Some(T0));
    let bystander = new_key(KeyKind::Server, Some(T0));
    for k in [&key, &bystander] {
        store.put_key(k).await.expect("put");
    }

    let scheduled = store
        .schedule_revocation(&key.key_id, at(60), T0)
        .await
        .expect("schedule");
    let mut expected = key.clone();
    expected.revoke_at = Some(at(60));
    assert_eq!(
        scheduled, expected,
        "a revocation in the future sets revoke_at alone"
    );
    assert_eq!(
        store.find_key(&key.hash).await.expect("find"),
        Some(expected.clone()),
        "and is stored"
    );

    let later = store
        .schedule_revocation(&key.key_id, at(600), T0)
        .await
        .expect("schedule later");
    assert_eq!(
        later, expected,
        "a revocation MUST NOT be postponed: the earlier moment stays"
    );
    assert_eq!(
        store.find_key(&key.hash).await.expect("find"),
        Some(expected.clone())
    );

    let now = store
        .schedule_revocation(&key.key_id, at(10), at(10))
        .await
        .expect("revoke now");
    expected.revoke_at = Some(at(10));
    expected.active = false;
    assert_eq!(
        now, expected,
        "a revocation due by now also makes the key inactive"
    );
    assert_eq!(
        store.find_key(&key.hash).await.expect("find"),
        Some(expected)
    );
    assert_eq!(
        store.find_key(&bystander.hash).await.expect("find"),
        Some(bystander),
        "no other key changes"
    );

    assert!(
        matches!(
            store.schedule_revocation("key_nobody", at(10), T0).await,
            Err(StoreError::Missing(_))
        ),
        "an unknown key id MUST be Missing"
    );
}

pub(super) async fn audit_events_are_written_once_and_read_back_in_key_order<S: Store>(store: S) {
    let user = UserId::from_random(random_id());
    let recorded = |second: u64, action, id: [u8; 16]| RecordedEvent {
        id: EventId::from_random(id),
        event: AuditEvent::new(
            Timestamp::from_unix_seconds(T0.unix_seconds() + second),
            action,
        )
        .user(&user),
    };
    // Across two minutes and several shards, written out of order.
    let late = recorded(70, AuditAction::PasswordChanged, [0x01; 16]);
    let early = recorded(1, AuditAction::CodeSent, random_id());
    let same_second = recorded(1, AuditAction::AttemptFailed, [0xff; 16]);
    let anonymous = RecordedEvent {
        id: EventId::from_random(random_id()),
        event: AuditEvent::new(T0, AuditAction::CallerRefused),
    };
    for e in [&late, &same_second, &early, &anonymous] {
        store.record(e).await.expect("record");
    }
    store
        .record(&early)
        .await
        .expect("the same event again (a retried write) MUST succeed, adding nothing");
    let mut rival = early.clone();
    rival.event.detail = Some("rewritten".into());
    assert!(
        matches!(store.record(&rival).await, Err(StoreError::Duplicate(_))),
        "an event MUST NOT replace another with the same key"
    );

    let mut expected = vec![
        early.clone(),
        same_second.clone(),
        late.clone(),
        anonymous.clone(),
    ];
    expected.sort_by_key(RecordedEvent::key);
    let between = store
        .events_between(T0, T0.plus(Duration::from_secs(71)))
        .await
        .expect("between");
    assert_eq!(
        between, expected,
        "every event of the span, in key order, unchanged"
    );
    assert_eq!(
        store
            .events_between(
                T0.plus(Duration::from_secs(2)),
                T0.plus(Duration::from_secs(70))
            )
            .await
            .expect("between"),
        vec![],
        "the span is [from, to)"
    );
    let mine = store.user_events(&user).await.expect("user events");
    assert_eq!(
        mine,
        expected
            .into_iter()
            .filter(|e| e.event.user_id.is_some())
            .collect::<Vec<_>>(),
        "a person's events, in key order"
    );
}

pub(super) async fn audit_digests_keep_their_place_and_chain_order<S: Store>(store: S) {
    let keys = CodeKeys::new(vec![vec![5; 32]]).expect("keys");
    assert_eq!(store.last_digest().await.expect("last"), None);
    let first_period = Period::containing(T0);
    let first = AuditDigest::seal(&keys, first_period, &[], 0, None).remove(0);
    let second =
        AuditDigest::seal(&keys, first_period.next(), &[], 0, Some(first.signature)).remove(0);
    store.put_digest(&second).await.expect("second");
    store.put_digest(&first).await.expect("first");
    store
        .put_digest(&first)
        .await
        .expect("the same digest again MUST succeed");
    let rival = AuditDigest::seal(&keys, first_period, &[], 0, Some(second.signature)).remove(0);
    assert!(
        matches!(
            store.put_digest(&rival).await,
            Err(StoreError::Duplicate(_))
        ),
        "a digest MUST NOT replace another in its place"
    );
    assert_eq!(
        store.last_digest().await.expect("last"),
        Some(second.clone())
    );
    assert_eq!(store.digests().await.expect("all"), vec![first, second]);
}
