//! Signed digests of the audit log, after AWS CloudTrail's log file integrity validation.
//!
//! Events are written without coordination (`audit`). Afterwards, once a period has ended,
//! a digest job lists the period's events in order (each by its key and hash), signs the
//! list with an HMAC under a purpose key of the stage secret and chains it to the digest
//! before it. Editing, removing or adding a sealed event then no longer matches its
//! period's digest; removing or forging a digest breaks the chain. A period with more events
//! than one digest item can hold is sealed in several parts, chained the same way.

use std::fmt;

use thiserror::Error;

use super::audit::{EventId, EventKey, RecordedEvent};
use super::code::CodeKeys;
use super::time::Timestamp;

/// The length of a sealed period: the digest job runs at this rate.
pub const PERIOD_SECONDS: u64 = 300;
/// How long after a period ends it is sealed: an event reaches the table within its write's
/// time budget (5 s) of being stamped, so a minute leaves it ample room.
pub const SEAL_DELAY_SECONDS: u64 = 60;
/// How far back a stage's very first digest run starts: the schedule starts with the
/// stack and runs every period, so three periods cover the stage's first events.
pub const FIRST_RUN_LOOKBACK_SECONDS: u64 = 3 * PERIOD_SECONDS;
/// The most periods one run seals (a day), so that catching up after an outage fits in a
/// run's time; the next run goes on from there.
pub const PERIODS_PER_RUN: usize = 288;
/// Entries per digest part: 56 bytes each, 224 KB, under DynamoDB's 400 KB item limit.
pub const ENTRIES_PER_PART: usize = 4000;

/// A sealed span of time, `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Period {
    pub from: Timestamp,
    pub to: Timestamp,
}

impl Period {
    /// The period holding `at`.
    pub fn containing(at: Timestamp) -> Self {
        let from = at.unix_seconds() - at.unix_seconds() % PERIOD_SECONDS;
        Self::starting(Timestamp::from_unix_seconds(from))
    }

    pub fn starting(from: Timestamp) -> Self {
        Self {
            from,
            to: Timestamp::from_unix_seconds(from.unix_seconds() + PERIOD_SECONDS),
        }
    }

    pub fn next(self) -> Self {
        Self::starting(self.to)
    }

    /// Whether the period ended long enough before `now` for all its events to be stored.
    pub fn sealable(self, now: Timestamp) -> bool {
        self.to.unix_seconds() + SEAL_DELAY_SECONDS <= now.unix_seconds()
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}..{}",
            self.from.unix_seconds(),
            self.to.unix_seconds()
        )
    }
}

/// One event as its digest lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigestEntry {
    pub key: EventKey,
    pub hash: [u8; 32],
}

impl From<&RecordedEvent> for DigestEntry {
    fn from(e: &RecordedEvent) -> Self {
        Self {
            key: e.key(),
            hash: e.hash(),
        }
    }
}

const ENTRY_LEN: usize = 8 + 16 + 32;

/// A digest's signature: HMAC-SHA-256 under the stage's audit-digest key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; 32]);

