//! `resetctl audit verify` and `resetctl audit seal`: the digest job's two sides, run by an
//! operator. Both need the stage's code keys (the digests are signed under a key derived
//! from them), read as the functions read them.

use std::fmt;

use resetkit::domain::{CodeKeys, Timestamp};
use resetkit::ports::AuditLog;
use resetkit::service::{AuditTrail, Sealed, Verified, VerifyError};

/// Checks every digest and every sealed event; the error names the first altered, missing
/// or inserted event, or the forged or missing digest.
pub async fn verify<L: AuditLog>(
    log: L,
    keys: CodeKeys,
    now: Timestamp,
) -> Result<VerifyReport, VerifyError> {
    AuditTrail::new(log, keys)
        .verify(now)
        .await
        .map(VerifyReport)
}

/// Seals what the scheduled digest job would seal now (for a stage without the schedule,
/// or to catch up at once).
pub async fn seal<L: AuditLog>(
    log: L,
    keys: CodeKeys,
    now: Timestamp,
) -> Result<Sealed, resetkit::ports::StoreError> {
    AuditTrail::new(log, keys).seal_due(now).await
}

#[derive(Debug)]
pub struct VerifyReport(pub Verified);

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = &self.0;
        match v.sealed_until {
            Some(until) => writeln!(
                f,
                "intact: {} events in {} periods, {} signed digests, sealed until {}",
                v.sealed_events,
                v.periods,
                v.digests,
                until.unix_seconds()
            )?,
            None => writeln!(f, "no digest yet: nothing is sealed")?,
        }
        writeln!(
            f,
            "unsealed: {} events after the last sealed period (the digest job seals them when their period ends)",
            v.unsealed_events
        )
    }
}

/// Records `event` as the operator's (actor `resetctl`), under a fresh random id.
pub async fn record_as_operator(
    log: &impl resetkit::ports::AuditLog,
    mut event: resetkit::domain::AuditEvent,
) -> Result<(), resetkit::ports::StoreError> {
    use resetkit::ports::RandomSource;
    event.actor = Some("resetctl".to_owned());
    let mut id = [0u8; 16];
    resetkit::ports::OsRandom.fill(&mut id);
    log.record(&resetkit::domain::RecordedEvent {
        id: resetkit::domain::EventId::from_random(id),
        event,
    })
    .await
}
