//! `resetctl deliveries` and `resetctl suppression clear`: what became of the messages sent
//! to one person (from their audit events: an index query, no scan), whether their addresses
//! are suppressed, and lifting a suppression.
//!
//! Suppressions are keyed by a pseudonym under the stage's code keys (see
//! `SuppressionKey`), so both commands need the code secrets, read as the functions read
//! them.

use std::fmt;

use resetkit::domain::message::Destination;
use resetkit::domain::{
    AuditAction, AuditEvent, CodeKeys, EmailAddress, PhoneE164, Suppression, SuppressionKey,
    Timestamp,
};
use resetkit::ports::{Store, StoreError};
use thiserror::Error;

use crate::people::{person_ids, IdsError, PersonIds};

/// How many of the latest delivery events `deliveries` shows.
pub const RECENT: usize = 20;

/// The audit actions that say something about a message: sent, not sent, and what the
/// provider reported afterwards.
const DELIVERY_ACTIONS: &[AuditAction] = &[
    AuditAction::CodeSent,
    AuditAction::NoticeSent,
    AuditAction::SendFailed,
    AuditAction::SendSuppressed,
    AuditAction::Delivered,
    AuditAction::Bounced,
    AuditAction::Complained,
];

/// One person's recent deliveries and the state of their addresses.
#[derive(Debug)]
pub struct DeliveryReport {
    pub ids: PersonIds,
    /// Oldest first, at most [`RECENT`].
    pub events: Vec<AuditEvent>,
    pub email: Option<AddressState>,
    pub mobile: Option<AddressState>,
}

#[derive(Debug)]
pub struct AddressState {
    /// Masked, as the audit shows it.
    pub masked: String,
    pub suppression: Option<Suppression>,
}

#[derive(Debug, Error)]
pub enum DeliveriesError {
    #[error(transparent)]
    Ids(#[from] IdsError),
    #[error("'{0}' is neither an email address nor an E.164 phone number")]
    NotAnAddress(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The report for the person named by `subject` (user id or SystemUserId).
pub async fn deliveries(
    store: &impl Store,
    keys: &CodeKeys,
    subject: &str,
) -> Result<DeliveryReport, DeliveriesError> {
    let ids = person_ids(store, subject).await?;
    let user = store
        .get_user(&ids.user_id)
        .await?
        .ok_or_else(|| IdsError::Unknown(subject.to_owned()))?;
    let mut events: Vec<AuditEvent> = store
        .user_events(&ids.user_id)
        .await?
        .into_iter()
        .map(|recorded| recorded.event)
        .filter(|e| DELIVERY_ACTIONS.contains(&e.action))
        .collect();
    events.drain(..events.len().saturating_sub(RECENT));
    let email = match user.email() {
        Some(e) => Some(state(store, keys, Destination::Email(e.clone())).await?),
        None => None,
    };
    let mobile = match user.mobile() {
        Some(m) => Some(state(store, keys, Destination::Sms(m.clone())).await?),
        None => None,
    };
    Ok(DeliveryReport {
        ids,
        events,
        email,
        mobile,
    })
}

async fn state(
    store: &impl Store,
    keys: &CodeKeys,
    to: Destination,
) -> Result<AddressState, StoreError> {
    let mut suppression = None;
    for key in SuppressionKey::all(keys, &to) {
        suppression = suppression.or(store.suppression(&key).await?);
    }
    Ok(AddressState {
        suppression,
        masked: to.masked(),
    })
}

/// Parses an address as an operator types it: an email address, or a phone number in
/// E.164 (`+14155550123`).
pub fn parse_address(raw: &str) -> Result<Destination, DeliveriesError> {
    if raw.contains('@') {
        EmailAddress::parse(raw).map(Destination::Email).ok()
    } else {
        PhoneE164::parse(raw, None).map(Destination::Sms).ok()
    }
    .ok_or_else(|| DeliveriesError::NotAnAddress(raw.to_owned()))
}

/// Lifts the suppression of `address`; whether there was one. Audited under the actor
/// `resetctl` (the address masked).
pub async fn clear_suppression(
    store: &impl Store,
    keys: &CodeKeys,
    address: &str,
    now: Timestamp,
) -> Result<bool, DeliveriesError> {
    let to = parse_address(address)?;
    // Under every secret the stage holds: one written before a rotation too.
    let mut cleared = false;
    for key in SuppressionKey::all(keys, &to) {
        cleared |= store.clear_suppression(&key).await?;
    }
    if cleared {
        let mut event = AuditEvent::new(now, AuditAction::SuppressionCleared);
        event.channel = Some(to.channel());
        event.destination = Some(to.masked());
        crate::audit::record_as_operator(store, event).await?;
    }
    Ok(cleared)
}

impl fmt::Display for DeliveryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.ids)?;
        for (label, state) in [("email", &self.email), ("mobile", &self.mobile)] {
            match state {
                None => writeln!(f, "{label}: none on file")?,
                Some(AddressState {
                    masked,
                    suppression: None,
                }) => writeln!(f, "{label}: {masked}, not suppressed")?,
                Some(AddressState {
                    masked,
                    suppression: Some(s),
                }) => writeln!(
                    f,
                    "{label}: {masked}, SUPPRESSED ({}) since {}",
                    s.reason.as_str(),
                    utc(s.since)
                )?,
            }
        }
        if self.events.is_empty() {
            return writeln!(f, "no deliveries recorded");
        }
        writeln!(f, "recent deliveries (oldest first):")?;
        for e in &self.events {
            writeln!(
                f,
                "  {}  {:<19} {:<5} {:<22} {}",
                utc(e.at),
                e.action.as_str(),
                e.channel.map_or("-", |c| c.as_str()),
                e.destination.as_deref().unwrap_or("-"),
                e.detail.as_deref().unwrap_or("")
            )?;
        }
        Ok(())
    }
}

/// `2026-12-01T18:47:31Z`.
pub(crate) fn utc(at: Timestamp) -> String {
    let secs = at.unix_seconds();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Days to civil date (proleptic Gregorian), after Howard Hinnant's `civil_from_days`.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_as_utc() {
        assert_eq!(utc(Timestamp::from_unix_seconds(0)), "1970-01-01T00:00:00Z");
        assert_eq!(
            utc(Timestamp::from_unix_seconds(1_800_000_000)),
            "2027-01-15T08:00:00Z"
        );
        assert_eq!(
            utc(Timestamp::from_unix_seconds(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
    }

    #[test]
    fn addresses_parse_as_email_or_e164() {
        assert!(matches!(
            parse_address("Ana@Example.com"),
            Ok(Destination::Email(_))
        ));
        assert!(matches!(
            parse_address("+14157415569"),
            Ok(Destination::Sms(_))
        ));
        assert!(parse_address("nobody").is_err());
    }
}
