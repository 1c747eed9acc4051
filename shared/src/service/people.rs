//! Creating people, and numbering people stored before `SystemUserId` existed: a number is
//! drawn from the injected randomness and claimed by a conditional write, and drawn again
//! when someone holds it. No scan, no counter item: two writers can never share a number,
//! because only one claim on it can succeed.

use std::future::Future;

use crate::domain::{LookupKey, SystemUserId, User};
use crate::ports::{RandomSource, StoreError, UserDirectory};

/// Draws per person before giving up. With 2^31 numbers a collision is rare until a stage
/// holds hundreds of millions of people; eight in a row means something else is wrong.
pub const SYSTEM_USER_ID_DRAWS: usize = 8;

/// Creates `user` with its index entries `keys`, and returns it as stored. A number the
/// user already carries (kept from an import) is claimed as it is, and refused with
/// `SystemUserIdTaken` if someone holds it; otherwise one is drawn from `random`.
pub async fn create_person<D: UserDirectory, R: RandomSource>(
    directory: &D,
    random: &R,
    mut user: User,
    keys: &[LookupKey],
) -> Result<User, StoreError> {
    if user.system_user_id.is_some() {
        directory.create_user(&user, keys).await?;
        return Ok(user);
    }
    let number = claim_fresh_number(random, |number| {
        let mut candidate = user.clone();
        candidate.system_user_id = Some(number);
        async move {
            directory.create_user(&candidate, keys).await?;
            Ok(number)
        }
    })
    .await?;
    user.system_user_id = Some(number);
    Ok(user)
}

/// Runs `claim` with freshly drawn numbers until one is not taken, at most
/// `SYSTEM_USER_ID_DRAWS` times. `claim` answers with the number the person ends up with.
pub(crate) async fn claim_fresh_number<R, F, Fut>(
    random: &R,
    mut claim: F,
) -> Result<SystemUserId, StoreError>
where
    R: RandomSource,
    F: FnMut(SystemUserId) -> Fut,
    Fut: Future<Output = Result<SystemUserId, StoreError>>,
{
    let mut taken = None;
    for _ in 0..SYSTEM_USER_ID_DRAWS {
        let mut bytes = [0u8; 4];
        random.fill(&mut bytes);
        match claim(SystemUserId::from_random(bytes)).await {
            Err(StoreError::SystemUserIdTaken(number)) => taken = Some(number),
            other => return other,
        }
    }
    Err(match taken {
        Some(number) => StoreError::SystemUserIdTaken(number),
        None => StoreError::Corrupt("no SystemUserId was drawn".into()),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::adapters::memory::MemoryStore;
    use crate::domain::UserId;

    /// Draws 0, 1, 2, … as numbers 1, 2, 3, …
    struct Counting(AtomicU32);

    impl RandomSource for Counting {
        fn fill(&self, buf: &mut [u8]) {
            let next = self.0.fetch_add(1, Ordering::SeqCst).to_le_bytes();
            buf.copy_from_slice(&next[..buf.len()]);
        }
    }

    fn person(n: u8) -> User {
        User::new(UserId::from_random([n; 16]))
    }

    #[tokio::test]
    async fn a_taken_number_is_drawn_again() {
        let store = MemoryStore::new();
        let random = Counting(AtomicU32::new(0));
        let first = create_person(&store, &random, person(1), &[])
            .await
            .unwrap();
        random.0.store(0, Ordering::SeqCst); // the next person draws number 1 again first
        let second = create_person(&store, &random, person(2), &[])
            .await
            .unwrap();
        assert_eq!(first.system_user_id, SystemUserId::new(1).ok());
        assert_eq!(second.system_user_id, SystemUserId::new(2).ok());
        assert_eq!(
            store
                .find_by_system_user_id(SystemUserId::new(2).unwrap())
                .await
                .unwrap(),
            Some(second.id)
        );
    }

    #[tokio::test]
    async fn a_given_number_is_kept_or_refused_never_replaced() {
        let store = MemoryStore::new();
        let random = Counting(AtomicU32::new(0));
        let mut kept = person(1);
        kept.system_user_id = SystemUserId::new(77).ok();
        let stored = create_person(&store, &random, kept, &[]).await.unwrap();
        assert_eq!(stored.system_user_id, SystemUserId::new(77).ok());
        let mut clash = person(2);
        clash.system_user_id = SystemUserId::new(77).ok();
        assert!(matches!(
            create_person(&store, &random, clash, &[]).await,
            Err(StoreError::SystemUserIdTaken(n)) if n.get() == 77
        ));
        assert_eq!(store.get_user(&person(2).id).await.unwrap(), None);
    }

    #[tokio::test]
    async fn the_draws_are_bounded() {
        struct Always;
        impl RandomSource for Always {
            fn fill(&self, buf: &mut [u8]) {
                buf.fill(0);
            }
        }
        let store = MemoryStore::new();
        create_person(&store, &Always, person(1), &[])
            .await
            .unwrap();
        assert!(matches!(
            create_person(&store, &Always, person(2), &[]).await,
            Err(StoreError::SystemUserIdTaken(_))
        ));
    }
}
