//! The courier: sends what the request path queued, with the provider's pace.
//!
//! A job may arrive more than once (SQS delivers at least once, and a throttled send comes
//! back later), so every step is safe to repeat: a secret's delivery state lives on its
//! verification, and once the provider accepted the message a job delivered again sends
//! nothing. The one gap is a crash between the provider's accept and the record of it: the
//! job then sends once more (see README, "The courier").
//!
//! Before every send the courier checks that the secret can still be used: a code consumed,
//! superseded or expired by the time the job runs is never sent. Nor is anything sent to an
//! address that bounced hard or drew a complaint (see `provider_events`).

use super::forgot_password::{destination, primary_address};
use super::Resetkit;
use crate::domain::catalogue::{Catalogue, Content, Letter, SmsSize};
use crate::domain::fields::FieldSpec;
use crate::domain::message::{Destination, OutgoingMessage};
use crate::domain::{
    AuditAction, Channel, CourierOutcome, Delivery, DeliveryJob, Endpoint, Flow, Locale, LookupKey,
    Origin, ResetSecret, SealPurpose, Task, Timestamp, User, UserId, VerificationId,
    VerificationRecord,
};
use crate::ports::{
    Clock, DeliveryError, Metric, Metrics, Notifier, RandomSource, Store, StoreError,
};

/// What a verification's message may still become.
enum Pending {
    /// Not sent, and the secret still usable: send it.
    Ready(VerificationRecord, User),
    /// Sent already, withdrawn, or gone: nothing to do.
    Settled,
    /// Still unsent when the secret expired: never delivered.
    Expired(VerificationRecord),
}

/// A send that did not happen now, and what to do about it.
enum Unsent {
    /// The provider may take it later: retry within the secret's lifetime.
    Later,
    /// It never will: refused by the provider.
    Refused,
}

impl<S: Store, D: Notifier, C: Clock, R: RandomSource, M: Metrics> Resetkit<S, D, C, R, M> {
    /// Does `job`, received for the `attempt`-th time (1 on first delivery), and says what
    /// the queue should do with it. A storage failure is returned: the queue then delivers
    /// the job again.
    pub async fn deliver(
        &self,
        job: &DeliveryJob,
        attempt: u32,
    ) -> Result<CourierOutcome, StoreError> {
        match &job.task {
            Task::ResetLink {
                search,
                recipient,
                language,
            } => {
                self.deliver_reset_link(job, search, recipient.as_ref(), language.as_ref(), attempt)
                    .await
            }
            Task::StaffCode {
                verification,
                user,
                channel,
                sealed_code,
            } => {
                self.deliver_staff_code(job, verification, user, *channel, sealed_code, attempt)
                    .await
            }
            Task::PasswordChanged { user, language } => {
                let Some(user) = self.store.get_user(user).await? else {
                    return Ok(CourierOutcome::Done);
                };
                let Some(to) = primary_address(&user) else {
                    return Ok(CourierOutcome::Done);
                };
                let notice = (
                    Endpoint::PasswordConfirm,
                    Content::PasswordChanged,
                    "password_changed",
                );
                self.deliver_notice(job, &user, to, language.as_ref(), notice, attempt)
                    .await
            }
            Task::ContactChanged { user, old } => {
                // Removed since: nobody is left whose account the old address could reach.
                let Some(user) = self.store.get_user(user).await? else {
                    return Ok(CourierOutcome::Done);
                };
                let notice = (Endpoint::People, Content::ContactChanged, "contact_changed");
                self.deliver_notice(job, &user, old.clone(), None, notice, attempt)
                    .await
            }
        }
    }

    async fn deliver_staff_code(
        &self,
        job: &DeliveryJob,
        id: &VerificationId,
        user: &UserId,
        channel: Channel,
        sealed_code: &[u8],
        attempt: u32,
    ) -> Result<CourierOutcome, StoreError> {
        let (record, user) = match self.still_to_send(job, id, user).await? {
            Pending::Ready(record, user) => (record, user),
            Pending::Settled => return Ok(CourierOutcome::Done),
            Pending::Expired(record) => return self.expired_unsent(job, &record).await,
        };
        let to = match channel {
            Channel::Email => user.email().cloned().map(Destination::Email),
            Channel::Sms => user.mobile().cloned().map(Destination::Sms),
        };
        let code = self
            .settings
            .code_keys
            .open(SealPurpose::QueuedCode, sealed_code)
            .and_then(|plain| String::from_utf8(plain).ok())
            .map(|code| ResetSecret::from_presented(&code));
        let (Some(to), Some(code)) = (to, code) else {
            // The address was removed since, or the code was sealed under a secret this
            // stage no longer has: nothing can be sent, ever.
            self.give_up(&job.origin, &record, "undeliverable").await?;
            return Ok(CourierOutcome::DeadLetter);
        };
        let content = Content::StaffCode {
            code: &code,
            minutes: self.settings.code_ttl.as_secs() / 60,
            one_tap_host: self.settings.link_template.host(),
        };
        // Staff asked in their own language, not the guest's: no request language.
        let Some(msg) = self.compose(to, &user, None, job.queued_at, content) else {
            self.give_up(&job.origin, &record, "undeliverable").await?;
            return Ok(CourierOutcome::DeadLetter);
        };
        let (outcome, _) = self.send_secret(&job.origin, &record, msg, attempt).await?;
        Ok(outcome)
    }

