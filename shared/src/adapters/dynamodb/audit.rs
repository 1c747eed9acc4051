//! The `audit` table: one item per event, and the digests that seal them.
//!
//! | item   | `stream` (partition)              | `event_id` (sort)      |
//! |--------|-----------------------------------|------------------------|
//! | event  | `events#<period start>#<shard>`   | `<at>#<event id>`      |
//! | digest | `digests`                         | `<period start>#<part>`|
//!
//! An event's partition is its 5-minute period and one of `SHARDS` shards drawn from its
//! random id, so that no caller, key or person concentrates writes on one partition whatever
//! the load (16 partitions take a period's events; DynamoDB serves 1,000 writes per second
//! to each). Reading a period back is `SHARDS` key queries. The `by_user` index (sparse:
//! only events about a person) lists one person's events. Digests are written once per
//! period, so their one partition is never hot.

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;

use super::errors::{condition_failed, unavailable};
use super::items::{attr, n, s, Attrs, Item, Reader};
use super::DynamoStore;
use crate::domain::audit_digest::{AuditDigest, Period, Signature, PERIOD_SECONDS};
use crate::domain::{
    AuditAction, AuditEvent, Channel, EventId, EventKey, Location, RecordedEvent, Timestamp, UserId,
};
use crate::ports::{AuditLog, StoreError};

/// Partitions per period of events.
const SHARDS: u8 = 16;
const BUCKET_SECONDS: u64 = PERIOD_SECONDS;
const DIGESTS: &str = "digests";
/// The index of one person's events.
pub(super) const BY_USER: &str = "by_user";

fn bucket(at: Timestamp, shard: u8) -> String {
    let start = at.unix_seconds() - at.unix_seconds() % BUCKET_SECONDS;
    format!("events#{start}#{shard}")
}

/// Zero-padded, so that sort keys order as numbers.
fn seconds_key(at: Timestamp) -> String {
    format!("{:011}", at.unix_seconds())
}

fn event_sort_key(key: &EventKey) -> String {
    format!("{}#{}", seconds_key(key.at), key.id)
}

fn digest_sort_key(period: Period, part: u32) -> String {
    format!("{}#{part:06}", seconds_key(period.from))
}

