//! The storage ports' contract, as one suite any adapter runs: the in-memory store in its
//! unit tests, the DynamoDB store against the emulator in `tests/`.
//!
//! Each case takes a fresh store from `make` and panics with the rule it found broken.

use std::future::Future;
use std::time::Duration;

use crate::domain::audit::{verify_chain, ChainedEvent};
use crate::domain::code::CodeKeys;
use crate::domain::fields::{FieldCatalog, EMAIL};
use crate::domain::idempotency::{Fingerprint, IdempotencyKey, IdempotencyState, StoredResponse};
use crate::domain::password::PasswordHash;
use crate::domain::{
    ApiKeyRecord, Channel, EmailAddress, FieldValue, Flow, KeyKind, LookupKey, Permission,
    PresentedKey, ResetSecret, SystemUserId, Timestamp, User, UserId, VerificationId,
    VerificationRecord,
};
use crate::domain::{AuditAction, AuditEvent};
use crate::ports::{
    Claim, CompletedReset, ConsumeError, RateDecision, RateLimit, Store, StoreError,
};

const T0: Timestamp = Timestamp::from_unix_seconds(1_800_000_000);

fn random_id() -> [u8; 16] {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).unwrap_or_else(|e| panic!("os rng: {e}"));
    b
}

async fn new_user<S: Store>(store: &S, email: &EmailAddress) -> User {
    let mut user = User::new(UserId::from_random(random_id()));
    user.fields
        .insert(EMAIL.into(), FieldValue::Email(email.clone()));
    let keys: Vec<LookupKey> = FieldCatalog::new([], "US")
        .index_keys(&user.fields)
        .collect();
    store.create_user(&user, &keys).await.expect("create_user");
    user
}

/// A number no other case (nor an earlier run on the same tables) is likely to hold.
fn random_system_user_id() -> SystemUserId {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).unwrap_or_else(|e| panic!("os rng: {e}"));
    SystemUserId::from_random(b)
}

fn unique_email() -> EmailAddress {
    EmailAddress::parse(&format!(
        "{}@contract.example.com",
        hex::encode(random_id())
    ))
    .expect("email")
}

fn record(user: &UserId, expires_at: Timestamp) -> VerificationRecord {
    let keys = CodeKeys::new(vec![vec![9; 32]]).expect("keys");
    VerificationRecord {
        id: VerificationId::from_random(random_id()),
        user_id: user.clone(),
        flow: Flow::StaffCode,
        channel: Channel::Email,
        code_hash: keys.hash(&ResetSecret::from_presented("123456")),
        created_at: T0,
        expires_at,
        attempts: 0,
        max_attempts: 5,
        consumed: false,
    }
}

fn reset(r: &VerificationRecord, version: u64, now: Timestamp) -> CompletedReset {
    CompletedReset {
        verification: r.id.clone(),
        user: r.user_id.clone(),
        expected_credential_version: version,
        new_password_hash: PasswordHash::from_phc(format!(
            "$argon2id$v=19$m=19456,t=2,p=1$test${}",
            r.id
        )),
        now,
    }
}

fn later() -> Timestamp {
    T0.plus(Duration::from_secs(600))
}

/// Runs every case against stores made by `make`.
pub async fn run<S, F, Fut>(make: F)
where
    S: Store + Clone,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    unknown_verification_reads_as_none(make().await).await;
    issued_code_can_be_used_once(make().await).await;
    expired_code_reads_as_none_and_cannot_be_used(make().await).await;
    attempt_cap_burns_the_code(make().await).await;
    latest_issued_code_wins(make().await).await;
    revoked_code_cannot_be_used(make().await).await;
    stale_credential_version_is_rejected(make().await).await;
    issue_for_unknown_user_is_missing(make().await).await;
    concurrent_completes_succeed_exactly_once(make().await).await;
    index_returns_every_user_under_a_value(make().await).await;
    api_keys_are_found_by_hash_only(make().await).await;
    rate_limit_allows_max_per_window(make().await).await;
    concurrent_hits_never_exceed_the_limit(make().await).await;
    audit_links_chain_and_are_never_replaced(make().await).await;
    idempotency_keys_are_claimed_once_then_replayed(make().await).await;
    concurrent_idempotency_claims_have_one_winner(make().await).await;
    system_user_ids_are_claimed_once(make().await).await;
    concurrent_claims_of_one_system_user_id_have_one_winner(make().await).await;
    users_without_a_system_user_id_are_numbered_once(make().await).await;
}

