//! SDK errors to port errors, in one place.
//!
//! A lost condition is an answer, not a failure: single writes report it through
//! [`condition_failed`], transactions through [`cancellation`]. Everything else the network
//! or the service can say is `StoreError::Unavailable`, with the SDK error as its source.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;

use crate::ports::StoreError;

/// Any SDK error as `Unavailable`, keeping the SDK's error (code, message, request id).
pub(super) fn unavailable<E, R>(err: SdkError<E, R>) -> StoreError
where
    aws_sdk_dynamodb::Error: From<SdkError<E, R>>,
{
    StoreError::unavailable(aws_sdk_dynamodb::Error::from(err))
}

/// A request builder refused its input: a bug here, reported rather than panicking.
pub(super) fn build_error(err: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::unavailable(err)
}

/// Operation errors that can say "the condition failed".
pub(super) trait ConditionalWriteError {
    fn is_condition_failed(&self) -> bool;
}

impl ConditionalWriteError for PutItemError {
    fn is_condition_failed(&self) -> bool {
        self.is_conditional_check_failed_exception()
    }
}

impl ConditionalWriteError for DeleteItemError {
    fn is_condition_failed(&self) -> bool {
        self.is_conditional_check_failed_exception()
    }
}

impl ConditionalWriteError for UpdateItemError {
    fn is_condition_failed(&self) -> bool {
        self.is_conditional_check_failed_exception()
    }
}

/// True when a single conditional write failed its condition.
pub(super) fn condition_failed<E: ConditionalWriteError, R>(err: &SdkError<E, R>) -> bool {
    err.as_service_error().is_some_and(E::is_condition_failed)
}

/// Why a transaction was cancelled, when it was for a reason the caller answers (a
/// condition failed, or a concurrent transaction touched the same item).
#[derive(Debug)]
pub(super) struct Cancelled {
    /// Positions, in request order, of the actions whose condition failed.
    failed_conditions: Vec<usize>,
    /// Positions of the actions a concurrent transaction was writing at the same time.
    conflicts: Vec<usize>,
}

impl Cancelled {
    pub fn condition_failed_at(&self, action: usize) -> bool {
        self.failed_conditions.contains(&action)
    }

    /// Cancelled for `TransactionConflict` alone: no condition failed, so trying again
    /// may well apply.
    pub fn only_conflicts(&self) -> bool {
        self.failed_conditions.is_empty()
    }

    pub fn conflict_at(&self, action: usize) -> bool {
        self.conflicts.contains(&action)
    }
}

/// `Some` if `err` is a `TransactionCanceledException` whose every reason is
/// `ConditionalCheckFailed` or `TransactionConflict`; `None` for anything else (throttling,
/// validation, the network), which callers report as `Unavailable`.
pub(super) fn cancellation<R>(err: &SdkError<TransactWriteItemsError, R>) -> Option<Cancelled> {
    let Some(TransactWriteItemsError::TransactionCanceledException(e)) = err.as_service_error()
    else {
        return None;
    };
    let mut failed_conditions = Vec::new();
    let mut conflicts = Vec::new();
    let mut lost = false;
    for (i, reason) in e.cancellation_reasons().iter().enumerate() {
        match reason.code() {
            None | Some("None") => {}
            Some("ConditionalCheckFailed") => {
                failed_conditions.push(i);
                lost = true;
            }
            Some("TransactionConflict") => {
                conflicts.push(i);
                lost = true;
            }
            Some(_) => return None,
        }
    }
    lost.then_some(Cancelled {
        failed_conditions,
        conflicts,
    })
}
