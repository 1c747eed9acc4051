//! The audit trail's two jobs after the fact: sealing ended periods into signed, chained
//! digests (the scheduled digest job), and verifying the log against them (`resetctl audit
//! verify`). Both need only the log and the stage's code keys.

use std::time::Duration;

use thiserror::Error;

use crate::domain::audit_digest::{
    check_link, check_period, AuditDigest, AuditFinding, Period, FIRST_RUN_LOOKBACK_SECONDS,
    PERIODS_PER_RUN,
};
use crate::domain::{CodeKeys, Timestamp};
use crate::ports::{AuditLog, StoreError};

pub struct AuditTrail<L> {
    log: L,
    keys: CodeKeys,
}

/// What one digest run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sealed {
    pub periods: usize,
    pub digests: usize,
    pub events: usize,
    /// Where the sealed log now ends (the last sealed period's end).
    pub sealed_until: Option<Timestamp>,
    /// Another run was sealing the same period: this one stopped there.
    pub yielded: bool,
}

/// What a verification found when the log matched its digests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verified {
    pub digests: usize,
    pub periods: usize,
    pub sealed_events: usize,
    pub sealed_until: Option<Timestamp>,
    /// Events after the last sealed period: not yet covered by any digest.
    pub unsealed_events: usize,
}

