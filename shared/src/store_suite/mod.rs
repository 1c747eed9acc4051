//! The storage ports' contract, as one suite any adapter runs: the in-memory store in its
//! unit tests, the DynamoDB store against the emulator in `tests/`.
//!
//! Each case takes a fresh store from `make` and panics with the rule it found broken.

mod guards;
mod keys_and_audit;
mod people;
pub mod secrets;
mod users;
mod verifications;

use std::future::Future;
use std::time::Duration;

use crate::domain::code::CodeKeys;
use crate::domain::fields::{FieldCatalog, EMAIL};
use crate::domain::password::PasswordHash;
use crate::domain::{
    Channel, Delivery, EmailAddress, FieldValue, Flow, LookupKey, ResetSecret, SystemUserId,
    Timestamp, User, UserId, VerificationId, VerificationRecord,
};
use crate::ports::{CompletedReset, Store};

use self::guards::*;
use self::keys_and_audit::*;
use self::people::*;
use self::users::*;
use self::verifications::*;

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
        delivery: Delivery::Queued,
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
    issuing_an_existing_id_is_a_duplicate(make().await).await;
    delivery_state_is_recorded_and_changes_nothing_else(make().await).await;
    concurrent_completes_succeed_exactly_once(make().await).await;
    index_returns_every_user_under_a_value(make().await).await;
    api_keys_are_found_by_hash_only(make().await).await;
    api_keys_are_listed_whole(make().await).await;
    api_key_revocations_are_scheduled_by_id_and_never_postponed(make().await).await;
    rate_limit_allows_max_per_window(make().await).await;
    concurrent_hits_never_exceed_the_limit(make().await).await;
    hits_together_count_all_or_none(make().await).await;
    concurrent_hits_together_never_exceed_any_limit(make().await).await;
    audit_events_are_written_once_and_read_back_in_key_order(make().await).await;
    audit_digests_keep_their_place_and_chain_order(make().await).await;
    idempotency_keys_are_claimed_once_then_replayed(make().await).await;
    concurrent_idempotency_claims_have_one_winner(make().await).await;
    suppressions_are_kept_until_cleared(make().await).await;
    system_user_ids_are_claimed_once(make().await).await;
    concurrent_claims_of_one_system_user_id_have_one_winner(make().await).await;
    users_without_a_system_user_id_are_numbered_once(make().await).await;
    a_person_write_moves_the_index_and_keeps_the_credential(make().await).await;
    a_person_write_on_a_stale_read_applies_nothing(make().await).await;
    an_exclusive_value_is_held_by_one_person(make().await).await;
    a_person_write_may_not_take_a_held_number(make().await).await;
    a_removal_takes_the_person_and_their_entries(make().await).await;
}

#[cfg(test)]
mod tests {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn memory_store_keeps_the_contract() {
        super::run(|| async { crate::adapters::memory::MemoryStore::new() }).await;
    }
}
