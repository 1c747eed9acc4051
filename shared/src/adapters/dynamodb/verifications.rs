//! The verification store: issue, read, count failures, revoke, and the one transaction
//! that consumes a code and changes the password.

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem, Update};

use super::errors::{build_error, condition_failed, unavailable};
use super::items::{attr, n, s, Item, Reader};
use super::transaction::TransactError;
use super::{boolean, DynamoStore, LostRace};
use crate::domain::{
    Channel, CodeHash, Delivery, Flow, Timestamp, UserId, VerificationId, VerificationRecord,
};
use crate::ports::{AttemptCount, CompletedReset, ConsumeError, StoreError, VerificationStore};

/// The condition under which a record may still be used or counted against.
const USABLE: &str = "#consumed = :false AND #attempts < #max AND #expires > :now";

impl From<&VerificationRecord> for Item {
    fn from(v: &VerificationRecord) -> Self {
        let mut item = Item::default();
        item.put(attr::VERIFICATION_ID, s(v.id.as_ref()));
        item.put(attr::USER_ID, s(v.user_id.as_ref()));
        item.put(attr::FLOW, s(v.flow.as_str()));
        item.put(attr::CHANNEL, s(v.channel.as_str()));
        item.put(
            attr::CODE_HASH,
            AttributeValue::B(Blob::new(v.code_hash.as_bytes().to_vec())),
        );
        item.put(attr::CREATED_AT, n(v.created_at.unix_seconds()));
        item.put(attr::EXPIRES_AT, n(v.expires_at.unix_seconds()));
        item.put(attr::ATTEMPTS, n(v.attempts));
        item.put(attr::MAX_ATTEMPTS, n(v.max_attempts));
        item.put(attr::CONSUMED, AttributeValue::Bool(v.consumed));
        item.put(attr::DELIVERY, s(v.delivery.as_str()));
        if let Delivery::Sent { message_id } = &v.delivery {
            item.put(attr::MESSAGE_ID, s(message_id));
        }
        item
    }
}

impl TryFrom<Item> for VerificationRecord {
    type Error = StoreError;

    fn try_from(item: Item) -> Result<Self, StoreError> {
        let r = Reader::new("verifications", &item.0);
        let hash: [u8; 32] = r
            .blob(attr::CODE_HASH)?
            .try_into()
            .map_err(|_| r.corrupt(attr::CODE_HASH, "is not 32 bytes"))?;
        Ok(VerificationRecord {
            id: r.parsed(attr::VERIFICATION_ID, VerificationId::parse)?,
            user_id: r.parsed(attr::USER_ID, UserId::parse)?,
            flow: r.parsed(attr::FLOW, |f| Flow::parse(f).ok_or("is not a known flow"))?,
            channel: r.parsed(attr::CHANNEL, |c| {
                Channel::parse(c).ok_or("is not a known channel")
            })?,
            code_hash: CodeHash::from_bytes(hash),
            created_at: r.timestamp(attr::CREATED_AT)?,
            expires_at: r.timestamp(attr::EXPIRES_AT)?,
            attempts: r.n(attr::ATTEMPTS)?,
            max_attempts: r.n(attr::MAX_ATTEMPTS)?,
            consumed: r.bool(attr::CONSUMED)?,
            delivery: {
                let message_id = r.opt_s(attr::MESSAGE_ID)?.map(str::to_owned);
                r.parsed(attr::DELIVERY, |d| {
                    Delivery::parse(d, message_id.clone()).ok_or("is not a delivery state")
                })?
            },
        })
    }
}

impl VerificationStore for DynamoStore {
    /// One transaction: the new record, and the user's `latest_verification` pointing at it
    /// (only if the user exists), so every earlier record is superseded.
    async fn issue(&self, record: &VerificationRecord) -> Result<(), StoreError> {
        let put = Put::builder()
            .table_name(&self.tables.verifications)
            .set_item(Some(Item::from(record).into_attrs()))
            .condition_expression("attribute_not_exists(#vid)")
            .expression_attribute_names("#vid", attr::VERIFICATION_ID)
            .build()
            .map_err(build_error)?;
        let point = Update::builder()
            .table_name(&self.tables.users)
            .key(attr::USER_ID, s(record.user_id.as_ref()))
            .update_expression("SET #latest = :vid")
            .condition_expression("attribute_exists(#uid)")
            .expression_attribute_names("#latest", attr::LATEST_VERIFICATION)
            .expression_attribute_names("#uid", attr::USER_ID)
            .expression_attribute_values(":vid", s(record.id.as_ref()))
            .build()
            .map_err(build_error)?;
        let actions = vec![
            TransactWriteItem::builder().put(put).build(),
            TransactWriteItem::builder().update(point).build(),
        ];
        match self.transact(actions).await {
            Ok(()) => Ok(()),
            Err(TransactError::Cancelled(c)) if c.condition_failed_at(1) => {
                Err(StoreError::Missing(record.user_id.to_string()))
            }
            Err(TransactError::Cancelled(c)) if c.condition_failed_at(0) => {
                Err(StoreError::Duplicate(record.id.to_string()))
            }
            Err(TransactError::Cancelled(_)) => Err(StoreError::unavailable(LostRace)),
            Err(TransactError::Unavailable(e)) => Err(e),
        }
    }