/// The event as stored. It holds no secret by construction (masked destination, key id not
/// key), and nothing is added.
impl From<&RecordedEvent> for Item {
    fn from(recorded: &RecordedEvent) -> Self {
        let e = &recorded.event;
        let key = recorded.key();
        let mut item = Item::default();
        item.put(
            attr::STREAM,
            s(bucket(e.at, recorded.id.as_bytes()[0] % SHARDS)),
        );
        item.put(attr::EVENT_ID, s(event_sort_key(&key)));
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

impl TryFrom<Item> for RecordedEvent {
    type Error = StoreError;

    fn try_from(item: Item) -> Result<Self, StoreError> {
        let r = Reader::new("audit", &item.0);
        let id = match r.s(attr::EVENT_ID)?.split_once('#') {
            Some(_) => r.parsed(attr::EVENT_ID, |k| {
                k.split_once('#')
                    .and_then(|(_, id)| EventId::parse(id))
                    .ok_or("is not <seconds>#<event id>")
            })?,
            // A link of the hash chains that stored events before this layout (`stream`
            // `user:<id>` and the like, `event_id` its sequence number): still readable in a
            // person's history, under an id derived from where it is stored. No digest
            // covers it.
            None => legacy_id(r.s(attr::STREAM)?, r.s(attr::EVENT_ID)?),
        };
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
        Ok(RecordedEvent { id, event })
    }
}

fn legacy_id(stream: &str, seq: &str) -> EventId {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(stream.as_bytes())
        .chain_update([0])
        .chain_update(seq.as_bytes())
        .finalize();
    let mut id = [0u8; 16];
    id.copy_from_slice(&digest[..16]);
    EventId::from_random(id)
}

impl From<&AuditDigest> for Item {
    fn from(d: &AuditDigest) -> Self {
        let mut item = Item::default();
        item.put(attr::STREAM, s(DIGESTS));
        item.put(attr::EVENT_ID, s(digest_sort_key(d.period, d.part)));
        item.put(attr::PERIOD_FROM, n(d.period.from.unix_seconds()));
        item.put(attr::PERIOD_TO, n(d.period.to.unix_seconds()));
        item.put(attr::PART, n(d.part));
        item.put(attr::LAST_PART, AttributeValue::Bool(d.last_part));
        item.put(
            attr::ENTRIES,
            AttributeValue::B(Blob::new(d.entries_bytes())),
        );
        item.put_opt(attr::PREVIOUS, d.previous.map(|p| s(p.to_string())));
        item.put(attr::SIGNATURE, s(d.signature.to_string()));
        item
    }
}

impl TryFrom<Item> for AuditDigest {
    type Error = StoreError;

    fn try_from(item: Item) -> Result<Self, StoreError> {
        let r = Reader::new("audit", &item.0);
        let signature = |name| r.parsed(name, |v| Signature::parse(v).ok_or("is not a signature"));
        Ok(AuditDigest {
            period: Period {
                from: r.timestamp(attr::PERIOD_FROM)?,
                to: r.timestamp(attr::PERIOD_TO)?,
            },
            part: r.n(attr::PART)?,
            last_part: r.bool(attr::LAST_PART)?,
            entries: AuditDigest::parse_entries(r.blob(attr::ENTRIES)?)
                .ok_or_else(|| r.corrupt(attr::ENTRIES, "is not a list of digest entries"))?,
            previous: match r.opt_s(attr::PREVIOUS)? {
                None => None,
                Some(_) => Some(signature(attr::PREVIOUS)?),
            },
            signature: signature(attr::SIGNATURE)?,
        })
    }
}

/// An audit item's primary key.
fn key_of(item: &Attrs) -> Attrs {
    [attr::STREAM, attr::EVENT_ID]
        .into_iter()
        .filter_map(|k| Some((k.to_owned(), item.get(k)?.clone())))
        .collect()
}

impl DynamoStore {
    /// Puts `item` unless its key is taken; a taken key holding exactly `item` (this very
    /// write, retried after its answer was lost) counts as written.
    async fn put_once(&self, item: Attrs, name: impl FnOnce() -> String) -> Result<(), StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.tables.audit)
            .set_item(Some(item.clone()))
            .condition_expression("attribute_not_exists(#eid)")
            .expression_attribute_names("#eid", attr::EVENT_ID)
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => {
                let held = self
                    .client
                    .get_item()
                    .table_name(&self.tables.audit)
                    .set_key(Some(key_of(&item)))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(unavailable)?;
                match held.item {
                    Some(held) if held == item => Ok(()),
                    _ => Err(StoreError::Duplicate(name())),
                }
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Every item of one partition with a sort key in `[low, high]`, in key order.
    async fn query_range(
        &self,
        partition: String,
        low: String,
        high: String,
    ) -> Result<Vec<Attrs>, StoreError> {
        self.client
            .query()
            .table_name(&self.tables.audit)
            .key_condition_expression("#p = :p AND #s BETWEEN :low AND :high")
            .expression_attribute_names("#p", attr::STREAM)
            .expression_attribute_names("#s", attr::EVENT_ID)
            .expression_attribute_values(":p", s(partition))
            .expression_attribute_values(":low", s(low))
            .expression_attribute_values(":high", s(high))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(unavailable)
    }
}

impl AuditLog for DynamoStore {
    async fn record(&self, event: &RecordedEvent) -> Result<(), StoreError> {
        self.put_once(Item::from(event).into_attrs(), || event.key().to_string())
            .await
    }

    async fn events_between(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        if to <= from {
            return Ok(Vec::new());
        }
        // `<seconds>#` sorts before every key of that second: from `from`'s first event up
        // to, not including, `to`'s.
        let (low, high) = (
            format!("{}#", seconds_key(from)),
            format!("{}#", seconds_key(to)),
        );
        let mut events = Vec::new();
        let mut bucket_start = from.unix_seconds() - from.unix_seconds() % BUCKET_SECONDS;
        while bucket_start < to.unix_seconds() {
            let at = Timestamp::from_unix_seconds(bucket_start);
            for shard in 0..SHARDS {
                for item in self
                    .query_range(bucket(at, shard), low.clone(), high.clone())
                    .await?
                {
                    events.push(RecordedEvent::try_from(Item(item))?);
                }
            }
            bucket_start += BUCKET_SECONDS;
        }
        events.sort_by_key(RecordedEvent::key);
        Ok(events)
    }

    async fn user_events(&self, user: &UserId) -> Result<Vec<RecordedEvent>, StoreError> {
        let items = self
            .client
            .query()
            .table_name(&self.tables.audit)
            .index_name(BY_USER)
            .key_condition_expression("#u = :u")
            .expression_attribute_names("#u", attr::USER_ID)
            .expression_attribute_values(":u", s(user.as_ref()))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(unavailable)?;
        items
            .into_iter()
            .map(|i| RecordedEvent::try_from(Item(i)))
            .collect()
    }

    async fn last_digest(&self) -> Result<Option<AuditDigest>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.tables.audit)
            .key_condition_expression("#p = :p")
            .expression_attribute_names("#p", attr::STREAM)
            .expression_attribute_values(":p", s(DIGESTS))
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
            .map(|i| AuditDigest::try_from(Item(i)))
            .transpose()
    }