async fn unknown_verification_reads_as_none<S: Store>(store: S) {
    let got = store
        .get_verification(&VerificationId::from_random(random_id()), T0)
        .await
        .expect("get");
    assert!(got.is_none(), "an unknown verification MUST read as None");
}

async fn issued_code_can_be_used_once<S: Store>(store: S) {
    let user = new_user(&store, &unique_email()).await;
    let r = record(&user.id, later());
    store.issue(&r).await.expect("issue");
    assert_eq!(
        store.get_verification(&r.id, T0).await.expect("get"),
        Some(r.clone()),
        "read back what was issued"
    );
    let u = store
        .get_user(&user.id)
        .await
        .expect("get_user")
        .expect("user");
    assert_eq!(
        u.latest_verification,
        Some(r.id.clone()),
        "issue MUST make the record the user's latest"
    );

    store
        .complete_reset(&reset(&r, 0, T0))
        .await
        .expect("first use succeeds");
    let u = store
        .get_user(&user.id)
        .await
        .expect("get_user")
        .expect("user");
    assert_eq!(
        u.credential_version, 1,
        "complete_reset MUST bump credential_version"
    );
    assert_eq!(
        u.password_hash,
        Some(reset(&r, 0, T0).new_password_hash),
        "complete_reset MUST store the hash"
    );
    let consumed = store
        .get_verification(&r.id, T0)
        .await
        .expect("get")
        .expect("still readable");
    assert!(
        consumed.consumed,
        "complete_reset MUST mark the record consumed"
    );

    let again = store.complete_reset(&reset(&r, 1, T0)).await;
    assert!(
        matches!(again, Err(ConsumeError::Rejected)),
        "reuse MUST be Rejected, got {again:?}"
    );
}

async fn expired_code_reads_as_none_and_cannot_be_used<S: Store>(store: S) {
    let user = new_user(&store, &unique_email()).await;
    let r = record(&user.id, later());
    store.issue(&r).await.expect("issue");
    let after = later().plus(Duration::from_secs(1));
    assert!(
        store
            .get_verification(&r.id, after)
            .await
            .expect("get")
            .is_none(),
        "expired MUST read as None"
    );
    assert!(matches!(
        store.record_failure(&r.id, after).await,
        Err(ConsumeError::Rejected)
    ));
    assert!(matches!(
        store.complete_reset(&reset(&r, 0, after)).await,
        Err(ConsumeError::Rejected)
    ));
}

async fn attempt_cap_burns_the_code<S: Store>(store: S) {
    let user = new_user(&store, &unique_email()).await;
    let r = record(&user.id, later());
    store.issue(&r).await.expect("issue");
    for n in 1..=5 {
        let count = store.record_failure(&r.id, T0).await.expect("counted");
        assert_eq!(count.attempts, n);
        assert_eq!(count.burned, n == 5, "burned exactly at the cap");
    }
    assert!(
        matches!(
            store.record_failure(&r.id, T0).await,
            Err(ConsumeError::Rejected)
        ),
        "MUST NOT count past the cap"
    );
    assert!(
        matches!(
            store.complete_reset(&reset(&r, 0, T0)).await,
            Err(ConsumeError::Rejected)
        ),
        "burned MUST NOT be used"
    );
}

async fn latest_issued_code_wins<S: Store>(store: S) {
    let user = new_user(&store, &unique_email()).await;
    let first = record(&user.id, later());
    let second = record(&user.id, later());
    store.issue(&first).await.expect("issue");
    store.issue(&second).await.expect("issue");
    assert!(
        matches!(
            store.complete_reset(&reset(&first, 0, T0)).await,
            Err(ConsumeError::Rejected)
        ),
        "older MUST fail"
    );
    store
        .complete_reset(&reset(&second, 0, T0))
        .await
        .expect("latest works");
}

