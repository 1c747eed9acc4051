//! Audit events: who did what to whose account, never with a secret or a full address.
//!
//! Each event is its own record, written once and never read first, so writers never
//! wait on one another and none is dropped for contention. Tamper evidence comes after the
//! fact, from signed digests of each period's events (`audit_digest`).

use std::fmt;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::identifiers::UserId;
use super::system_user_id::SystemUserId;
use super::time::Timestamp;
use super::verification::Channel;

/// Declares the actions once, with their stored names: the enum, `as_str` and `parse` all
/// come from this one table.
macro_rules! audit_actions {
    ($($(#[$doc:meta])* $action:ident => $name:literal,)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum AuditAction {
            $($(#[$doc])* $action,)*
        }

        impl AuditAction {
            const ALL: &'static [AuditAction] = &[$(AuditAction::$action,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(AuditAction::$action => $name,)*
                }
            }
        }
    };
}

audit_actions! {
    ResetRequested => "reset_requested",
    CodeSent => "code_sent",
    /// A notice to the person's own address (a link went to another of their fields).
    NoticeSent => "notice_sent",
    SendFailed => "send_failed",
    SendSuppressed => "send_suppressed",
    /// SES reported the message delivered to the receiving server.
    Delivered => "delivered",
    /// SES reported a bounce: `permanent` (the address is suppressed) or `transient`.
    Bounced => "bounced",
    /// The person marked the message as spam (the address is suppressed).
    Complained => "complained",
    /// An operator lifted an address's suppression.
    SuppressionCleared => "suppression_cleared",
    AttemptFailed => "attempt_failed",
    CodeBurned => "code_burned",
    PasswordChanged => "password_changed",
    CallerRefused => "caller_refused",
    RateLimited => "rate_limited",
    /// The host created or changed a person through the people API (`created`, `updated`,
    /// `updated:withdrawn` when the change withdrew their live code or link).
    PersonChanged => "person_changed",
    /// The host removed a person through the people API.
    PersonDeleted => "person_deleted",
}

impl AuditAction {
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|a| a.as_str() == s)
    }
}

/// Where the person said they were, when the confirm request carried it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
}

impl Location {
    /// Both present, finite and in range, or no location at all.
    pub fn parse(
        latitude: Option<f64>,
        longitude: Option<f64>,
    ) -> Result<Option<Self>, &'static str> {
        match (latitude, longitude) {
            (None, None) => Ok(None),
            (Some(la), Some(lo))
                if (-90.0..=90.0).contains(&la) && (-180.0..=180.0).contains(&lo) =>
            {
                Ok(Some(Self {
                    latitude: la,
                    longitude: lo,
                }))
            }
            (Some(_), Some(_)) => Err("Latitude must be within ±90 and Longitude within ±180"),
            _ => Err("Latitude and Longitude go together"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub at: Timestamp,
    pub action: AuditAction,
    /// The calling key's id (never the key).
    pub actor: Option<String>,
    pub user_id: Option<UserId>,
    /// The same person's contract C number, when the event is about a known person.
    pub system_user_id: Option<SystemUserId>,
    pub channel: Option<Channel>,
    /// A masked destination (`a***@example.com`, `+1******5569`).
    pub destination: Option<String>,
    pub source_ip: Option<String>,
    pub location: Option<Location>,
    /// A short, non-secret reason (`wrong_code`, `recipient_missing`).
    pub detail: Option<String>,
}

impl AuditEvent {
    pub fn new(at: Timestamp, action: AuditAction) -> Self {
        Self {
            at,
            action,
            actor: None,
            user_id: None,
            system_user_id: None,
            channel: None,
            destination: None,
            source_ip: None,
            location: None,
            detail: None,
        }
    }

    pub fn user(mut self, id: &UserId) -> Self {
        self.user_id = Some(id.clone());
        self
    }

    pub fn detail(mut self, d: impl Into<String>) -> Self {
        self.detail = Some(d.into());
        self
    }

    /// The bytes an event is hashed as: every field, in a fixed order and encoding.
    fn canonical(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct Canonical<'a> {
            at: u64,
            action: &'a str,
            actor: Option<&'a str>,
            user: Option<&'a str>,
            // Left out when absent: the form of events without it predates the field.
            #[serde(skip_serializing_if = "Option::is_none")]
            system_user_id: Option<i32>,
            channel: Option<&'a str>,
            destination: Option<&'a str>,
            source_ip: Option<&'a str>,
            latitude: Option<f64>,
            longitude: Option<f64>,
            detail: Option<&'a str>,
        }
        let c = Canonical {
            at: self.at.unix_seconds(),
            action: self.action.as_str(),
            actor: self.actor.as_deref(),
            user: self.user_id.as_ref().map(AsRef::as_ref),
            system_user_id: self.system_user_id.map(SystemUserId::get),
            channel: self.channel.map(Channel::as_str),
            destination: self.destination.as_deref(),
            source_ip: self.source_ip.as_deref(),
            latitude: self.location.map(|l| l.latitude),
            longitude: self.location.map(|l| l.longitude),
            detail: self.detail.as_deref(),
        };
        // Serialising plain strings, numbers and options cannot fail.
        serde_json::to_vec(&c).unwrap_or_default()
    }
}

/// An event's own id: random, so that no two writers ever touch the same item and none
/// reads before it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId([u8; 16]);

impl EventId {
    pub fn from_random(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    pub fn parse(hex_id: &str) -> Option<Self> {
        let mut b = [0u8; 16];
        hex::decode_to_slice(hex_id, &mut b).ok()?;
        Some(Self(b))
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// Where an event sits in the trail: by time, then by id (events of one second are in id
/// order). Printed as `<unix seconds>-<id>`, the name `resetctl audit verify` gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventKey {
    pub at: Timestamp,
    pub id: EventId,
}

impl fmt::Display for EventKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.at.unix_seconds(), self.id)
    }
}

