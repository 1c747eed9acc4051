//! Guards: rate-limit windows and `Idempotency-Key` claims.
use std::time::Duration;

use super::{random_id, T0};
use crate::domain::code::CodeKeys;
use crate::domain::idempotency::{Fingerprint, IdempotencyKey, IdempotencyState, StoredResponse};
use crate::domain::Timestamp;
use crate::ports::{Claim, OverLimit, RateLimit, Store, StoreError};

pub(super) async fn rate_limit_allows_max_per_window<S: Store>(store: S) {
    let bucket = format!("contract#{}", hex::encode(random_id()));
    let limit = RateLimit {
        max: 3,
        window_secs: 5,
    };
    let hit = [(bucket, limit)];
    let start = Timestamp::from_unix_seconds(1_800_000_000); // a multiple of 5
    for _ in 0..3 {
        assert_eq!(store.hit_together(&hit, start).await.expect("hit"), Ok(()));
    }
    let at = start.plus(Duration::from_secs(2));
    assert_eq!(
        store.hit_together(&hit, at).await.expect("hit"),
        Err(OverLimit {
            index: 0,
            retry_after_secs: 3
        })
    );
    let next = start.plus(Duration::from_secs(5));
    assert_eq!(
        store.hit_together(&hit, next).await.expect("hit"),
        Ok(()),
        "a new window resets"
    );
}

pub(super) async fn concurrent_hits_never_exceed_the_limit<S: Store + Clone>(store: S) {
    let bucket = format!("contract#{}", hex::encode(random_id()));
    let limit = RateLimit {
        max: 5,
        window_secs: 60,
    };
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (store, bucket) = (store.clone(), bucket.clone());
        tasks.spawn(async move { store.hit_together(&[(bucket, limit)], T0).await });
    }
    let mut allowed = 0;
    while let Some(res) = tasks.join_next().await {
        if res.expect("task").expect("hit") == Ok(()) {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 5, "exactly max hits MUST be allowed");
}

pub(super) async fn hits_together_count_all_or_none<S: Store>(store: S) {
    let tag = hex::encode(random_id());
    let (a, b) = (format!("contract#{tag}#a"), format!("contract#{tag}#b"));
    let one = RateLimit {
        max: 1,
        window_secs: 60,
    };
    let two = RateLimit {
        max: 2,
        window_secs: 3600,
    };
    let both = [(a.clone(), one), (b.clone(), two)];
    assert_eq!(store.hit_together(&both, T0).await.expect("hit"), Ok(()));
    assert_eq!(
        store.hit_together(&both, T0).await.expect("hit"),
        Err(OverLimit {
            index: 0,
            retry_after_secs: 60
        }),
        "the first bucket at its limit MUST decide, with its window's end"
    );
    let b_alone = [(b, two)];
    assert_eq!(
        store.hit_together(&b_alone, T0).await.expect("hit"),
        Ok(()),
        "a refused call MUST count on no bucket"
    );
    assert_eq!(
        store.hit_together(&b_alone, T0).await.expect("hit"),
        Err(OverLimit {
            index: 0,
            retry_after_secs: 3600
        }),
        "the first call MUST have counted on every bucket"
    );
}

pub(super) async fn concurrent_hits_together_never_exceed_any_limit<S: Store + Clone>(store: S) {
    let tag = hex::encode(random_id());
    let hits = vec![
        (
            format!("contract#{tag}#a"),
            RateLimit {
                max: 3,
                window_secs: 60,
            },
        ),
        (
            format!("contract#{tag}#b"),
            RateLimit {
                max: 5,
                window_secs: 60,
            },
        ),
    ];
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let (store, hits) = (store.clone(), hits.clone());
        tasks.spawn(async move {
            // A conflict the store could not resolve is an error, never a wrong count.
            store.hit_together(&hits, T0).await.ok()
        });
    }
    let mut allowed = 0;
    while let Some(res) = tasks.join_next().await {
        if res.expect("task") == Some(Ok(())) {
            allowed += 1;
        }
    }
    assert!(
        (1..=3).contains(&allowed),
        "at most the smallest max MUST be allowed: {allowed}"
    );
}

pub(super) async fn idempotency_keys_are_claimed_once_then_replayed<S: Store>(store: S) {
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

pub(super) async fn concurrent_idempotency_claims_have_one_winner<S: Store + Clone>(store: S) {
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

pub(super) async fn suppressions_are_kept_until_cleared<S: Store>(store: S) {
    use crate::domain::message::Destination;
    use crate::domain::{EmailAddress, Suppression, SuppressionKey, SuppressionReason};

    let keys = CodeKeys::new(vec![vec![9; 32]]).expect("keys");
    let address = |tag: &str| {
        let email = format!("{tag}-{}@contract.example.com", hex::encode(random_id()));
        SuppressionKey::of(
            &keys,
            &Destination::Email(EmailAddress::parse(&email).expect("email")),
        )
    };
    let (bounced, other) = (address("bounced"), address("other"));
    let first = Suppression {
        reason: SuppressionReason::Bounce,
        since: T0,
    };
    assert_eq!(store.suppression(&bounced).await.expect("read"), None);
    store.suppress(&bounced, &first).await.expect("suppress");
    assert_eq!(
        store.suppression(&bounced).await.expect("read"),
        Some(first.clone())
    );
    let again = Suppression {
        reason: SuppressionReason::Complaint,
        since: T0.plus(Duration::from_secs(60)),
    };
    store
        .suppress(&bounced, &again)
        .await
        .expect("suppress again");
    assert_eq!(
        store.suppression(&bounced).await.expect("read"),
        Some(first),
        "suppressing again MUST keep the first entry"
    );
    assert_eq!(
        store.suppression(&other).await.expect("read"),
        None,
        "another address MUST NOT be suppressed"
    );
    assert!(store.clear_suppression(&bounced).await.expect("clear"));
    assert_eq!(
        store.suppression(&bounced).await.expect("read"),
        None,
        "a cleared address MUST read as not suppressed at once"
    );
    assert!(
        !store.clear_suppression(&bounced).await.expect("clear"),
        "clearing twice MUST say there was nothing to clear"
    );
}