async fn revoked_code_cannot_be_used<S: Store>(store: S) {
    let user = new_user(&store, &unique_email()).await;
    let r = record(&user.id, later());
    store.issue(&r).await.expect("issue");
    store.revoke(&r.id, &user.id).await.expect("revoke");
    store
        .revoke(&r.id, &user.id)
        .await
        .expect("revoke is idempotent");
    assert!(matches!(
        store.complete_reset(&reset(&r, 0, T0)).await,
        Err(ConsumeError::Rejected)
    ));
    let u = store.get_user(&user.id).await.expect("get").expect("user");
    assert_eq!(u.latest_verification, None);
}

async fn stale_credential_version_is_rejected<S: Store>(store: S) {
    let user = new_user(&store, &unique_email()).await;
    let r = record(&user.id, later());
    store.issue(&r).await.expect("issue");
    assert!(matches!(
        store.complete_reset(&reset(&r, 7, T0)).await,
        Err(ConsumeError::Rejected)
    ));
    store
        .complete_reset(&reset(&r, 0, T0))
        .await
        .expect("right version works");
}

async fn issue_for_unknown_user_is_missing<S: Store>(store: S) {
    let r = record(&UserId::from_random(random_id()), later());
    assert!(
        matches!(store.issue(&r).await, Err(StoreError::Missing(_))),
        "unknown user MUST be Missing"
    );
}

async fn concurrent_completes_succeed_exactly_once<S: Store + Clone>(store: S) {
    let user = new_user(&store, &unique_email()).await;
    let r = record(&user.id, later());
    store.issue(&r).await.expect("issue");
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (store, reset) = (store.clone(), reset(&r, 0, T0));
        tasks.spawn(async move { store.complete_reset(&reset).await });
    }
    let mut wins = 0;
    while let Some(res) = tasks.join_next().await {
        match res.expect("task") {
            Ok(()) => wins += 1,
            Err(ConsumeError::Rejected) => {}
            Err(e) => panic!("a lost race MUST be Rejected, not {e:?}"),
        }
    }
    assert_eq!(wins, 1, "exactly one concurrent complete_reset MUST win");
    let u = store.get_user(&user.id).await.expect("get").expect("user");
    assert_eq!(u.credential_version, 1);
}

async fn index_returns_every_user_under_a_value<S: Store>(store: S) {
    let shared = unique_email();
    let a = new_user(&store, &shared).await;
    let b = new_user(&store, &shared).await;
    let mut found = store
        .find_by(&LookupKey::new(EMAIL, &FieldValue::Email(shared)))
        .await
        .expect("find");
    found.sort();
    let mut want = vec![a.id.clone(), b.id];
    want.sort();
    assert_eq!(found, want, "duplicates MUST be visible");
    assert!(store
        .find_by(&LookupKey::new(EMAIL, &FieldValue::Email(unique_email())))
        .await
        .expect("find")
        .is_empty());
    assert!(matches!(
        store.create_user(&a, &[]).await,
        Err(StoreError::Duplicate(_))
    ));
}