/// An event as the log keeps it: its own record, written once, never read first.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    pub id: EventId,
    pub event: AuditEvent,
}

impl RecordedEvent {
    pub fn key(&self) -> EventKey {
        EventKey {
            at: self.event.at,
            id: self.id,
        }
    }

    /// SHA-256 of the id and every field of the event: what a digest lists it by.
    pub fn hash(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.id.as_bytes());
        h.update(self.event.canonical());
        h.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(detail: &str) -> RecordedEvent {
        RecordedEvent {
            id: EventId::from_random([7; 16]),
            event: AuditEvent::new(Timestamp::from_unix_seconds(100), AuditAction::CodeSent)
                .user(&UserId::from_random([9; 16]))
                .detail(detail),
        }
    }

    #[test]
    fn the_hash_covers_every_field_and_the_id() {
        let a = recorded("x");
        let mut b = a.clone();
        assert_eq!(a.hash(), b.hash());
        b.event.detail = Some("y".into());
        assert_ne!(a.hash(), b.hash());
        let mut c = a.clone();
        c.id = EventId::from_random([8; 16]);
        assert_ne!(a.hash(), c.hash());
        let mut d = a.clone();
        d.event.system_user_id = Some(SystemUserId::new(1001).unwrap());
        assert_ne!(a.hash(), d.hash());
    }

    #[test]
    fn the_canonical_form_is_stable() {
        // Digests sealed with these bytes must verify for as long as the log is kept.
        let event = AuditEvent::new(Timestamp::from_unix_seconds(5), AuditAction::CodeSent);
        assert_eq!(
            String::from_utf8(event.canonical()).unwrap(),
            r#"{"at":5,"action":"code_sent","actor":null,"user":null,"channel":null,"destination":null,"source_ip":null,"latitude":null,"longitude":null,"detail":null}"#
        );
    }

    #[test]
    fn keys_sort_by_time_then_id_and_print_both() {
        let early = EventKey {
            at: Timestamp::from_unix_seconds(5),
            id: EventId::from_random([0xff; 16]),
        };
        let late = EventKey {
            at: Timestamp::from_unix_seconds(6),
            id: EventId::from_random([0; 16]),
        };
        assert!(early < late);
        assert_eq!(late.to_string(), format!("6-{}", "00".repeat(16)));
        assert_eq!(EventId::parse(&early.id.to_string()), Some(early.id));
        assert_eq!(EventId::parse("zz"), None);
    }
}