    async fn deliver_reset_link(
        &self,
        job: &DeliveryJob,
        search: &LookupKey,
        recipient: Option<&FieldSpec>,
        language: Option<&Locale>,
        attempt: u32,
    ) -> Result<CourierOutcome, StoreError> {
        let id = job.id.verification_id();
        let now = self.clock.now();
        // A job seen before issued its verification the first time: send that one again
        // (same id, same derived token) rather than issue another. Read as of the job's
        // queueing, so that an expired one is found too (and given up on, not reissued).
        let issued = self.store.get_verification(&id, job.queued_at).await?;
        let (record, user, to) = match issued {
            Some(record) => {
                let (record, user) = match self.still_to_send(job, &id, &record.user_id).await? {
                    Pending::Ready(record, user) => (record, user),
                    Pending::Settled => return Ok(CourierOutcome::Done),
                    Pending::Expired(record) => return self.expired_unsent(job, &record).await,
                };
                let Some(to) = destination(&user, recipient) else {
                    self.give_up(&job.origin, &record, "undeliverable").await?;
                    return Ok(CourierOutcome::DeadLetter);
                };
                (record, user, to)
            }
            None => {
                if self.expired(job, now) {
                    tracing::warn!(
                        job = job.id.as_ref(),
                        "a reset request waited longer than a link lives; not sent"
                    );
                    return Ok(CourierOutcome::Done);
                }
                let Some((user, to)) = self.link_target(&job.origin, search, recipient).await?
                else {
                    return Ok(CourierOutcome::Done);
                };
                let token = self.settings.code_keys.courier_link_token(job.id.as_ref());
                let record = self
                    .issue_as(
                        id,
                        &user.id,
                        Flow::Link,
                        to.channel(),
                        &token,
                        Delivery::Queued,
                    )
                    .await?;
                (record, user, to)
            }
        };
        let token = self.settings.code_keys.courier_link_token(job.id.as_ref());
        let link = self.settings.link_template.render(&user.id, &token);
        let elsewhere = recipient.map(|_| to.clone());
        let content = Content::ResetLink {
            link: &link,
            minutes: self.settings.link_ttl.as_secs() / 60,
        };
        let Some(msg) = self.compose(to, &user, language, job.queued_at, content) else {
            self.give_up(&job.origin, &record, "undeliverable").await?;
            return Ok(CourierOutcome::DeadLetter);
        };
        let (outcome, sent) = self.send_secret(&job.origin, &record, msg, attempt).await?;
        if let (true, Some(sent_to)) = (sent, elsewhere) {
            self.notify_primary(job, &user, language, &sent_to).await;
        }
        Ok(outcome)
    }

