//! Contract B: a portal asks for a reset link. The answer never tells whether anyone matched.
//!
//! For a caller that may not see the secret the request is only queued: the courier finds
//! the person, checks the limits, issues the link and sends it (`service::courier`). The
//! answer then costs the same work whoever is named, with no padding.

use thiserror::Error;

use super::{Caller, Endpoint, Resetkit};
use crate::domain::fields::{FieldKind, FieldSpec};
use crate::domain::message::Destination;
use crate::domain::{
    AuditAction, Delivery, Flow, KeyKind, Locale, LookupKey, Origin, Permission, ResetSecret, Task,
    User, UserId,
};
use crate::ports::{Clock, DeliveryQueue, Metric, Metrics, RandomSource, Store, StoreError};

#[derive(Debug, Clone)]
pub struct ForgotPasswordCommand {
    /// A unique lookup field and its parsed value.
    pub search: LookupKey,
    /// A deliverable phone- or email-typed field to send to instead of the default.
    pub recipient: Option<FieldSpec>,
    /// The offered locale the request asked for (`Accept-Language`), for the courier.
    pub language: Option<Locale>,
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

impl<S: Store, D: DeliveryQueue, C: Clock, R: RandomSource, M: Metrics> Resetkit<S, D, C, R, M> {
    pub async fn forgot_password(
        &self,
        caller: &Caller,
        cmd: ForgotPasswordCommand,
    ) -> Result<ForgotPasswordOutcome, ForgotPasswordError> {
        if caller.key.kind == KeyKind::Server
            && caller
                .key
                .allows(Permission::RevealResetSecret, self.clock.now())
        {
            return Ok(self.reveal_link(caller, cmd).await?);
        }
        let origin = caller.origin();
        let task = Task::ResetLink {
            search: cmd.search,
            recipient: cmd.recipient,
            language: cmd.language,
        };
        if let Err(e) = self.enqueue(origin.clone(), task).await {
            // The answer stays the generic one, as it would for anyone: nothing was issued,
            // and the caller may ask again.
            tracing::error!(error = %e, "forgot-password request not queued");
            self.count(Endpoint::ForgotPassword, Metric::Unqueued);
            let event = self.audit_event(&origin, AuditAction::SendFailed, None);
            self.audit(event.detail("queue_unavailable")).await;
        }
        Ok(ForgotPasswordOutcome::default())
    }

    /// An integrator that sends its own mail gets the secret instead of a message: issued
    /// now, under the same rules as a link the courier sends, and sent by nobody.
    async fn reveal_link(
        &self,
        caller: &Caller,
        cmd: ForgotPasswordCommand,
    ) -> Result<ForgotPasswordOutcome, StoreError> {
        let origin = caller.origin();
        let Some((user, to)) = self
            .link_target(&origin, &cmd.search, cmd.recipient.as_ref())
            .await?
        else {
            return Ok(ForgotPasswordOutcome::default());
        };
        let (_, token) = self
            .issue(&user.id, Flow::Link, to.channel(), Delivery::Handed)
            .await?;
        let event = self.audit_event(&origin, AuditAction::ResetRequested, Some(&user.id));
        self.audit(event.detail("revealed_to_server_key")).await;
        Ok(ForgotPasswordOutcome {
            revealed: Some((user.id, token)),
        })
    }
}

impl<S: Store, D, C: Clock, R: RandomSource, M: Metrics> Resetkit<S, D, C, R, M> {
    /// The one person `search` names and where their link goes, when a link may be issued:
    /// exactly one match, an address on file, and the recipient limits not reached. What
    /// stops it is audited and counted here; the caller's answer stays the generic one
    /// (a 429 or an error would tell that this person exists).
    pub(super) async fn link_target(
        &self,
        origin: &Origin,
        search: &LookupKey,
        recipient: Option<&FieldSpec>,
    ) -> Result<Option<(User, Destination)>, StoreError> {
        let ids = self.store.find_by(search).await?;
        let mut users = self.load_users(&ids).await?;
        // Several people under a "unique" value: sending to any of them would be a guess.
        if users.len() != 1 {
            let detail = if users.is_empty() {
                "no_match"
            } else {
                "not_unique"
            };
            let event = self.audit_event(origin, AuditAction::ResetRequested, None);
            self.audit(event.detail(detail)).await;
            return Ok(None);
        }
        let user = users.remove(0);
        let Some(to) = destination(&user, recipient) else {
            let why = match recipient {
                None => "no_email_on_record",
                Some(_) => "recipient_missing",
            };
            let event = self.audit_event(origin, AuditAction::SendSuppressed, Some(&user.id));
            self.audit(event.detail(why)).await;
            self.count(Endpoint::ForgotPassword, Metric::Suppressed);
            return Ok(None);
        };
        if let Err(limited) = self
            .recipient_limit(Endpoint::ForgotPassword, origin, &to)
            .await?
        {
            let mut event = self.audit_event(origin, AuditAction::SendSuppressed, Some(&user.id));
            event.channel = Some(to.channel());
            event.destination = Some(to.masked());
            self.audit(event.detail(limited.reason.as_str())).await;
            self.count(Endpoint::ForgotPassword, Metric::Suppressed);
            return Ok(None);
        }
        Ok(Some((user, to)))
    }
}

/// Where the link goes. LeadSquared's contract: to the person's email address, whatever field
/// was searched (a person found by phone still gets mail); to another phone- or email-typed
/// field only when `RecipientField` names it.
pub(super) fn destination(user: &User, recipient: Option<&FieldSpec>) -> Option<Destination> {
    match recipient {
        None => user.email().cloned().map(Destination::Email),
        Some(spec) => match spec.kind {
            FieldKind::Email => user
                .email_field(&spec.name)
                .cloned()
                .map(Destination::Email),
            FieldKind::Phone => user.phone_field(&spec.name).cloned().map(Destination::Sms),
            FieldKind::Text | FieldKind::Locale => None,
        },
    }
}

/// The person's own address for notices: email, else mobile.
pub(super) fn primary_address(user: &User) -> Option<Destination> {
    user.email()
        .cloned()
        .map(Destination::Email)
        .or_else(|| user.mobile().cloned().map(Destination::Sms))
}
