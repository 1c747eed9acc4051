//! Issuing a secret and getting it to the person: the steps guest reset and forgot password
//! share, written once.

use super::{Caller, Endpoint, Resetkit};
use crate::domain::message::OutgoingMessage;
use crate::domain::{AuditAction, Channel, Flow, ResetSecret, UserId, VerificationRecord};
use crate::ports::{
    Clock, DeliveryError, Metric, Metrics, Notifier, RandomSource, Store, StoreError,
};

impl<S: Store, N: Notifier, C: Clock, R: RandomSource, M: Metrics> Resetkit<S, N, C, R, M> {
    /// A new secret for `user`, stored as the person's latest verification (which withdraws
    /// every earlier one). The flow decides the secret's shape and lifetime.
    pub(super) async fn issue(
        &self,
        user: &UserId,
        flow: Flow,
        channel: Channel,
    ) -> Result<(VerificationRecord, ResetSecret), StoreError> {
        let (secret, ttl) = match flow {
            Flow::StaffCode => (
                ResetSecret::six_digits(|b| self.random.fill(b)),
                self.settings.code_ttl,
            ),
            Flow::Link => (
                ResetSecret::link_token(|b| self.random.fill(b)),
                self.settings.link_ttl,
            ),
        };
        let now = self.clock.now();
        let record = VerificationRecord {
            id: self.new_verification_id(),
            user_id: user.clone(),
            flow,
            channel,
            code_hash: self.settings.code_keys.hash(&secret),
            created_at: now,
            expires_at: now.plus(ttl),
            attempts: 0,
            max_attempts: self.settings.max_attempts,
            consumed: false,
        };
        self.store.issue(&record).await?;
        Ok((record, secret))
    }

    /// Sends `msg` carrying `record`'s secret. When the provider refuses it or cannot be
    /// reached, the verification is withdrawn: a secret nobody received must not stay
    /// usable. Either way the outcome is counted and audited; the delivery error is
    /// returned for the caller's contract to answer.
    pub(super) async fn deliver_or_withdraw(
        &self,
        endpoint: Endpoint,
        caller: &Caller,
        record: &VerificationRecord,
        msg: &OutgoingMessage,
    ) -> Result<Result<(), DeliveryError>, StoreError> {
        let channel = msg.to.channel();
        let mut event = self.audit_event(caller, AuditAction::CodeSent, Some(&record.user_id));
        event.channel = Some(channel);
        event.destination = Some(msg.to.masked());
        match self.notifier.send(msg).await {
            Ok(()) => {
                self.count(endpoint, Metric::Sent(channel));
                self.audit(event).await;
                Ok(Ok(()))
            }
            Err(e) => {
                self.count(endpoint, Metric::DeliveryFailed(channel));
                self.store.revoke(&record.id, &record.user_id).await?;
                event.action = AuditAction::SendFailed;
                self.audit(event.detail("delivery_failed")).await;
                Ok(Err(e))
            }
        }
    }
}
