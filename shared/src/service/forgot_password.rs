//! Contract B: a portal asks for a reset link. The answer never tells whether anyone matched.

use thiserror::Error;

use super::{Caller, Endpoint, Resetkit};
use crate::domain::fields::{FieldKind, FieldSpec};
use crate::domain::message::{self, Destination};
use crate::domain::{AuditAction, Flow, KeyKind, LookupKey, Permission, ResetSecret, User, UserId};
use crate::ports::{Clock, Metric, Metrics, Notifier, RandomSource, Store, StoreError};

#[derive(Debug, Clone)]
pub struct ForgotPasswordCommand {
    /// A unique lookup field and its parsed value.
    pub search: LookupKey,
    /// A phone- or email-typed field to deliver to instead of the default.
    pub recipient: Option<FieldSpec>,
}

/// What the caller may learn: nothing, except for a server key allowed to see the secret.
#[derive(Debug, Default)]
pub struct ForgotPasswordOutcome {
    pub revealed: Option<(UserId, ResetSecret)>,
}

#[derive(Debug, Error)]
pub enum ForgotPasswordError {
    #[error(transparent)]
    Unexpected(#[from] StoreError),
}

impl<S: Store, N: Notifier, C: Clock, R: RandomSource, M: Metrics> Resetkit<S, N, C, R, M> {
    /// Answers no sooner than `forgot_min_response` after it starts, whichever way it went:
    /// the known path writes and sends, the unknown one does not, and the difference must
    /// not show in the latency. Failures are not padded: they say nothing about the person.
    pub async fn forgot_password(
        &self,
        caller: &Caller,
        cmd: ForgotPasswordCommand,
    ) -> Result<ForgotPasswordOutcome, ForgotPasswordError> {
        let answer_at = tokio::time::Instant::now() + self.settings.forgot_min_response;
        let outcome = self.forgot_password_now(caller, cmd).await?;
        tokio::time::sleep_until(answer_at).await;
        Ok(outcome)
    }

    async fn forgot_password_now(
        &self,
        caller: &Caller,
        cmd: ForgotPasswordCommand,
    ) -> Result<ForgotPasswordOutcome, ForgotPasswordError> {
        let ids = self.store.find_by(&cmd.search).await?;
        let mut users = self.load_users(&ids).await?;
        // Several people under a "unique" value: sending to any of them would be a guess.
        if users.len() != 1 {
            let detail = if users.is_empty() {
                "no_match"
            } else {
                "not_unique"
            };
            self.audit(
                self.audit_event(caller, AuditAction::ResetRequested, None)
                    .detail(detail),
            )
            .await;
            return Ok(ForgotPasswordOutcome::default());
        }
        let user = users.remove(0);

        let Some(to) = destination(&user, &cmd) else {
            let why = match cmd.recipient {
                None => "no_email_on_record",
                Some(_) => "recipient_missing",
            };
            let event = self.audit_event(caller, AuditAction::SendSuppressed, Some(&user.id));
            self.audit(event.detail(why)).await;
            self.count(Endpoint::ForgotPassword, Metric::Suppressed);
            return Ok(ForgotPasswordOutcome::default());
        };
        // Over a recipient limit the public answer stays the generic one: a 429 here would
        // tell the caller that this person exists.
        if let Err(limited) = self
            .recipient_limit(Endpoint::ForgotPassword, caller, &to)
            .await?
        {
            let mut event = self.audit_event(caller, AuditAction::SendSuppressed, Some(&user.id));
            event.channel = Some(to.channel());
            event.destination = Some(to.masked());
            self.audit(event.detail(limited.reason.as_str())).await;
            self.count(Endpoint::ForgotPassword, Metric::Suppressed);
            return Ok(ForgotPasswordOutcome::default());
        }
        let (record, token) = self.issue(&user.id, Flow::Link, to.channel()).await?;

        // An integrator that sends its own mail gets the secret instead of a message.
        if caller.key.kind == KeyKind::Server && caller.key.allows(Permission::RevealResetSecret) {
            let event = self.audit_event(caller, AuditAction::ResetRequested, Some(&user.id));
            self.audit(event.detail("revealed_to_server_key")).await;
            return Ok(ForgotPasswordOutcome {
                revealed: Some((user.id, token)),
            });
        }

        let link = self.settings.link_template.render(&user.id, &token);
        let msg = message::reset_link(
            to,
            user.first_name.as_ref(),
            &link,
            self.settings.link_ttl.as_secs() / 60,
        );
        // The answer stays the generic one: a failure here must not tell that the person exists.
        let elsewhere = msg.to.masked();
        match self
            .deliver_or_withdraw(Endpoint::ForgotPassword, caller, &record, &msg)
            .await?
        {
            Ok(()) if cmd.recipient.is_some() => {
                self.notify_primary(caller, &user, &msg.to, &elsewhere)
                    .await
            }
            Ok(()) => {}
            Err(e) => {
                tracing::warn!(error = %e, "reset link delivery failed; the link was withdrawn")
            }
        }
        Ok(ForgotPasswordOutcome::default())
    }
}

impl<S: Store, N: Notifier, C: Clock, R: RandomSource, M: Metrics> Resetkit<S, N, C, R, M> {
    /// Tells the person at their own address (email, else mobile) that a link went to
    /// `sent_to`, another of their fields. Best effort: the link stands either way.
    async fn notify_primary(
        &self,
        caller: &Caller,
        user: &User,
        sent_to: &Destination,
        masked: &str,
    ) {
        let primary = user
            .email()
            .cloned()
            .map(Destination::Email)
            .or_else(|| user.mobile().cloned().map(Destination::Sms))
            .filter(|p| p != sent_to);
        let Some(primary) = primary else { return };
        let notice = message::reset_sent_elsewhere(primary, user.first_name.as_ref(), masked);
        let mut event = self.audit_event(caller, AuditAction::NoticeSent, Some(&user.id));
        event.channel = Some(notice.to.channel());
        event.destination = Some(notice.to.masked());
        if let Err(e) = self.notifier.send(&notice).await {
            tracing::warn!(error = %e, "notice to the primary address not delivered");
            event.action = AuditAction::SendFailed;
        }
        self.audit(event.detail("reset_sent_elsewhere")).await;
    }
}

/// Where the link goes. LeadSquared's contract: to the person's email address, whatever field
/// was searched (a person found by phone still gets mail); to another phone- or email-typed
/// field only when `RecipientField` names it.
fn destination(user: &User, cmd: &ForgotPasswordCommand) -> Option<Destination> {
    match &cmd.recipient {
        None => user.email().cloned().map(Destination::Email),
        Some(spec) => match spec.kind {
            FieldKind::Email => user
                .email_field(&spec.name)
                .cloned()
                .map(Destination::Email),
            FieldKind::Phone => user.phone_field(&spec.name).cloned().map(Destination::Sms),
            FieldKind::Text => None,
        },
    }
}