#[derive(Debug, Error)]
pub enum VerifyError {
    #[error(transparent)]
    Finding(#[from] AuditFinding),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl<L: AuditLog> AuditTrail<L> {
    pub fn new(log: L, keys: CodeKeys) -> Self {
        Self { log, keys }
    }

    /// Seals every period that ended at least the seal delay before `now`, from where the
    /// chain ends (or three periods back on a stage's first run), at most a day's periods per run.
    /// Safe to run twice at once: both compute the same digests, and the store keeps one.
    pub async fn seal_due(&self, now: Timestamp) -> Result<Sealed, StoreError> {
        let (mut period, mut first_part, mut previous) = match self.log.last_digest().await? {
            None => (
                Period::containing(Timestamp::from_unix_seconds(
                    now.unix_seconds()
                        .saturating_sub(FIRST_RUN_LOOKBACK_SECONDS),
                )),
                0,
                None,
            ),
            Some(d) if d.last_part => (d.period.next(), 0, Some(d.signature)),
            // A run stopped between a crowded period's parts: finish that period.
            Some(d) => (d.period, d.part + 1, Some(d.signature)),
        };
        let mut sealed = Sealed::default();
        while period.sealable(now) && sealed.periods < PERIODS_PER_RUN {
            let events = self.log.events_between(period.from, period.to).await?;
            for digest in AuditDigest::seal(&self.keys, period, &events, first_part, previous) {
                match self.log.put_digest(&digest).await {
                    Ok(()) => {}
                    Err(StoreError::Duplicate(_)) => {
                        sealed.yielded = true;
                        return Ok(sealed);
                    }
                    Err(e) => return Err(e),
                }
                previous = Some(digest.signature);
                sealed.digests += 1;
            }
            sealed.periods += 1;
            sealed.events += events.len();
            sealed.sealed_until = Some(period.to);
            period = period.next();
            first_part = 0;
        }
        Ok(sealed)
    }

    /// Checks every digest's signature and link, then every sealed period's events against
    /// its digests, and counts the events after the last sealed period (up to `now`). The
    /// first difference is the error, naming the event or digest.
    pub async fn verify(&self, now: Timestamp) -> Result<Verified, VerifyError> {
        let digests = self.log.digests().await?;
        let mut verified = Verified {
            digests: digests.len(),
            ..Verified::default()
        };
        let mut previous: Option<&AuditDigest> = None;
        let mut period_start = 0;
        for (i, digest) in digests.iter().enumerate() {
            check_link(&self.keys, previous, digest)?;
            previous = Some(digest);
            if digest.last_part {
                let parts = &digests[period_start..=i];
                let stored = self
                    .log
                    .events_between(digest.period.from, digest.period.to)
                    .await?;
                check_period(parts, &stored)?;
                verified.periods += 1;
                verified.sealed_events += stored.len();
                verified.sealed_until = Some(digest.period.to);
                period_start = i + 1;
            }
        }
        // A period cut off between parts counts as unsealed until its last part is written.
        let unsealed_from = verified.sealed_until.unwrap_or_else(|| {
            Timestamp::from_unix_seconds(
                now.unix_seconds()
                    .saturating_sub(FIRST_RUN_LOOKBACK_SECONDS),
            )
        });
        verified.unsealed_events = self
            .log
            .events_between(unsealed_from, now.plus(Duration::from_secs(1)))
            .await?
            .len();
        Ok(verified)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::memory::MemoryStore;
    use crate::domain::audit_digest::{PERIOD_SECONDS, SEAL_DELAY_SECONDS};
    use crate::domain::{AuditAction, AuditEvent, EventId, RecordedEvent};

    const T0: u64 = 1_800_000_000;
    /// Seconds between the test events: 12 of them fit the first run's lookback.
    const SPACING: u64 = 45;

    fn keys() -> CodeKeys {
        CodeKeys::new(vec![vec![3; 32]]).unwrap()
    }

    async fn log_with_events(n: u8) -> (MemoryStore, Vec<RecordedEvent>) {
        let store = MemoryStore::new();
        let mut events = Vec::new();
        for i in 0..n {
            let e = RecordedEvent {
                id: EventId::from_random([i; 16]),
                event: AuditEvent::new(
                    Timestamp::from_unix_seconds(T0 + u64::from(i) * SPACING),
                    AuditAction::ResetRequested,
                ),
            };
            store.record(&e).await.unwrap();
            events.push(e);
        }
        (store, events)
    }

    fn after_all(n: u8) -> Timestamp {
        Timestamp::from_unix_seconds(
            T0 + u64::from(n) * SPACING + PERIOD_SECONDS + SEAL_DELAY_SECONDS,
        )
    }

    #[tokio::test]
    async fn sealed_events_verify_and_later_ones_are_reported_unsealed() {
        let (store, _) = log_with_events(12).await;
        let trail = AuditTrail::new(store.clone(), keys());
        let sealed = trail.seal_due(after_all(12)).await.unwrap();
        assert_eq!(sealed.events, 12);
        assert_eq!(sealed.digests, sealed.periods, "one part each");

        store
            .record(&RecordedEvent {
                id: EventId::from_random([0xaa; 16]),
                event: AuditEvent::new(after_all(12), AuditAction::CodeSent),
            })
            .await
            .unwrap();
        let verified = trail.verify(after_all(12)).await.unwrap();
        assert_eq!(verified.sealed_events, 12);
        assert_eq!(verified.digests, sealed.digests);
        assert_eq!(verified.unsealed_events, 1);

        let again = trail.seal_due(after_all(12)).await.unwrap();
        assert_eq!(again.periods, 0, "nothing is sealed twice");
    }

    #[tokio::test]
    async fn each_kind_of_tampering_is_named() {
        let (store, events) = log_with_events(12).await;
        let trail = AuditTrail::new(store.clone(), keys());
        trail.seal_due(after_all(12)).await.unwrap();
        let now = after_all(12);

        store.tamper_with_event(&events[4].key(), |e| e.detail = Some("edited".into()));
        assert_eq!(
            trail.verify(now).await.unwrap_err().to_string(),
            AuditFinding::Altered(events[4].key()).to_string()
        );
        store.tamper_with_event(&events[4].key(), |e| e.detail = None);

        store.delete_event(&events[5].key());
        assert_eq!(
            trail.verify(now).await.unwrap_err().to_string(),
            AuditFinding::Missing(events[5].key()).to_string()
        );
        store.insert_event(events[5].clone());

        let mut forged = events[6].clone();
        forged.id = EventId::from_random([0xf0; 16]);
        store.insert_event(forged.clone());
        assert_eq!(
            trail.verify(now).await.unwrap_err().to_string(),
            AuditFinding::Inserted(forged.key()).to_string()
        );
        store.delete_event(&forged.key());

        // A whole period: every event of the one holding events[7].
        let period = Period::containing(events[7].event.at);
        let gone: Vec<_> = events
            .iter()
            .filter(|e| period.from <= e.event.at && e.event.at < period.to)
            .collect();
        for e in &gone {
            store.delete_event(&e.key());
        }
        assert_eq!(
            trail.verify(now).await.unwrap_err().to_string(),
            AuditFinding::Missing(gone[0].key()).to_string()
        );
    }

    #[tokio::test]
    async fn a_run_that_stops_is_resumed_by_the_next_and_two_runs_at_once_write_one_chain() {
        let (store, _) = log_with_events(12).await;
        let trail = AuditTrail::new(store.clone(), keys());
        let midway = Timestamp::from_unix_seconds(T0 + PERIOD_SECONDS + SEAL_DELAY_SECONDS);
        let first = trail.seal_due(midway).await.unwrap();
        let rest = trail.seal_due(after_all(12)).await.unwrap();
        assert_eq!(
            (first.events, rest.events),
            (7, 5),
            "the first period, then the next"
        );
        assert!(trail.verify(after_all(12)).await.is_ok());

        let (store, _) = log_with_events(6).await;
        let (a, b) = (
            AuditTrail::new(store.clone(), keys()),
            AuditTrail::new(store.clone(), keys()),
        );
        let (a, b) = tokio::join!(a.seal_due(after_all(6)), b.seal_due(after_all(6)));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(
            store.digests().await.unwrap().len(),
            a.digests.max(b.digests),
            "the same digests, stored once"
        );
        assert!(trail.verify(after_all(6)).await.is_ok());

        let mut rival = store.last_digest().await.unwrap().unwrap();
        rival.previous = None;
        assert!(matches!(
            store.put_digest(&rival).await,
            Err(StoreError::Duplicate(_))
        ));
    }
}
