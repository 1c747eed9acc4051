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
        // Under each code secret: one read, two while a rotation is under way.
        for key in SuppressionKey::all(&self.settings.code_keys, to) {
            if self.store.suppression(&key).await?.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Endpoint, GuestResetCommand};
    use crate::domain::message::Destination;
    use crate::domain::{
        AuditAction, AuditEvent, Delivery, EmailAddress, KeyKind, Permission, ProviderEvent,
        ProviderEventKind, SuppressionKey, VerificationId,
    };
    use crate::ports::{Clock, SuppressionList, VerificationStore};
    use crate::testing::{settings, TestKit, ANA};

    fn ana() -> EmailAddress {
        EmailAddress::parse("ana@example.com").unwrap_or_else(|e| panic!("{e}"))
    }

    /// Every request sends: no recipient cool-down or budget.
    async fn kit() -> TestKit {
        let mut s = settings();
        s.limits.recipient_cooldown.max = 0;
        s.limits.recipient_hourly.max = 0;
        s.limits.recipient_ceiling.max = 0;
        TestKit::with_settings(s).await
    }

    /// A staff code for Ana, handed to the courier: its verification.
    async fn guest_reset(kit: &TestKit) -> VerificationId {
        let staff = kit
            .service
            .authenticate(
                Endpoint::GuestReset,
                &kit.keys.staff,
                &[KeyKind::Employee],
                Permission::GuestsEdit,
                None,
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let cmd = GuestResetCommand {
            email: Some(ana()),
            ..Default::default()
        };
        kit.service
            .guest_reset(&staff, cmd)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .verification_id
    }

    /// A staff code the courier mailed to Ana: its verification and SES message id.
    async fn mailed_code(kit: &TestKit) -> (VerificationId, String) {
        let id = guest_reset(kit).await;
        match delivery(kit, &id).await {
            Delivery::Sent { message_id } => (id, message_id),
            other => panic!("not sent: {other:?}"),
        }
    }

    async fn delivery(kit: &TestKit, id: &VerificationId) -> Delivery {
        kit.store
            .get_verification(id, kit.clock.now())
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("the verification exists"))
            .delivery
    }

    fn events(kit: &TestKit, action: AuditAction) -> Vec<AuditEvent> {
        kit.store
            .audit_events()
            .into_iter()
            .filter(|e| e.action == action)
            .collect()
    }

    async fn suppressed(kit: &TestKit) -> bool {
        let key = SuppressionKey::of(
            &kit.service.settings().code_keys,
            &Destination::Email(ana()),
        );
        kit.store
            .suppression(&key)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_some()
    }

    async fn record(kit: &TestKit, event: ProviderEvent) {
        kit.service
            .record_provider_event(&event)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }

    #[tokio::test]
    async fn a_transient_bounce_is_only_audited() {
        let kit = kit().await;
        let (id, message_id) = mailed_code(&kit).await;
        record(
            &kit,
            ProviderEvent {
                message_id: message_id.clone(),
                verification: Some(id.clone()),
                kind: ProviderEventKind::SoftBounce,
                recipients: vec![ana()],
            },
        )
        .await;
        assert_eq!(delivery(&kit, &id).await, Delivery::Sent { message_id });
        assert!(!suppressed(&kit).await);
        let bounced = events(&kit, AuditAction::Bounced);
        assert_eq!(bounced.len(), 1);
        assert_eq!(bounced[0].detail.as_deref(), Some("transient"));
        assert_eq!(bounced[0].destination.as_deref(), Some("a***@example.com"));
        assert_eq!(bounced[0].user_id.as_ref().map(|u| u.as_ref()), Some(ANA));
    }

    #[tokio::test]
    async fn a_delivery_confirms_sent_and_is_audited() {
        let kit = kit().await;
        let (id, message_id) = mailed_code(&kit).await;
        record(
            &kit,
            ProviderEvent {
                message_id: message_id.clone(),
                verification: Some(id.clone()),
                kind: ProviderEventKind::Delivered,
                recipients: vec![ana()],
            },
        )
        .await;
        assert_eq!(delivery(&kit, &id).await, Delivery::Sent { message_id });
        assert_eq!(events(&kit, AuditAction::Delivered).len(), 1);
        assert!(!suppressed(&kit).await);
    }

    #[tokio::test]
    async fn a_hard_bounce_without_our_tag_still_suppresses_the_address() {
        let kit = kit().await;
        let (id, message_id) = mailed_code(&kit).await;
        record(
            &kit,
            ProviderEvent {
                message_id: "someone-elses-message".into(),
                verification: None,
                kind: ProviderEventKind::HardBounce,
                recipients: vec![ana()],
            },
        )
        .await;
        assert!(suppressed(&kit).await);
        assert_eq!(delivery(&kit, &id).await, Delivery::Sent { message_id });
        let bounced = events(&kit, AuditAction::Bounced);
        assert_eq!(bounced.len(), 1);
        assert_eq!(bounced[0].user_id, None);
        assert_eq!(bounced[0].actor.as_deref(), Some("ses"));

        // And the courier sends Ana nothing more: the next code is withdrawn.
        let sent = kit.outbox.sent().len();
        let withheld = guest_reset(&kit).await;
        assert_eq!(kit.outbox.sent().len(), sent, "nothing sent");
        assert_eq!(delivery(&kit, &withheld).await, Delivery::Undelivered);
        assert!(events(&kit, AuditAction::SendFailed)
            .iter()
            .any(|e| e.detail.as_deref() == Some("suppressed")));
    }
}