    /// TTL deletion can lag by days, so an item past `expires_at` reads as gone.
    async fn get_verification(
        &self,
        id: &VerificationId,
        now: Timestamp,
    ) -> Result<Option<VerificationRecord>, StoreError> {
        let Some(item) = self
            .get_item(
                &self.tables.verifications,
                attr::VERIFICATION_ID,
                id.as_ref(),
            )
            .await?
        else {
            return Ok(None);
        };
        let record = VerificationRecord::try_from(item)?;
        Ok((record.expires_at > now).then_some(record))
    }

    async fn record_failure(
        &self,
        id: &VerificationId,
        now: Timestamp,
    ) -> Result<AttemptCount, ConsumeError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.tables.verifications)
            .key(attr::VERIFICATION_ID, s(id.as_ref()))
            .update_expression("ADD #attempts :one")
            .condition_expression(USABLE)
            .expression_attribute_names("#consumed", attr::CONSUMED)
            .expression_attribute_names("#attempts", attr::ATTEMPTS)
            .expression_attribute_names("#max", attr::MAX_ATTEMPTS)
            .expression_attribute_names("#expires", attr::EXPIRES_AT)
            .expression_attribute_values(":false", boolean(false))
            .expression_attribute_values(":now", n(now.unix_seconds()))
            .expression_attribute_values(":one", n(1))
            // The whole item, since `burned` needs `max_attempts` as well as the new count.
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        let out = match update {
            Ok(out) => out,
            Err(e) if condition_failed(&e) => return Err(ConsumeError::Rejected),
            Err(e) => return Err(unavailable(e).into()),
        };
        let attrs = out.attributes.unwrap_or_default();
        let r = Reader::new("verifications", &attrs);
        let (attempts, max): (u32, u32) = (r.n(attr::ATTEMPTS)?, r.n(attr::MAX_ATTEMPTS)?);
        Ok(AttemptCount {
            attempts,
            burned: attempts >= max,
        })
    }

    /// Two independent writes, each a no-op when already done: the record can never be
    /// consumed again, and the user stops pointing at it (unless a newer one took over).
    async fn revoke(&self, id: &VerificationId, user: &UserId) -> Result<(), StoreError> {
        let burn = self
            .client
            .update_item()
            .table_name(&self.tables.verifications)
            .key(attr::VERIFICATION_ID, s(id.as_ref()))
            .update_expression("SET #consumed = :true")
            .condition_expression("attribute_exists(#vid)")
            .expression_attribute_names("#consumed", attr::CONSUMED)
            .expression_attribute_names("#vid", attr::VERIFICATION_ID)
            .expression_attribute_values(":true", boolean(true))
            .send()
            .await;
        match burn {
            Ok(_) => {}
            Err(e) if condition_failed(&e) => {}
            Err(e) => return Err(unavailable(e)),
        }
        let unpoint = self
            .client
            .update_item()
            .table_name(&self.tables.users)
            .key(attr::USER_ID, s(user.as_ref()))
            .update_expression("REMOVE #latest")
            .condition_expression("#latest = :vid")
            .expression_attribute_names("#latest", attr::LATEST_VERIFICATION)
            .expression_attribute_values(":vid", s(id.as_ref()))
            .send()
            .await;
        match unpoint {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Sets the state (and the message id, or removes a stale one) on an existing record.
    async fn record_delivery(
        &self,
        id: &VerificationId,
        delivery: &Delivery,
    ) -> Result<(), StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.tables.verifications)
            .key(attr::VERIFICATION_ID, s(id.as_ref()))
            .condition_expression("attribute_exists(#vid)")
            .expression_attribute_names("#vid", attr::VERIFICATION_ID)
            .expression_attribute_names("#delivery", attr::DELIVERY)
            .expression_attribute_values(":d", s(delivery.as_str()));
        let update = match delivery {
            Delivery::Sent { message_id } => update
                .update_expression("SET #delivery = :d, #mid = :mid")
                .expression_attribute_names("#mid", attr::MESSAGE_ID)
                .expression_attribute_values(":mid", s(message_id)),
            // A bounce or complaint keeps the id of the message it is about.
            Delivery::Bounced | Delivery::Complained => {
                update.update_expression("SET #delivery = :d")
            }
            _ => update
                .update_expression("SET #delivery = :d REMOVE #mid")
                .expression_attribute_names("#mid", attr::MESSAGE_ID),
        };
        match update.send().await {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(StoreError::Missing(id.to_string())),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// One transaction with two conditions: the record is usable and belongs to the user;
    /// the user still points at it and has the expected credential version. Of any number
    /// of concurrent calls, DynamoDB lets at most one through.
    async fn complete_reset(&self, reset: &CompletedReset) -> Result<(), ConsumeError> {
        let consume = Update::builder()
            .table_name(&self.tables.verifications)
            .key(attr::VERIFICATION_ID, s(reset.verification.as_ref()))
            .update_expression("SET #consumed = :true")
            .condition_expression(format!("{USABLE} AND #uid = :uid"))
            .expression_attribute_names("#consumed", attr::CONSUMED)
            .expression_attribute_names("#attempts", attr::ATTEMPTS)
            .expression_attribute_names("#max", attr::MAX_ATTEMPTS)
            .expression_attribute_names("#expires", attr::EXPIRES_AT)
            .expression_attribute_names("#uid", attr::USER_ID)
            .expression_attribute_values(":true", boolean(true))
            .expression_attribute_values(":false", boolean(false))
            .expression_attribute_values(":now", n(reset.now.unix_seconds()))
            .expression_attribute_values(":uid", s(reset.user.as_ref()))
            .build()
            .map_err(|e| ConsumeError::Store(build_error(e)))?;
        let change = Update::builder()
            .table_name(&self.tables.users)
            .key(attr::USER_ID, s(reset.user.as_ref()))
            .update_expression("SET #hash = :hash, #cv = #cv + :one REMOVE #latest")
            .condition_expression("#latest = :vid AND #cv = :expected")
            .expression_attribute_names("#hash", attr::PASSWORD_HASH)
            .expression_attribute_names("#cv", attr::CREDENTIAL_VERSION)
            .expression_attribute_names("#latest", attr::LATEST_VERIFICATION)
            .expression_attribute_values(":hash", s(reset.new_password_hash.as_phc()))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":vid", s(reset.verification.as_ref()))
            .expression_attribute_values(":expected", n(reset.expected_credential_version))
            .build()
            .map_err(|e| ConsumeError::Store(build_error(e)))?;
        let actions = vec![
            TransactWriteItem::builder().update(consume).build(),
            TransactWriteItem::builder().update(change).build(),
        ];
        // A failed condition, or conflicts past the retries: this confirm lost.
        self.transact(actions).await.map_err(|e| match e {
            TransactError::Cancelled(_) => ConsumeError::Rejected,
            TransactError::Unavailable(e) => ConsumeError::Store(e),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::code::CodeHash;

    #[test]
    fn verifications_round_trip() {
        let v = VerificationRecord {
            id: VerificationId::from_random([2; 16]),
            user_id: UserId::from_random([3; 16]),
            flow: Flow::Link,
            channel: Channel::Sms,
            code_hash: CodeHash::from_bytes([4; 32]),
            created_at: Timestamp::from_unix_seconds(1_800_000_000),
            expires_at: Timestamp::from_unix_seconds(1_800_003_600),
            attempts: 2,
            max_attempts: 5,
            consumed: false,
            delivery: Delivery::Sent {
                message_id: "0100018f-ses-id".into(),
            },
        };
        assert_eq!(VerificationRecord::try_from(Item::from(&v)).unwrap(), v);
    }

    #[test]
    fn a_malformed_verification_item_is_corrupt_not_a_panic() {
        let mut item = Item::from(&VerificationRecord {
            id: VerificationId::from_random([2; 16]),
            user_id: UserId::from_random([3; 16]),
            flow: Flow::StaffCode,
            channel: Channel::Email,
            code_hash: CodeHash::from_bytes([4; 32]),
            created_at: Timestamp::from_unix_seconds(1),
            expires_at: Timestamp::from_unix_seconds(2),
            attempts: 0,
            max_attempts: 5,
            consumed: false,
            delivery: Delivery::Queued,
        })
        .into_attrs();
        item.insert(
            attr::CODE_HASH.into(),
            AttributeValue::B(Blob::new(vec![1, 2, 3])),
        );
        assert!(matches!(
            VerificationRecord::try_from(Item(item)),
            Err(StoreError::Corrupt(_))
        ));
    }
}