impl Signature {
    pub fn parse(hex_sig: &str) -> Option<Self> {
        let mut b = [0u8; 32];
        hex::decode_to_slice(hex_sig, &mut b).ok()?;
        Some(Self(b))
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// One digest: a period's events (or one part of them) in key order, chained to the digest
/// before it and signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditDigest {
    pub period: Period,
    /// 0 for a period's first part.
    pub part: u32,
    /// Whether this part ends its period.
    pub last_part: bool,
    pub entries: Vec<DigestEntry>,
    /// The signature of the digest before it; `None` for a stage's first.
    pub previous: Option<Signature>,
    pub signature: Signature,
}

impl AuditDigest {
    /// The digests of `period`, whose stored `events` (in key order) are all its events,
    /// chained from `previous`, beginning at part `first_part` (a run that stopped after some
    /// parts resumes where it stopped). Always at least one, even for a quiet period: a
    /// digest per period is what makes a deleted period visible.
    pub fn seal(
        keys: &CodeKeys,
        period: Period,
        events: &[RecordedEvent],
        first_part: u32,
        mut previous: Option<Signature>,
    ) -> Vec<AuditDigest> {
        let entries: Vec<DigestEntry> = events.iter().map(DigestEntry::from).collect();
        let chunks: Vec<&[DigestEntry]> = if entries.is_empty() {
            vec![&[]]
        } else {
            entries.chunks(ENTRIES_PER_PART).collect()
        };
        let count = chunks.len();
        let mut digests = Vec::new();
        for (part, chunk) in chunks.into_iter().enumerate() {
            let part = u32::try_from(part).unwrap_or(u32::MAX);
            if part < first_part {
                continue;
            }
            let mut digest = AuditDigest {
                period,
                part,
                last_part: part as usize + 1 == count,
                entries: chunk.to_vec(),
                previous,
                signature: Signature([0; 32]),
            };
            digest.signature = Signature(keys.sign_audit_digest(&digest.signed_bytes()));
            previous = Some(digest.signature);
            digests.push(digest);
        }
        digests
    }

    /// Where the digest sits in the chain, as findings name it.
    pub fn name(&self) -> String {
        format!("digest {} part {}", self.period, self.part)
    }

    /// The entries as stored: 56 bytes each (time, id, hash).
    pub fn entries_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.entries.len() * ENTRY_LEN);
        for e in &self.entries {
            out.extend_from_slice(&e.key.at.unix_seconds().to_be_bytes());
            out.extend_from_slice(e.key.id.as_bytes());
            out.extend_from_slice(&e.hash);
        }
        out
    }

    /// Reads what `entries_bytes` wrote; `None` if the length is not a whole number of entries.
    pub fn parse_entries(bytes: &[u8]) -> Option<Vec<DigestEntry>> {
        if !bytes.len().is_multiple_of(ENTRY_LEN) {
            return None;
        }
        bytes
            .chunks_exact(ENTRY_LEN)
            .map(|c| {
                let at = u64::from_be_bytes(c[..8].try_into().ok()?);
                let id: [u8; 16] = c[8..24].try_into().ok()?;
                let hash: [u8; 32] = c[24..].try_into().ok()?;
                Some(DigestEntry {
                    key: EventKey {
                        at: Timestamp::from_unix_seconds(at),
                        id: EventId::from_random(id),
                    },
                    hash,
                })
            })
            .collect()
    }

    /// Every field but the signature, framed: what the signature covers.
    fn signed_bytes(&self) -> Vec<u8> {
        let mut b = b"resetkit audit digest v1\0".to_vec();
        b.extend_from_slice(&self.period.from.unix_seconds().to_be_bytes());
        b.extend_from_slice(&self.period.to.unix_seconds().to_be_bytes());
        b.extend_from_slice(&self.part.to_be_bytes());
        b.push(u8::from(self.last_part));
        b.extend_from_slice(&(self.entries.len() as u64).to_be_bytes());
        b.extend_from_slice(&self.entries_bytes());
        match self.previous {
            Some(p) => {
                b.push(1);
                b.extend_from_slice(&p.0);
            }
            None => b.push(0),
        }
        b
    }
}

/// What `resetctl audit verify` reports when the log and its digests disagree: the first
/// difference, in chain and key order.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AuditFinding {
    #[error("event {0} was altered after it was sealed")]
    Altered(EventKey),
    #[error("event {0} is missing: its period's digest lists it")]
    Missing(EventKey),
    #[error("event {0} was inserted: no digest lists it")]
    Inserted(EventKey),
    #[error("{0} is not signed by the stage's audit key (forged or altered)")]
    Forged(String),
    #[error("{found} does not follow {previous}: a digest between them was removed or replaced")]
    Unchained { previous: String, found: String },
    #[error("{found} follows {previous}, which should be followed by period {expected}: a digest is missing")]
    Gap {
        previous: String,
        expected: String,
        found: String,
    },
}

