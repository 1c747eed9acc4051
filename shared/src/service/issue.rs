//! Issuing a secret and handing its delivery to the courier: the steps guest reset, forgot
//! password and the courier share, written once.

use super::{Endpoint, Resetkit};
use crate::domain::{
    AuditAction, Channel, Delivery, Flow, Origin, ResetSecret, Task, UserId, VerificationId,
    VerificationRecord,
};
use crate::ports::{
    Clock, DeliveryQueue, Metric, Metrics, QueueError, RandomSource, Store, StoreError,
};

impl<S: Store, D, C: Clock, R: RandomSource, M: Metrics> Resetkit<S, D, C, R, M> {
    /// A new secret for `user`, stored as the person's latest verification (which withdraws
    /// every earlier one). The flow decides the secret's shape and lifetime.
    pub(super) async fn issue(
        &self,
        user: &UserId,
        flow: Flow,
        channel: Channel,
        delivery: Delivery,
    ) -> Result<(VerificationRecord, ResetSecret), StoreError> {
        let secret = match flow {
            Flow::StaffCode => ResetSecret::six_digits(|b| self.random.fill(b)),
            Flow::Link => ResetSecret::link_token(|b| self.random.fill(b)),
        };
        let id = self.new_verification_id();
        let record = self
            .issue_as(id, user, flow, channel, &secret, delivery)
            .await?;
        Ok((record, secret))
    }

    /// `issue` with the id and the secret given: the courier's links, which a job delivered
    /// twice must issue once. `Duplicate` when `id` exists.
    pub(super) async fn issue_as(
        &self,
        id: VerificationId,
        user: &UserId,
        flow: Flow,
        channel: Channel,
        secret: &ResetSecret,
        delivery: Delivery,
    ) -> Result<VerificationRecord, StoreError> {
        let ttl = match flow {
            Flow::StaffCode => self.settings.code_ttl,
            Flow::Link => self.settings.link_ttl,
        };
        let now = self.clock.now();
        let record = VerificationRecord {
            id,
            user_id: user.clone(),
            flow,
            channel,
            code_hash: self.settings.code_keys.hash(secret),
            created_at: now,
            expires_at: now.plus(ttl),
            attempts: 0,
            max_attempts: self.settings.max_attempts,
            consumed: false,
            delivery,
        };
        self.store.issue(&record).await?;
        Ok(record)
    }

    /// Withdraws `record`, whose message will never arrive: a secret nobody received must
    /// not stay usable. Counted and audited with `why`.
    pub(super) async fn withdraw(
        &self,
        endpoint: Endpoint,
        origin: &Origin,
        record: &VerificationRecord,
        why: &str,
    ) -> Result<(), StoreError> {
        self.count(endpoint, Metric::DeliveryFailed(record.channel));
        self.store.revoke(&record.id, &record.user_id).await?;
        let mut event = self.audit_event(origin, AuditAction::SendFailed, Some(&record.user_id));
        event.channel = Some(record.channel);
        self.audit(event.detail(why)).await;
        Ok(())
    }
}

impl<S: Store, D: DeliveryQueue, C: Clock, R: RandomSource, M: Metrics> Resetkit<S, D, C, R, M> {
    /// Puts `task` on the delivery queue for the courier.
    pub(super) async fn enqueue(&self, origin: Origin, task: Task) -> Result<(), QueueError> {
        self.delivery.enqueue(&self.job(origin, task)).await
    }

    /// Queues the delivery of `record`'s secret; when the queue cannot take it, withdraws
    /// the record (nobody would receive it) and returns the queue's error for the caller's
    /// contract to answer.
    pub(super) async fn queue_or_withdraw(
        &self,
        endpoint: Endpoint,
        origin: &Origin,
        record: &VerificationRecord,
        task: Task,
    ) -> Result<Result<(), QueueError>, StoreError> {
        match self.enqueue(origin.clone(), task).await {
            Ok(()) => Ok(Ok(())),
            Err(e) => {
                tracing::error!(error = %e, "delivery job not queued; the secret was withdrawn");
                self.withdraw(endpoint, origin, record, "queue_unavailable")
                    .await?;
                Ok(Err(e))
            }
        }
    }
}