async fn api_keys_are_found_by_hash_only<S: Store>(store: S) {
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

async fn rate_limit_allows_max_per_window<S: Store>(store: S) {
    let bucket = format!("contract#{}", hex::encode(random_id()));
    let limit = RateLimit {
        max: 3,
        window_secs: 5,
    };
    let start = Timestamp::from_unix_seconds(1_800_000_000); // a multiple of 5
    for _ in 0..3 {
        assert_eq!(
            store.hit(&bucket, limit, start).await.expect("hit"),
            RateDecision::Allowed
        );
    }
    let at = start.plus(Duration::from_secs(2));
    assert_eq!(
        store.hit(&bucket, limit, at).await.expect("hit"),
        RateDecision::Limited {
            retry_after_secs: 3
        }
    );
    let next = start.plus(Duration::from_secs(5));
    assert_eq!(
        store.hit(&bucket, limit, next).await.expect("hit"),
        RateDecision::Allowed,
        "a new window resets"
    );
}

async fn concurrent_hits_never_exceed_the_limit<S: Store + Clone>(store: S) {
    let bucket = format!("contract#{}", hex::encode(random_id()));
    let limit = RateLimit {
        max: 5,
        window_secs: 60,
    };
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (store, bucket) = (store.clone(), bucket.clone());
        tasks.spawn(async move { store.hit(&bucket, limit, T0).await });
    }
    let mut allowed = 0;
    while let Some(res) = tasks.join_next().await {
        if res.expect("task").expect("hit") == RateDecision::Allowed {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 5, "exactly max hits MUST be allowed");
}

async fn audit_links_chain_and_are_never_replaced<S: Store>(store: S) {
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

async fn idempotency_keys_are_claimed_once_then_replayed<S: Store>(store: S) {
    let keys = CodeKeys::new(vec![vec![9; 32]]).expect("keys");
    let key = IdempotencyKey::parse(&hex::encode(random_id()), "contract", "caller").expect("key");
    let fp = Fingerprint::of(&keys, &[b"request"]);
    let lock = T0.plus(Duration::from_secs(60));
    assert_eq!(
        store
            .claim(&key, &fp, "first", T0, lock)
            .await
            .expect("claim"),
        Claim::Acquired
    );
    match store
        .claim(&key, &fp, "second", T0, lock)
        .await
        .expect("claim")
    {
        Claim::Existing(r) => {
            assert_eq!(
                (r.fingerprint, r.owner.as_str(), r.state),
                (fp.clone(), "first", IdempotencyState::InFlight)
            )
        }
        other => panic!("a held key MUST read as in flight, got {other:?}"),
    }
    let answer = StoredResponse {
        status: 200,
        content_type: "application/json".into(),
        body: vec![1, 2, 3],
    };
    let keep = T0.plus(Duration::from_secs(86_400));
    assert!(
        matches!(
            store.complete(&key, "second", &answer, keep).await,
            Err(StoreError::Missing(_))
        ),
        "only the owner MUST complete"
    );
    store
        .release(&key, "second")
        .await
        .expect("releasing another's key is a no-op");
    store
        .complete(&key, "first", &answer, keep)
        .await
        .expect("complete");
    match store
        .claim(&key, &fp, "third", T0.plus(Duration::from_secs(120)), lock)
        .await
        .expect("claim")
    {
        Claim::Existing(r) => assert_eq!(
            r.state,
            IdempotencyState::Completed(answer),
            "the answer MUST be kept"
        ),
        other => panic!("a completed key MUST replay, got {other:?}"),
    }
    let after = keep.plus(Duration::from_secs(1));
    let relock = after.plus(Duration::from_secs(60));
    assert_eq!(
        store
            .claim(&key, &fp, "fourth", after, relock)
            .await
            .expect("claim"),
        Claim::Acquired,
        "an expired record MUST free its key"
    );
    store.release(&key, "fourth").await.expect("release");
    assert_eq!(
        store
            .claim(&key, &fp, "fifth", after, relock)
            .await
            .expect("claim"),
        Claim::Acquired,
        "a released key MUST be free"
    );
}

async fn concurrent_idempotency_claims_have_one_winner<S: Store + Clone>(store: S) {
    let keys = CodeKeys::new(vec![vec![9; 32]]).expect("keys");
    let key = IdempotencyKey::parse(&hex::encode(random_id()), "contract", "caller").expect("key");
    let fp = Fingerprint::of(&keys, &[b"request"]);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (store, key, fp) = (store.clone(), key.clone(), fp.clone());
        tasks.spawn(async move {
            let owner = hex::encode(random_id());
            store
                .claim(&key, &fp, &owner, T0, T0.plus(Duration::from_secs(60)))
                .await
        });
    }
    let mut acquired = 0;
    while let Some(res) = tasks.join_next().await {
        if res.expect("task").expect("claim") == Claim::Acquired {
            acquired += 1;
        }
    }
    assert_eq!(
        acquired, 1,
        "exactly one concurrent claim MUST acquire the key"
    );
}

async fn system_user_ids_are_claimed_once<S: Store>(store: S) {
    let number = random_system_user_id();
    let email = unique_email();
    let mut a = User::new(UserId::from_random(random_id()));
    a.system_user_id = Some(number);
    store.create_user(&a, &[]).await.expect("create a");
    assert_eq!(
        store
            .get_user(&a.id)
            .await
            .expect("get")
            .map(|u| u.system_user_id),
        Some(Some(number)),
        "the number MUST be stored with the user"
    );
    assert_eq!(
        store.find_by_system_user_id(number).await.expect("find"),
        Some(a.id.clone())
    );

    let mut b = User::new(UserId::from_random(random_id()));
    b.system_user_id = Some(number);
    b.fields
        .insert(EMAIL.into(), FieldValue::Email(email.clone()));
    let keys: Vec<LookupKey> = FieldCatalog::new([], "US").index_keys(&b.fields).collect();
    assert!(
        matches!(store.create_user(&b, &keys).await, Err(StoreError::SystemUserIdTaken(n)) if n == number),
        "a held number MUST be SystemUserIdTaken"
    );
    assert_eq!(store.get_user(&b.id).await.expect("get"), None);
    assert!(
        store
            .find_by(&LookupKey::new(EMAIL, &FieldValue::Email(email)))
            .await
            .expect("find")
            .is_empty(),
        "a refused user MUST leave no index entry"
    );
    assert_eq!(
        store.find_by_system_user_id(number).await.expect("find"),
        Some(a.id.clone()),
        "the holder MUST keep the number"
    );
    let mut again = a.clone();
    again.system_user_id = Some(random_system_user_id());
    assert!(
        matches!(
            store.create_user(&a, &[]).await,
            Err(StoreError::Duplicate(_))
        ),
        "an existing id MUST be Duplicate even when its number is taken too"
    );
    assert!(matches!(
        store.create_user(&again, &[]).await,
        Err(StoreError::Duplicate(_))
    ));
    assert_eq!(
        store
            .find_by_system_user_id(again.system_user_id.expect("set"))
            .await
            .expect("find"),
        None,
        "a refused user MUST leave no claim"
    );
}

async fn concurrent_claims_of_one_system_user_id_have_one_winner<S: Store + Clone>(store: S) {
    let number = random_system_user_id();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let store = store.clone();
        tasks.spawn(async move {
            let mut user = User::new(UserId::from_random(random_id()));
            user.system_user_id = Some(number);
            (user.id.clone(), store.create_user(&user, &[]).await)
        });
    }
    let mut winners = Vec::new();
    while let Some(res) = tasks.join_next().await {
        match res.expect("task") {
            (id, Ok(())) => winners.push(id),
            (_, Err(StoreError::SystemUserIdTaken(n))) if n == number => {}
            (_, Err(e)) => panic!("a lost claim MUST be SystemUserIdTaken, not {e:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one concurrent claim MUST win");
    assert_eq!(
        store.find_by_system_user_id(number).await.expect("find"),
        winners.pop()
    );
}

async fn users_without_a_system_user_id_are_numbered_once<S: Store>(store: S) {
    let old = new_user(&store, &unique_email()).await;
    assert_eq!(old.system_user_id, None);
    let (first, second) = (random_system_user_id(), random_system_user_id());
    assert_eq!(
        store
            .assign_system_user_id(&old.id, first)
            .await
            .expect("assign"),
        first
    );
    assert_eq!(
        store
            .assign_system_user_id(&old.id, second)
            .await
            .expect("assign"),
        first,
        "a numbered user MUST keep their number"
    );
    assert_eq!(
        store.find_by_system_user_id(second).await.expect("find"),
        None
    );
    let u = store.get_user(&old.id).await.expect("get").expect("user");
    assert_eq!(u.system_user_id, Some(first));
    assert_eq!(u.email(), old.email(), "numbering MUST change nothing else");

    let other = new_user(&store, &unique_email()).await;
    assert!(matches!(
        store.assign_system_user_id(&other.id, first).await,
        Err(StoreError::SystemUserIdTaken(_))
    ));
    assert!(matches!(
        store
            .assign_system_user_id(&UserId::from_random(random_id()), second)
            .await,
        Err(StoreError::Missing(_))
    ));
    assert_eq!(
        store.find_by_system_user_id(second).await.expect("find"),
        None
    );
}

#[cfg(test)]
mod tests {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn memory_store_keeps_the_contract() {
        super::run(|| async { crate::adapters::memory::MemoryStore::new() }).await;
    }
}