/// Checks that `digest` is signed and follows `previous` (the digest before it in the
/// chain, `None` for the first).
pub fn check_link(
    keys: &CodeKeys,
    previous: Option<&AuditDigest>,
    digest: &AuditDigest,
) -> Result<(), AuditFinding> {
    if !keys.audit_digest_signed(&digest.signed_bytes(), &digest.signature.0) {
        return Err(AuditFinding::Forged(digest.name()));
    }
    let Some(previous) = previous else {
        return match digest.previous {
            None => Ok(()),
            // The stage's first digest was removed.
            Some(_) => Err(AuditFinding::Unchained {
                previous: "the start of the log".into(),
                found: digest.name(),
            }),
        };
    };
    let (expected_period, expected_part) = if previous.last_part {
        (previous.period.next(), 0)
    } else {
        (previous.period, previous.part + 1)
    };
    if (digest.period, digest.part) != (expected_period, expected_part) {
        return Err(AuditFinding::Gap {
            previous: previous.name(),
            expected: format!("{expected_period} part {expected_part}"),
            found: digest.name(),
        });
    }
    if digest.previous != Some(previous.signature) {
        return Err(AuditFinding::Unchained {
            previous: previous.name(),
            found: digest.name(),
        });
    }
    Ok(())
}

/// Checks a sealed period: its digests' entries against the events stored for it, both
/// in key order. Names the first event that differs.
pub fn check_period(parts: &[AuditDigest], stored: &[RecordedEvent]) -> Result<(), AuditFinding> {
    let mut listed = parts.iter().flat_map(|d| d.entries.iter()).peekable();
    let mut found = stored.iter().peekable();
    loop {
        match (listed.peek(), found.peek()) {
            (None, None) => return Ok(()),
            (Some(l), None) => return Err(AuditFinding::Missing(l.key)),
            (None, Some(f)) => return Err(AuditFinding::Inserted(f.key())),
            (Some(l), Some(f)) => {
                let key = f.key();
                if l.key < key {
                    return Err(AuditFinding::Missing(l.key));
                }
                if key < l.key {
                    return Err(AuditFinding::Inserted(key));
                }
                if l.hash != f.hash() {
                    return Err(AuditFinding::Altered(key));
                }
                listed.next();
                found.next();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AuditAction, AuditEvent};

    fn keys() -> CodeKeys {
        CodeKeys::new(vec![vec![1; 32]]).unwrap()
    }

    fn period() -> Period {
        Period::containing(Timestamp::from_unix_seconds(1_000_000))
    }

    fn events(n: u8) -> Vec<RecordedEvent> {
        let mut events: Vec<RecordedEvent> = (0..n)
            .map(|i| RecordedEvent {
                id: EventId::from_random([i; 16]),
                event: AuditEvent::new(
                    Timestamp::from_unix_seconds(period().from.unix_seconds() + u64::from(i)),
                    AuditAction::CodeSent,
                ),
            })
            .collect();
        events.sort_by_key(RecordedEvent::key);
        events
    }

    #[test]
    fn periods_are_aligned_and_sealed_only_after_the_delay() {
        let p = Period::containing(Timestamp::from_unix_seconds(1_000_123));
        assert_eq!(
            p.from.unix_seconds(),
            1_000_123 - 1_000_123 % PERIOD_SECONDS
        );
        assert_eq!(p.next().from, p.to);
        let end = p.to.unix_seconds();
        assert!(!p.sealable(Timestamp::from_unix_seconds(end + SEAL_DELAY_SECONDS - 1)));
        assert!(p.sealable(Timestamp::from_unix_seconds(end + SEAL_DELAY_SECONDS)));
    }

    #[test]
    fn a_sealed_period_verifies_and_its_entries_round_trip() {
        let stored = events(5);
        let digests = AuditDigest::seal(&keys(), period(), &stored, 0, None);
        assert_eq!(digests.len(), 1);
        assert!(digests[0].last_part);
        assert_eq!(check_link(&keys(), None, &digests[0]), Ok(()));
        assert_eq!(check_period(&digests, &stored), Ok(()));
        assert_eq!(
            AuditDigest::parse_entries(&digests[0].entries_bytes()).as_ref(),
            Some(&digests[0].entries)
        );
        assert_eq!(AuditDigest::parse_entries(&[0; 55]), None);
    }

    #[test]
    fn changing_deleting_or_inserting_an_event_is_named() {
        let stored = events(5);
        let digests = AuditDigest::seal(&keys(), period(), &stored, 0, None);

        let mut changed = stored.clone();
        changed[2].event.detail = Some("nothing to see".into());
        assert_eq!(
            check_period(&digests, &changed),
            Err(AuditFinding::Altered(stored[2].key()))
        );

        let mut deleted = stored.clone();
        deleted.remove(3);
        assert_eq!(
            check_period(&digests, &deleted),
            Err(AuditFinding::Missing(stored[3].key()))
        );

        let mut inserted = stored.clone();
        let mut extra = stored[1].clone();
        extra.id = EventId::from_random([0xee; 16]);
        inserted.insert(2, extra.clone());
        inserted.sort_by_key(RecordedEvent::key);
        assert_eq!(
            check_period(&digests, &inserted),
            Err(AuditFinding::Inserted(extra.key()))
        );

        assert_eq!(
            check_period(&digests, &[]),
            Err(AuditFinding::Missing(stored[0].key())),
            "a whole period deleted names its first event"
        );
    }

    #[test]
    fn the_chain_finds_a_forged_removed_or_reordered_digest() {
        let k = keys();
        let first = AuditDigest::seal(&k, period(), &events(2), 0, None).remove(0);
        let second =
            AuditDigest::seal(&k, period().next(), &[], 0, Some(first.signature)).remove(0);
        let third = AuditDigest::seal(
            &k,
            period().next().next(),
            &events(1),
            0,
            Some(second.signature),
        )
        .remove(0);
        assert_eq!(check_link(&k, Some(&first), &second), Ok(()));
        assert_eq!(check_link(&k, Some(&second), &third), Ok(()));

        assert!(matches!(
            check_link(&k, Some(&first), &third),
            Err(AuditFinding::Gap { .. })
        ));
        let mut forged = second.clone();
        forged.entries.push(DigestEntry::from(&events(1)[0]));
        assert!(matches!(
            check_link(&k, Some(&first), &forged),
            Err(AuditFinding::Forged(_))
        ));
        // Re-signed by someone without the key: still not the stage's signature.
        let other = CodeKeys::new(vec![vec![2; 32]]).unwrap();
        let resigned = AuditDigest::seal(&other, period().next(), &[], 0, Some(first.signature));
        assert!(matches!(
            check_link(&k, Some(&first), &resigned[0]),
            Err(AuditFinding::Forged(_))
        ));
        assert!(matches!(
            check_link(&k, None, &second),
            Err(AuditFinding::Unchained { .. })
        ));
    }

    #[test]
    fn a_crowded_period_is_sealed_in_chained_parts() {
        let mut stored: Vec<RecordedEvent> = (0..(ENTRIES_PER_PART + 1))
            .map(|i| RecordedEvent {
                id: EventId::from_random(u128::try_from(i).unwrap().to_be_bytes()),
                event: AuditEvent::new(period().from, AuditAction::RateLimited),
            })
            .collect();
        stored.sort_by_key(RecordedEvent::key);
        let k = keys();
        let digests = AuditDigest::seal(&k, period(), &stored, 0, None);
        assert_eq!(digests.len(), 2);
        assert!(!digests[0].last_part && digests[1].last_part);
        assert_eq!(check_link(&k, Some(&digests[0]), &digests[1]), Ok(()));
        assert_eq!(check_period(&digests, &stored), Ok(()));
        let resumed = AuditDigest::seal(&k, period(), &stored, 1, Some(digests[0].signature));
        assert_eq!(
            resumed,
            digests[1..],
            "a resumed run writes the same last part"
        );
    }
}
