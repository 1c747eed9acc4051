//! Verification records: issue, read, attempts, burn, revoke, and the one atomic reset.
use std::time::Duration;

use super::{later, new_user, random_id, record, reset, unique_email, T0};
use crate::domain::{Delivery, UserId, VerificationId};
use crate::ports::{ConsumeError, Store, StoreError};

pub(super) async fn unknown_verification_reads_as_none<S: Store>(store: S) {
    let got = store
        .get_verification(&VerificationId::from_random(random_id()), T0)
        .await
        .expect("get");
    assert!(got.is_none(), "an unknown verification MUST read as None");
}

pub(super) async fn issued_code_can_be_used_once<S: Store>(store: S) {
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

pub(super) async fn expired_code_reads_as_none_and_cannot_be_used<S: Store>(store: S) {
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

pub(super) async fn attempt_cap_burns_the_code<S: Store>(store: S) {
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

pub(super) async fn latest_issued_code_wins<S: Store>(store: S) {
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

pub(super) async fn revoked_code_cannot_be_used<S: Store>(store: S) {
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

pub(super) async fn stale_credential_version_is_rejected<S: Store>(store: S) {
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

pub(super) async fn issue_for_unknown_user_is_missing<S: Store>(store: S) {
    let r = record(&UserId::from_random(random_id()), later());
    assert!(
        matches!(store.issue(&r).await, Err(StoreError::Missing(_))),
        "unknown user MUST be Missing"
    );
}

pub(super) async fn concurrent_completes_succeed_exactly_once<S: Store + Clone>(store: S) {
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

/// The courier issues a job's link under an id derived from the job: a job delivered
/// twice must find the first one, never replace it.
pub(super) async fn issuing_an_existing_id_is_a_duplicate<S: Store>(store: S) {
    let user = new_user(&store, &unique_email()).await;
    let r = record(&user.id, later());
    store.issue(&r).await.expect("issue");
    let mut again = record(&user.id, later());
    again.id = r.id.clone();
    assert!(
        matches!(store.issue(&again).await, Err(StoreError::Duplicate(_))),
        "issue MUST fail with Duplicate for an id that exists"
    );
    assert_eq!(
        store.get_verification(&r.id, T0).await.expect("get"),
        Some(r),
        "the first record MUST stay as it was"
    );
}

pub(super) async fn delivery_state_is_recorded_and_changes_nothing_else<S: Store>(store: S) {
    let user = new_user(&store, &unique_email()).await;
    let r = record(&user.id, later());
    store.issue(&r).await.expect("issue");
    for delivery in [
        Delivery::Sent {
            message_id: "provider-1".into(),
        },
        Delivery::Bounced,
        Delivery::Undelivered,
    ] {
        store
            .record_delivery(&r.id, &delivery)
            .await
            .expect("record_delivery");
        let got = store
            .get_verification(&r.id, T0)
            .await
            .expect("get")
            .expect("still there");
        assert_eq!(
            got.delivery, delivery,
            "record_delivery MUST store the state"
        );
        assert_eq!(
            (got.consumed, got.attempts, got.expires_at),
            (r.consumed, r.attempts, r.expires_at),
            "record_delivery MUST change nothing else"
        );
    }
    assert!(
        matches!(
            store
                .record_delivery(&VerificationId::from_random(random_id()), &Delivery::Queued)
                .await,
            Err(StoreError::Missing(_))
        ),
        "record_delivery MUST fail with Missing for an unknown id"
    );
}
