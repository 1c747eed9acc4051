//! The `guards` table: rate-limit windows and `Idempotency-Key` records, both with TTL;
//! suppressed addresses, without.

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, TransactWriteItem, Update};

use super::errors::{build_error, condition_failed, unavailable};
use super::items::{attr, n, s, Item, Reader};
use super::transaction::TransactError;
use super::{DynamoStore, LostRace};
use crate::domain::idempotency::{
    Fingerprint, IdempotencyKey, IdempotencyRecord, IdempotencyState, StoredResponse,
};
use crate::domain::{Suppression, SuppressionKey, SuppressionReason, Timestamp};
use crate::ports::{
    Claim, IdempotencyStore, OverLimit, RateLimit, RateLimiter, StoreError, SuppressionList,
};

/// How long a rate-limit window's item outlives the window, so TTL never removes a
/// window that is still counting.
const GUARD_SLACK_SECS: u64 = 60;

// Idempotency records.

pub(super) fn idempotency_guard_key(key: &IdempotencyKey) -> String {
    format!("idem#{}", key.as_ref())
}

impl TryFrom<Item> for IdempotencyRecord {
    type Error = StoreError;

    fn try_from(item: Item) -> Result<Self, StoreError> {
        let r = Reader::new("guards", &item.0);
        let state = match r.opt_n::<u16>(attr::STATUS)? {
            None => IdempotencyState::InFlight,
            Some(status) => IdempotencyState::Completed(StoredResponse {
                status,
                content_type: r.s(attr::CONTENT_TYPE)?.to_owned(),
                body: r.blob(attr::BODY)?.to_vec(),
            }),
        };
        Ok(IdempotencyRecord {
            fingerprint: Fingerprint::from_stored(r.s(attr::FINGERPRINT)?.to_owned()),
            owner: r.s(attr::OWNER)?.to_owned(),
            state,
            expires_at: r.timestamp(attr::EXPIRES_AT)?,
        })
    }
}

impl IdempotencyStore for DynamoStore {
    /// One conditional put takes a free or expired key; when it is held, the holder's
    /// record is read back consistently.
    async fn claim(
        &self,
        key: &IdempotencyKey,
        fingerprint: &Fingerprint,
        owner: &str,
        now: Timestamp,
        lock_until: Timestamp,
    ) -> Result<Claim, StoreError> {
        let guard_key = idempotency_guard_key(key);
        let put = self
            .client
            .put_item()
            .table_name(&self.tables.guards)
            .item(attr::GUARD_KEY, s(&guard_key))
            .item(attr::FINGERPRINT, s(fingerprint.as_ref()))
            .item(attr::OWNER, s(owner))
            .item(attr::EXPIRES_AT, n(lock_until.unix_seconds()))
            .condition_expression("attribute_not_exists(#k) OR #exp < :now")
            .expression_attribute_names("#k", attr::GUARD_KEY)
            .expression_attribute_names("#exp", attr::EXPIRES_AT)
            .expression_attribute_values(":now", n(now.unix_seconds()))
            .send()
            .await;
        match put {
            Ok(_) => Ok(Claim::Acquired),
            Err(e) if condition_failed(&e) => match self
                .get_item(&self.tables.guards, attr::GUARD_KEY, &guard_key)
                .await?
            {
                Some(item) => Ok(Claim::Existing(IdempotencyRecord::try_from(item)?)),
                // Released between our put and our read: the caller may simply retry.
                None => Err(StoreError::Missing(guard_key)),
            },
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn complete(
        &self,
        key: &IdempotencyKey,
        owner: &str,
        response: &StoredResponse,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.tables.guards)
            .key(attr::GUARD_KEY, s(idempotency_guard_key(key)))
            .update_expression("SET #status = :status, #ct = :ct, #body = :body, #exp = :exp")
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", attr::OWNER)
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_names("#status", attr::STATUS)
            .expression_attribute_names("#ct", attr::CONTENT_TYPE)
            .expression_attribute_names("#body", attr::BODY)
            .expression_attribute_names("#exp", attr::EXPIRES_AT)
            .expression_attribute_values(":status", n(response.status))
            .expression_attribute_values(":ct", s(&response.content_type))
            .expression_attribute_values(
                ":body",
                AttributeValue::B(Blob::new(response.body.clone())),
            )
            .expression_attribute_values(":exp", n(expires_at.unix_seconds()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                if condition_failed(&e) {
                    StoreError::Missing(key.as_ref().to_owned())
                } else {
                    unavailable(e)
                }
            })
    }

    async fn release(&self, key: &IdempotencyKey, owner: &str) -> Result<(), StoreError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.tables.guards)
            .key(attr::GUARD_KEY, s(idempotency_guard_key(key)))
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", attr::OWNER)
            .expression_attribute_values(":owner", s(owner))
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }
}