    async fn put_digest(&self, digest: &AuditDigest) -> Result<(), StoreError> {
        self.put_once(Item::from(digest).into_attrs(), || digest.name())
            .await
    }

    async fn digests(&self) -> Result<Vec<AuditDigest>, StoreError> {
        // Every digest sort key is digits and `#`: between "0" and ":" (after '9').
        self.query_range(DIGESTS.to_owned(), "0".into(), ":".into())
            .await?
            .into_iter()
            .map(|i| AuditDigest::try_from(Item(i)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SystemUserId;

    #[test]
    fn events_round_trip_and_hold_only_what_the_event_holds() {
        let mut e = AuditEvent::new(
            Timestamp::from_unix_seconds(325),
            AuditAction::PasswordChanged,
        );
        e.destination = Some("z***@example.com".into());
        e.location = Some(Location {
            latitude: 51.5,
            longitude: -0.12,
        });
        e.source_ip = Some("203.0.113.5".into());
        e.system_user_id = Some(SystemUserId::new(1001).unwrap());
        let recorded = RecordedEvent {
            id: EventId::from_random([0x0b; 16]),
            event: e,
        };
        let item = Item::from(&recorded).into_attrs();
        assert_eq!(
            item.get(attr::STREAM),
            Some(&s("events#300#11")),
            "period 300, shard 0x0b % 16"
        );
        assert_eq!(
            item.get(attr::EVENT_ID),
            Some(&s(format!("00000000325#{}", "0b".repeat(16))))
        );
        assert_eq!(item.get(attr::LATITUDE), Some(&n(51.5)));
        assert_eq!(item.get(attr::SYSTEM_USER_ID), Some(&n(1001)));
        assert!(!item.contains_key(attr::ACTOR));
        assert_eq!(RecordedEvent::try_from(Item(item)).unwrap(), recorded);
    }

    #[test]
    fn a_link_of_the_old_hash_chains_still_reads_as_an_event() {
        let mut item = Item::default();
        item.put(attr::STREAM, s("user:0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a"));
        item.put(attr::EVENT_ID, s("00000000000000000002"));
        item.put(attr::AT, n(5));
        item.put(attr::ACTION, s("code_sent"));
        item.put(attr::USER_ID, s("0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a"));
        item.put("prev_hash", s("00"));
        let attrs = item.into_attrs();
        let read = RecordedEvent::try_from(Item(attrs.clone())).expect("an old link reads");
        assert_eq!(read.event.action, AuditAction::CodeSent);
        assert_eq!(
            RecordedEvent::try_from(Item(attrs)).unwrap().id,
            read.id,
            "the same id each time it is read"
        );
    }
}
