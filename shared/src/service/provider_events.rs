//! What SES reports after a send (delivered, bounced, complained), recorded on the
//! verification the message carried, in the audit, and as a suppression of the address
//! when it bounced hard or drew a complaint: the courier then sends it nothing until an
//! operator clears it (`resetctl suppression clear`).
//!
//! A notification may arrive more than once (SNS and SQS deliver at least once): every
//! write here is safe to repeat, except that the audit may then hold the event twice.

use super::Resetkit;
use crate::domain::message::Destination;
use crate::domain::{
    AuditAction, Channel, Delivery, Origin, ProviderEvent, ProviderEventKind, Suppression,
    SuppressionKey, Timestamp,
};
use crate::ports::{Clock, Metrics, RandomSource, Store, StoreError};

/// The actor of the audit events SES's notifications cause.
const PROVIDER: &str = "ses";

impl<S: Store, D, C: Clock, R: RandomSource, M: Metrics> Resetkit<S, D, C, R, M> {
    /// Records `event`. A storage failure is returned: the queue then delivers the
    /// notification again.
    pub async fn record_provider_event(&self, event: &ProviderEvent) -> Result<(), StoreError> {
        let (action, detail) = match event.kind {
            ProviderEventKind::Delivered => (AuditAction::Delivered, None),
            ProviderEventKind::HardBounce => (AuditAction::Bounced, Some("permanent")),
            ProviderEventKind::SoftBounce => (AuditAction::Bounced, Some("transient")),
            ProviderEventKind::Complaint => (AuditAction::Complained, None),
            ProviderEventKind::Other => return Ok(()),
        };
        let now = self.clock.now();
        if let Some(reason) = event.kind.suppression() {
            for address in &event.recipients {
                let key = SuppressionKey::of(
                    &self.settings.code_keys,
                    &Destination::Email(address.clone()),
                );
                let since = Suppression { reason, since: now };
                self.store.suppress(&key, &since).await?;
            }
        }
        // Read as of the epoch: a bounce may come after the secret expired, and still
        // belongs on its record until TTL removes it.
        let record = match &event.verification {
            Some(id) => {
                self.store
                    .get_verification(id, Timestamp::from_unix_seconds(0))
                    .await?
            }
            None => None,
        };
        if let Some(record) = &record {
            // A delivery only confirms `Sent`; a transient bounce may still be followed by
            // a delivery: both are only audited.
            let settled = match event.kind {
                ProviderEventKind::HardBounce => Some(Delivery::Bounced),
                ProviderEventKind::Complaint => Some(Delivery::Complained),
                _ => None,
            };
            if let Some(settled) = settled {
                self.store.record_delivery(&record.id, &settled).await?;
            }
        }
        let origin = Origin {
            key_id: PROVIDER.to_owned(),
            source_ip: None,
            requester: PROVIDER.to_owned(),
        };
        let user = record.as_ref().map(|r| &r.user_id);
        // One event per address the notification names (masked), else one for the message.
        let mut destinations: Vec<Option<String>> =
            event.recipients.iter().map(|a| Some(a.masked())).collect();
        if destinations.is_empty() {
            destinations.push(None);
        }
        for destination in destinations {
            let mut audited = self.audit_event(&origin, action, user);
            audited.channel = Some(Channel::Email);
            audited.destination = destination;
            if let Some(detail) = detail {
                audited = audited.detail(detail);
            }
            self.audit(audited).await;
        }
        Ok(())
    }

    /// Whether the courier must send `to` nothing: it bounced hard or drew a complaint,
    /// and no operator has cleared it since.
    pub async fn is_suppressed(&self, to: &Destination) -> Result<bool, StoreError> {
        let key = SuppressionKey::of(&self.settings.code_keys, to);
        Ok(self.store.suppression(&key).await?.is_some())
    }
}
