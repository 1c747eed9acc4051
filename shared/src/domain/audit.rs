//! Audit events: who did what to whose account, never with a secret or a full address.
//!
//! Events are filed in streams (one per user; callers and addresses for events about
//! nobody) and each stream is a hash chain: every link stores the SHA-256 of its event and
//! of the link before it, so editing or removing a stored event breaks every later link,
//! which `verify_chain` finds.

use serde::Serialize;
use sha2::{Digest, Sha256};
use thiserror::Error;

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

    /// The stream the event belongs to: its user's, else its caller's, else its source
    /// address's, so that refused and anonymous requests are chained too.
    pub fn stream(&self) -> String {
        match (&self.user_id, &self.actor, &self.source_ip) {
            (Some(u), _, _) => format!("user:{}", u.as_ref()),
            (None, Some(a), _) => format!("caller:{a}"),
            (None, None, Some(ip)) => format!("ip:{ip}"),
            (None, None, None) => "anonymous".to_owned(),
        }
    }

    /// The bytes the chain hashes: every field, in a fixed order and encoding.
    fn canonical(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct Canonical<'a> {
            at: u64,
            action: &'a str,
            actor: Option<&'a str>,
            user: Option<&'a str>,
            // Left out when absent, so links written before the field existed still verify.
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

/// The hash before the first link of every stream.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One stored link of a stream's chain.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainedEvent {
    pub stream: String,
    /// 1 for the first link, then one more per link.
    pub seq: u64,
    pub prev_hash: String,
    pub hash: String,
    pub event: AuditEvent,
}

impl ChainedEvent {
    /// The link that follows `head` (the stream's last link, if any) with `event`.
    pub fn next(head: Option<&ChainedEvent>, event: AuditEvent) -> Self {
        let stream = event.stream();
        let (seq, prev_hash) =
            head.map_or((1, GENESIS.to_owned()), |h| (h.seq + 1, h.hash.clone()));
        let hash = link_hash(&stream, seq, &prev_hash, &event);
        Self {
            stream,
            seq,
            prev_hash,
            hash,
            event,
        }
    }
}

fn link_hash(stream: &str, seq: u64, prev_hash: &str, event: &AuditEvent) -> String {
    let mut h = Sha256::new();
    h.update(stream.as_bytes());
    h.update([0]);
    h.update(seq.to_be_bytes());
    h.update(prev_hash.as_bytes());
    h.update(event.canonical());
    hex::encode(h.finalize())
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ChainBreak {
    #[error("link {seq}: expected sequence number {expected} (a link is missing)")]
    Gap { seq: u64, expected: u64 },
    #[error("link {seq}: does not follow the link before it (that one was altered or removed)")]
    Unlinked { seq: u64 },
    #[error("link {seq}: its event does not match its hash (the event was altered)")]
    Altered { seq: u64 },
    #[error("link {seq}: filed under the wrong stream")]
    Misfiled { seq: u64 },
}

/// Checks a whole stream, as read in `seq` order; `Ok` holds the number of links.
pub fn verify_chain(links: &[ChainedEvent]) -> Result<usize, ChainBreak> {
    let mut prev: Option<&ChainedEvent> = None;
    for link in links {
        let expected = prev.map_or(1, |p| p.seq + 1);
        if link.seq != expected {
            return Err(ChainBreak::Gap {
                seq: link.seq,
                expected,
            });
        }
        if link.prev_hash != prev.map_or(GENESIS, |p| p.hash.as_str()) {
            return Err(ChainBreak::Unlinked { seq: link.seq });
        }
        if link.stream != link.event.stream() {
            return Err(ChainBreak::Misfiled { seq: link.seq });
        }
        if link.hash != link_hash(&link.stream, link.seq, &link.prev_hash, &link.event) {
            return Err(ChainBreak::Altered { seq: link.seq });
        }
        prev = Some(link);
    }
    Ok(links.len())
}

#[cfg(test)]
mod chain_tests {
    use super::*;

    fn chain(n: usize) -> Vec<ChainedEvent> {
        let user = UserId::from_random([7; 16]);
        let mut links: Vec<ChainedEvent> = Vec::new();
        for i in 0..n {
            let event = AuditEvent::new(
                Timestamp::from_unix_seconds(100 + i as u64),
                AuditAction::CodeSent,
            )
            .user(&user);
            links.push(ChainedEvent::next(links.last(), event));
        }
        links
    }

    #[test]
    fn an_untouched_chain_verifies() {
        assert_eq!(verify_chain(&chain(4)), Ok(4));
        assert_eq!(verify_chain(&[]), Ok(0));
    }

    #[test]
    fn an_edited_event_is_found() {
        let mut links = chain(4);
        links[2].event.detail = Some("edited".into());
        assert_eq!(verify_chain(&links), Err(ChainBreak::Altered { seq: 3 }));
    }

    #[test]
    fn the_system_user_id_is_covered_and_its_absence_keeps_older_links_valid() {
        let mut links = chain(2);
        links[1].event.system_user_id = Some(SystemUserId::new(1001).unwrap());
        assert_eq!(verify_chain(&links), Err(ChainBreak::Altered { seq: 2 }));

        // A link written before the field existed hashed exactly these bytes.
        let event = AuditEvent::new(Timestamp::from_unix_seconds(5), AuditAction::CodeSent);
        assert_eq!(
            String::from_utf8(event.canonical()).unwrap(),
            r#"{"at":5,"action":"code_sent","actor":null,"user":null,"channel":null,"destination":null,"source_ip":null,"latitude":null,"longitude":null,"detail":null}"#
        );
    }

    #[test]
    fn a_removed_or_reordered_link_is_found() {
        let mut links = chain(4);
        links.remove(1);
        assert_eq!(
            verify_chain(&links),
            Err(ChainBreak::Gap {
                seq: 3,
                expected: 2
            })
        );
        let mut links = chain(4);
        let removed = links.remove(1);
        links[1].seq = removed.seq; // renumbered to hide the gap
        assert_eq!(verify_chain(&links), Err(ChainBreak::Unlinked { seq: 2 }));
    }

    #[test]
    fn a_rehashed_edit_still_breaks_the_next_link() {
        let mut links = chain(3);
        links[1].event.action = AuditAction::PasswordChanged;
        links[1].hash = link_hash(
            &links[1].stream,
            2,
            &links[1].prev_hash.clone(),
            &links[1].event,
        );
        assert_eq!(verify_chain(&links), Err(ChainBreak::Unlinked { seq: 3 }));
    }
}
