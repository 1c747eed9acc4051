//! The one way this adapter runs a `TransactWriteItems`.
//!
//! DynamoDB cancels a transaction with `TransactionConflict` when another transaction or
//! write touches one of its items at the same moment, and it may cancel *every* racer that
//! way: two confirms of one code can both be refused although one of them should win. A
//! cancellation caused only by conflicts is therefore tried again, after a short jittered
//! pause, a bounded number of times; only then is the race called lost. A failed condition
//! is an answer and goes straight back to the caller.

use std::time::Duration;

use aws_sdk_dynamodb::types::TransactWriteItem;

use super::errors::{cancellation, unavailable, Cancelled};
use super::DynamoStore;
use crate::ports::StoreError;

/// Retries after a conflict-only cancellation, before the race counts as lost.
const CONFLICT_RETRIES: u32 = 3;
/// The pause before retry `n` (1-based) is up to `n` times this, jittered.
const CONFLICT_PAUSE: Duration = Duration::from_millis(25);

/// Why a transaction did not apply, when the caller has an answer for it.
#[derive(Debug)]
pub(super) enum TransactError {
    /// A condition failed, or conflicts outlasted the retries (no condition failed then).
    Cancelled(Cancelled),
    Unavailable(StoreError),
}

impl DynamoStore {
    pub(super) async fn transact(
        &self,
        actions: Vec<TransactWriteItem>,
    ) -> Result<(), TransactError> {
        let mut retry = 0;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(actions.clone()))
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(()),
                Err(err) => err,
            };
            match cancellation(&err) {
                Some(c) if c.only_conflicts() && retry < CONFLICT_RETRIES => {
                    retry += 1;
                    tokio::time::sleep(jittered(CONFLICT_PAUSE * retry)).await;
                }
                Some(c) => return Err(TransactError::Cancelled(c)),
                None => return Err(TransactError::Unavailable(unavailable(err))),
            }
        }
    }
}

/// A uniformly random pause in `[max / 2, max]`, so racers that conflicted once do not
/// retry in lockstep.
fn jittered(max: Duration) -> Duration {
    let mut b = [0u8; 4];
    // No randomness only means no jitter: the retry still happens.
    let r = getrandom::fill(&mut b).map_or(0, |()| u32::from_le_bytes(b));
    let half = max / 2;
    half + half.mul_f64(f64::from(r) / f64::from(u32::MAX))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;

    use aws_sdk_dynamodb::operation::transact_write_items::{
        TransactWriteItemsError, TransactWriteItemsOutput,
    };
    use aws_sdk_dynamodb::types::error::TransactionCanceledException;
    use aws_sdk_dynamodb::types::CancellationReason;
    use aws_smithy_mocks::{mock, mock_client, MockResponse, RuleMode};

    use crate::adapters::dynamodb::DynamoStore;
    use crate::domain::password::PasswordHash;
    use crate::domain::{Timestamp, UserId, VerificationId};
    use crate::ports::{CompletedReset, ConsumeError, VerificationStore};

    fn cancelled(code: &str) -> TransactWriteItemsError {
        let reason = |c: &str| CancellationReason::builder().code(c).build();
        TransactWriteItemsError::TransactionCanceledException(
            TransactionCanceledException::builder()
                .cancellation_reasons(reason(code))
                .cancellation_reasons(reason("None"))
                .build(),
        )
    }

    /// DynamoDB as two racing confirms of one code meet it: the first attempt of each is
    /// cancelled for `TransactionConflict`; afterwards the first transaction to arrive
    /// applies and every later one fails its condition (the code is consumed).
    fn racing_table() -> (DynamoStore, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let consumed = Arc::new(AtomicBool::new(false));
        let counted = calls.clone();
        let rule = mock!(aws_sdk_dynamodb::Client::transact_write_items).then_compute_response(
            move |_| {
                if counted.fetch_add(1, Ordering::SeqCst) < 2 {
                    MockResponse::Error(cancelled("TransactionConflict"))
                } else if consumed.swap(true, Ordering::SeqCst) {
                    MockResponse::Error(cancelled("ConditionalCheckFailed"))
                } else {
                    MockResponse::Output(TransactWriteItemsOutput::builder().build())
                }
            },
        );
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, &[&rule]);
        (DynamoStore::new(client, "resetkit-test-"), calls)
    }

    fn reset() -> CompletedReset {
        CompletedReset {
            verification: VerificationId::from_random([1; 16]),
            user: UserId::from_random([2; 16]),
            expected_credential_version: 0,
            new_password_hash: PasswordHash::from_phc(
                "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            ),
            now: Timestamp::from_unix_seconds(1_800_000_000),
        }
    }

    #[tokio::test]
    async fn two_confirms_that_both_meet_a_conflict_first_end_with_exactly_one_success() {
        let (store, calls) = racing_table();
        let (first, second) = (reset(), reset());
        let (a, b) = tokio::join!(store.complete_reset(&first), store.complete_reset(&second));
        let outcomes = [a, b];
        let won = outcomes.iter().filter(|r| r.is_ok()).count();
        let lost = outcomes
            .iter()
            .filter(|r| matches!(r, Err(ConsumeError::Rejected)))
            .count();
        assert_eq!((won, lost), (1, 1), "{outcomes:?}");
        assert_eq!(calls.load(Ordering::SeqCst), 4, "each racer retried once");
    }
}
