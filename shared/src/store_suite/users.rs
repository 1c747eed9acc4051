//! People: the identifier index and `SystemUserId` numbers.

use super::{new_user, random_id, random_system_user_id, unique_email};
use crate::domain::fields::{FieldCatalog, EMAIL};
use crate::domain::{FieldValue, LookupKey, User, UserId};
use crate::ports::{Store, StoreError};

pub(super) async fn index_returns_every_user_under_a_value<S: Store>(store: S) {
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

pub(super) async fn system_user_ids_are_claimed_once<S: Store>(store: S) {
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

pub(super) async fn concurrent_claims_of_one_system_user_id_have_one_winner<S: Store + Clone>(
    store: S,
) {
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

pub(super) async fn users_without_a_system_user_id_are_numbered_once<S: Store>(store: S) {
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
