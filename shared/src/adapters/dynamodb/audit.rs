//! The `audit` table: append-only hash chains of events, one per stream.

use std::str::FromStr;

use super::errors::{condition_failed, unavailable};
use super::items::{attr, n, s, Item, Reader};
use super::DynamoStore;
use crate::domain::audit::ChainedEvent;
use crate::domain::{AuditAction, AuditEvent, Channel, Location, UserId};
use crate::ports::{AuditLog, StoreError};

/// A link's sort key: its sequence number, zero-padded so that keys sort as numbers.
pub(super) fn audit_event_id(seq: u64) -> String {
    format!("{seq:020}")
}

/// The link, keyed by stream and sequence. The event holds no secret by construction
/// (masked destination, key id not key), and nothing is added.
impl From<&ChainedEvent> for Item {
    fn from(link: &ChainedEvent) -> Self {
        let e = &link.event;
        let mut item = Item::default();
        item.put(attr::STREAM, s(&link.stream));
        item.put(attr::EVENT_ID, s(audit_event_id(link.seq)));
        item.put(attr::PREV_HASH, s(&link.prev_hash));
        item.put(attr::HASH, s(&link.hash));
        item.put(attr::AT, n(e.at.unix_seconds()));
        item.put(attr::ACTION, s(e.action.as_str()));
        item.put_opt(attr::ACTOR, e.actor.as_deref().map(s));
        item.put_opt(attr::USER_ID, e.user_id.as_ref().map(|u| s(u.as_ref())));
        item.put_opt(attr::SYSTEM_USER_ID, e.system_user_id.map(|id| n(id.get())));
        item.put_opt(attr::CHANNEL, e.channel.map(|c| s(c.as_str())));
        item.put_opt(attr::DESTINATION, e.destination.as_deref().map(s));
        item.put_opt(attr::SOURCE_IP, e.source_ip.as_deref().map(s));
        item.put_opt(attr::LATITUDE, e.location.map(|l| n(l.latitude)));
        item.put_opt(attr::LONGITUDE, e.location.map(|l| n(l.longitude)));
        item.put_opt(attr::DETAIL, e.detail.as_deref().map(s));
        item
    }
}

impl TryFrom<Item> for ChainedEvent {
    type Error = StoreError;

    fn try_from(item: Item) -> Result<Self, StoreError> {
        let r = Reader::new("audit", &item.0);
        let seq = r.parsed(attr::EVENT_ID, u64::from_str)?;
        let location = match (
            r.opt_n::<f64>(attr::LATITUDE)?,
            r.opt_n::<f64>(attr::LONGITUDE)?,
        ) {
            (Some(latitude), Some(longitude)) => Some(Location {
                latitude,
                longitude,
            }),
            _ => None,
        };
        let event = AuditEvent {
            at: r.timestamp(attr::AT)?,
            action: r.parsed(attr::ACTION, |a| {
                AuditAction::parse(a).ok_or("is not an action")
            })?,
            actor: r.opt_s(attr::ACTOR)?.map(str::to_owned),
            user_id: r.parsed_opt(attr::USER_ID, UserId::parse)?,
            system_user_id: r.system_user_id()?,
            channel: r.parsed_opt(attr::CHANNEL, |c| {
                Channel::parse(c).ok_or("is not a channel")
            })?,
            destination: r.opt_s(attr::DESTINATION)?.map(str::to_owned),
            source_ip: r.opt_s(attr::SOURCE_IP)?.map(str::to_owned),
            location,
            detail: r.opt_s(attr::DETAIL)?.map(str::to_owned),
        };
        Ok(ChainedEvent {
            stream: r.s(attr::STREAM)?.to_owned(),
            seq,
            prev_hash: r.s(attr::PREV_HASH)?.to_owned(),
            hash: r.s(attr::HASH)?.to_owned(),
            event,
        })
    }
}

impl DynamoStore {
    /// A key query for one audit stream's links, in `seq` order unless reversed.
    fn stream_query(
        &self,
        stream: &str,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.tables.audit)
            .key_condition_expression("#stream = :stream")
            .expression_attribute_names("#stream", attr::STREAM)
            .expression_attribute_values(":stream", s(stream))
    }
}

impl DynamoStore {
    /// The link at `(stream, seq)`, read consistently.
    async fn audit_link(&self, stream: &str, seq: u64) -> Result<Option<ChainedEvent>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.audit)
            .key(attr::STREAM, s(stream))
            .key(attr::EVENT_ID, s(audit_event_id(seq)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        out.item
            .map(|i| ChainedEvent::try_from(Item(i)))
            .transpose()
    }
}

impl AuditLog for DynamoStore {
    async fn audit_head(&self, stream: &str) -> Result<Option<ChainedEvent>, StoreError> {
        let out = self
            .stream_query(stream)
            .scan_index_forward(false)
            .limit(1)
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        out.items
            .unwrap_or_default()
            .into_iter()
            .next()
            .map(|i| ChainedEvent::try_from(Item(i)))
            .transpose()
    }

    /// The condition makes a link impossible to replace: of two writers extending the same
    /// head, one gets `Duplicate` and re-chains.
    async fn append_link(&self, link: &ChainedEvent) -> Result<(), StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.tables.audit)
            .set_item(Some(Item::from(link).into_attrs()))
            .condition_expression("attribute_not_exists(#eid)")
            .expression_attribute_names("#eid", attr::EVENT_ID)
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            // Held: by another writer, or by this very link when an earlier attempt landed
            // and its answer was lost (the SDK then retries). The stored link says which.
            Err(e) if condition_failed(&e) => {
                match self.audit_link(&link.stream, link.seq).await? {
                    Some(held) if held == *link => Ok(()),
                    _ => Err(StoreError::Duplicate(format!(
                        "{}#{}",
                        link.stream, link.seq
                    ))),
                }
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn read_stream(&self, stream: &str) -> Result<Vec<ChainedEvent>, StoreError> {
        let pages = self
            .stream_query(stream)
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(unavailable)?;
        pages
            .into_iter()
            .map(|i| ChainedEvent::try_from(Item(i)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{SystemUserId, Timestamp};

    #[test]
    fn audit_links_round_trip_and_hold_only_what_the_event_holds() {
        let mut e = AuditEvent::new(
            Timestamp::from_unix_seconds(5),
            AuditAction::PasswordChanged,
        );
        e.destination = Some("z***@example.com".into());
        e.location = Some(Location {
            latitude: 51.5,
            longitude: -0.12,
        });
        e.source_ip = Some("203.0.113.5".into());
        e.system_user_id = Some(SystemUserId::new(1001).unwrap());
        let link = ChainedEvent::next(None, e);
        let item = Item::from(&link).into_attrs();
        assert_eq!(item.get(attr::STREAM), Some(&s("ip:203.0.113.5")));
        assert_eq!(item.get(attr::EVENT_ID), Some(&s("00000000000000000001")));
        assert_eq!(item.get(attr::LATITUDE), Some(&n(51.5)));
        assert_eq!(item.get(attr::SYSTEM_USER_ID), Some(&n(1001)));
        assert!(!item.contains_key(attr::ACTOR));
        assert_eq!(ChainedEvent::try_from(Item(item)).unwrap(), link);
    }
}