    /// A notice to `to` about `user`'s account: `content` is one carrying no secret, so a
    /// duplicate is harmless and a notice the provider never takes is only audited.
    /// `detail` names it in the audit.
    async fn deliver_notice(
        &self,
        job: &DeliveryJob,
        user: &User,
        to: Destination,
        language: Option<&Locale>,
        (endpoint, content, detail): (Endpoint, Content<'_>, &str),
        attempt: u32,
    ) -> Result<CourierOutcome, StoreError> {
        let Some(msg) = self.compose(to, user, language, job.queued_at, content) else {
            return Ok(CourierOutcome::DeadLetter);
        };
        let mut event = self.audit_event(&job.origin, AuditAction::NoticeSent, Some(&user.id));
        event.channel = Some(msg.to.channel());
        event.destination = Some(msg.to.masked());
        if self.is_suppressed(&msg.to).await? {
            self.count(endpoint, Metric::Suppressed);
            event.action = AuditAction::SendSuppressed;
            self.audit(event.detail(format!("suppressed:{detail}")))
                .await;
            return Ok(CourierOutcome::Done);
        }
        match self.send(endpoint, &msg).await {
            Ok(_) => {
                self.audit(event.detail(detail)).await;
                Ok(CourierOutcome::Done)
            }
            Err(Unsent::Later) if attempt < self.settings.retry.max_tries => {
                Ok(CourierOutcome::RetryIn(self.backoff(attempt)))
            }
            Err(unsent) => {
                self.count(endpoint, Metric::DeliveryFailed(msg.to.channel()));
                event.action = AuditAction::SendFailed;
                self.audit(event.detail(format!("{detail}_notice"))).await;
                Ok(match unsent {
                    Unsent::Later => CourierOutcome::DeadLetter,
                    Unsent::Refused => CourierOutcome::Done,
                })
            }
        }
    }

    /// Where the verification's message stands: ready to send (not sent yet, not consumed,
    /// not expired, still the person's latest), settled, or expired unsent. A skip that
    /// matters (the person was not told) is audited.
    async fn still_to_send(
        &self,
        job: &DeliveryJob,
        id: &VerificationId,
        user: &UserId,
    ) -> Result<Pending, StoreError> {
        // As of the job's queueing: an expired record is read too, to be given up on.
        let Some(record) = self.store.get_verification(id, job.queued_at).await? else {
            self.audit_skip(&job.origin, user, "gone_before_send").await;
            return Ok(Pending::Settled);
        };
        if !record.delivery.is_pending() {
            // Sent (or given up) by an earlier delivery of this job.
            return Ok(Pending::Settled);
        }
        if record.expires_at <= self.clock.now() {
            return Ok(Pending::Expired(record));
        }
        match self.store.get_user(&record.user_id).await? {
            Some(user) if !record.consumed && user.latest_verification.as_ref() == Some(id) => {
                Ok(Pending::Ready(record, user))
            }
            _ => {
                self.audit_skip(&job.origin, &record.user_id, "withdrawn_before_send")
                    .await;
                Ok(Pending::Settled)
            }
        }
    }

    /// A secret whose lifetime ran out before its message went: withdrawn, marked and
    /// dead-lettered like any other it was not possible to deliver.
    async fn expired_unsent(
        &self,
        job: &DeliveryJob,
        record: &VerificationRecord,
    ) -> Result<CourierOutcome, StoreError> {
        self.give_up(&job.origin, record, "undelivered").await?;
        Ok(CourierOutcome::DeadLetter)
    }

    async fn audit_skip(&self, origin: &Origin, user: &UserId, why: &str) {
        let event = self.audit_event(origin, AuditAction::SendSuppressed, Some(user));
        self.audit(event.detail(why)).await;
    }

    /// Sends `msg` carrying `record`'s secret and records the outcome on the record. A send
    /// the provider may take later is retried within the secret's lifetime; one that will
    /// never go (refused, out of tries or time) withdraws the secret. Also says whether the
    /// provider took it.
    async fn send_secret(
        &self,
        origin: &Origin,
        record: &VerificationRecord,
        mut msg: OutgoingMessage,
        attempt: u32,
    ) -> Result<(CourierOutcome, bool), StoreError> {
        msg.verification = Some(record.id.clone());
        let endpoint = record.flow.endpoint();
        let (channel, masked) = (msg.to.channel(), msg.to.masked());
        if self.is_suppressed(&msg.to).await? {
            // It bounced hard or drew a complaint before: nothing goes there until an
            // operator clears it, and the secret nobody will receive is withdrawn.
            self.count(endpoint, Metric::Suppressed);
            self.give_up(origin, record, "suppressed").await?;
            return Ok((CourierOutcome::Done, false));
        }
        match self.send(endpoint, &msg).await {
            Ok(message_id) => {
                self.store
                    .record_delivery(&record.id, &Delivery::Sent { message_id })
                    .await?;
                let mut event =
                    self.audit_event(origin, AuditAction::CodeSent, Some(&record.user_id));
                event.channel = Some(channel);
                event.destination = Some(masked);
                self.audit(event).await;
                Ok((CourierOutcome::Done, true))
            }
            Err(Unsent::Refused) => {
                self.give_up(origin, record, "delivery_failed").await?;
                Ok((CourierOutcome::Done, false))
            }
            Err(Unsent::Later) => {
                let delay = self.backoff(attempt);
                let next_try = self.clock.now().plus(delay);
                if attempt < self.settings.retry.max_tries && next_try < record.expires_at {
                    return Ok((CourierOutcome::RetryIn(delay), false));
                }
                self.give_up(origin, record, "undelivered").await?;
                Ok((CourierOutcome::DeadLetter, false))
            }
        }
    }

    /// One send through the provider; a send and a deferral are counted here.
    async fn send(&self, endpoint: Endpoint, msg: &OutgoingMessage) -> Result<String, Unsent> {
        let channel = msg.to.channel();
        match self.delivery.send(msg).await {
            Ok(id) => {
                self.count(endpoint, Metric::Sent(channel));
                Ok(id)
            }
            Err(DeliveryError::Unavailable(e)) => {
                tracing::warn!(error = %e, "provider unavailable; the send will be retried");
                self.count(endpoint, Metric::Deferred(channel));
                Err(Unsent::Later)
            }
            // Counted by the caller, which knows whether it withdraws a secret with it.
            Err(e @ DeliveryError::Rejected(_)) => {
                tracing::warn!(error = %e, "provider refused the message");
                Err(Unsent::Refused)
            }
        }
    }

    /// The message will never be delivered: withdraw the secret and say so on its record.
    async fn give_up(
        &self,
        origin: &Origin,
        record: &VerificationRecord,
        why: &str,
    ) -> Result<(), StoreError> {
        let endpoint = record.flow.endpoint();
        self.store
            .record_delivery(&record.id, &Delivery::Undelivered)
            .await?;
        self.withdraw(endpoint, origin, record, why).await
    }

    /// A link job older than a link's lifetime: whatever it would issue, nobody asked for
    /// it recently enough to use it.
    fn expired(&self, job: &DeliveryJob, now: Timestamp) -> bool {
        job.queued_at.plus(self.settings.link_ttl) <= now
    }

    fn backoff(&self, attempt: u32) -> std::time::Duration {
        let random = u32::from_le_bytes(self.random_bytes());
        self.settings.retry.delay(attempt, random)
    }

    /// The message of `content` for `user` at `to`, in their language: their own `Locale`,
    /// else the one their request asked for, else the stage's. `None` (logged) if the
    /// catalogue cannot write it, which its tests rule out for every shipped template.
    fn compose(
        &self,
        to: Destination,
        user: &User,
        requested: Option<&Locale>,
        requested_at: Timestamp,
        content: Content<'_>,
    ) -> Option<OutgoingMessage> {
        let locale = self.settings.locales.choose(user.locale(), requested);
        let letter = Letter {
            locale,
            brand: &self.settings.brand,
            first_name: user.first_name.as_ref(),
            requested_at: Some(requested_at),
            // No source here knows where a request came from beyond its address.
            place: None,
            content,
        };
        let msg = Catalogue::get()
            .map_err(|e| e.to_string())
            .and_then(|c| c.compose(to, &letter).map_err(|e| e.to_string()));
        match msg {
            Ok(msg) => {
                if let Destination::Sms(_) = msg.to {
                    let size = SmsSize::of(&msg.text);
                    if size.segments > 1 {
                        tracing::warn!(
                            kind = content.kind().as_str(),
                            locale = locale.as_ref(),
                            gsm7 = size.gsm7,
                            segments = size.segments,
                            "SMS longer than one segment"
                        );
                    }
                }
                Some(msg)
            }
            Err(e) => {
                tracing::error!(
                    kind = content.kind().as_str(),
                    locale = locale.as_ref(),
                    error = %e,
                    "message not composed; nothing sent"
                );
                None
            }
        }
    }

    /// Tells the person at their own address that a link went to `sent_to`, another of
    /// their fields. Best effort: the link stands either way, and a notice lost to a crash
    /// is not sent again (the link was).
    async fn notify_primary(
        &self,
        job: &DeliveryJob,
        user: &User,
        language: Option<&Locale>,
        sent_to: &Destination,
    ) {
        let origin = &job.origin;
        let Some(primary) = primary_address(user).filter(|p| p != sent_to) else {
            return;
        };
        let elsewhere = sent_to.masked();
        let content = Content::ResetSentElsewhere {
            elsewhere: &elsewhere,
        };
        let Some(notice) = self.compose(primary, user, language, job.queued_at, content) else {
            return;
        };
        let mut event = self.audit_event(origin, AuditAction::NoticeSent, Some(&user.id));
        event.channel = Some(notice.to.channel());
        event.destination = Some(notice.to.masked());
        // Best effort, like the notice itself: a store that cannot say counts as clear.
        if self.is_suppressed(&notice.to).await.unwrap_or(false) {
            self.count(Endpoint::ForgotPassword, Metric::Suppressed);
            event.action = AuditAction::SendSuppressed;
            self.audit(event.detail("suppressed:reset_sent_elsewhere"))
                .await;
            return;
        }
        if self.send(Endpoint::ForgotPassword, &notice).await.is_err() {
            self.count(
                Endpoint::ForgotPassword,
                Metric::DeliveryFailed(notice.to.channel()),
            );
            event.action = AuditAction::SendFailed;
        }
        self.audit(event.detail("reset_sent_elsewhere")).await;
    }
}