impl RateLimiter for DynamoStore {
    /// One transaction of the buckets' conditional `ADD`s: all count or none does, in one
    /// round trip, and the SDK's retry of a transaction whose answer was lost carries the
    /// same `ClientRequestToken`, which DynamoDB applies once.
    async fn hit_together(
        &self,
        hits: &[(String, RateLimit)],
        now: Timestamp,
    ) -> Result<Result<(), OverLimit>, StoreError> {
        let mut windows = Vec::with_capacity(hits.len());
        let mut actions = Vec::with_capacity(hits.len());
        for (bucket, limit) in hits {
            let window = limit.window_secs.max(1);
            let start = now.unix_seconds() - now.unix_seconds() % window;
            let end = start + window;
            windows.push(end.saturating_sub(now.unix_seconds()).max(1));
            let update = Update::builder()
                .table_name(&self.tables.guards)
                .key(attr::GUARD_KEY, s(format!("rate#{bucket}#{start}")))
                .update_expression("ADD #hits :one SET #exp = :exp")
                .condition_expression("attribute_not_exists(#hits) OR #hits < :max")
                .expression_attribute_names("#hits", attr::HITS)
                .expression_attribute_names("#exp", attr::EXPIRES_AT)
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":exp", n(end + GUARD_SLACK_SECS))
                .expression_attribute_values(":max", n(limit.max))
                .build()
                .map_err(build_error)?;
            actions.push(TransactWriteItem::builder().update(update).build());
        }
        if actions.is_empty() {
            return Ok(Ok(()));
        }
        match self.transact(actions).await {
            Ok(()) => Ok(Ok(())),
            Err(TransactError::Cancelled(c)) => {
                match (0..windows.len()).find(|&i| c.condition_failed_at(i)) {
                    Some(index) => Ok(Err(OverLimit {
                        index,
                        retry_after_secs: windows[index],
                    })),
                    // Conflicts past the retries: another request holds these counters.
                    None => Err(StoreError::unavailable(LostRace)),
                }
            }
            Err(TransactError::Unavailable(e)) => Err(e),
        }
    }
}

// Suppressed addresses: `suppressed#{pseudonym}`, no `expires_at` (TTL never removes one).

fn suppression_guard_key(key: &SuppressionKey) -> String {
    format!("suppressed#{}", key.as_ref())
}

impl SuppressionList for DynamoStore {
    /// A conditional put: the first entry stays.
    async fn suppress(
        &self,
        key: &SuppressionKey,
        suppression: &Suppression,
    ) -> Result<(), StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.tables.guards)
            .item(attr::GUARD_KEY, s(suppression_guard_key(key)))
            .item(attr::REASON, s(suppression.reason.as_str()))
            .item(attr::AT, n(suppression.since.unix_seconds()))
            .condition_expression("attribute_not_exists(#k)")
            .expression_attribute_names("#k", attr::GUARD_KEY)
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn suppression(&self, key: &SuppressionKey) -> Result<Option<Suppression>, StoreError> {
        let Some(item) = self
            .get_item(
                &self.tables.guards,
                attr::GUARD_KEY,
                &suppression_guard_key(key),
            )
            .await?
        else {
            return Ok(None);
        };
        let r = Reader::new("guards", &item.0);
        Ok(Some(Suppression {
            reason: r.parsed(attr::REASON, |v| {
                SuppressionReason::parse(v).ok_or("unknown reason")
            })?,
            since: r.timestamp(attr::AT)?,
        }))
    }

    async fn clear_suppression(&self, key: &SuppressionKey) -> Result<bool, StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.tables.guards)
            .key(attr::GUARD_KEY, s(suppression_guard_key(key)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.attributes.is_some_and(|a| !a.is_empty()))
    }
}
