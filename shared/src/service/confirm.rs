//! Contract C: the person presents the code or link secret with a new password.

use thiserror::Error;

use super::{Caller, Endpoint, Resetkit};
use crate::domain::fields::EMAIL;
use crate::domain::message::{self, Destination};
use crate::domain::password::{HashError, NewPassword};
use crate::domain::{
    AuditAction, CheckFailure, EmailAddress, FieldValue, Location, LookupKey, PasswordPolicyError,
    ResetSecret, SystemUserId, User, UserId, VerificationId, VerificationRecord,
};
use crate::metrics::{self, Metric};
use crate::ports::{
    Clock, CompletedReset, ConsumeError, Notifier, RandomSource, Store, StoreError,
};

/// How the person is identified alongside the secret.
#[derive(Debug, Clone)]
pub enum ConfirmSubject {
    Email(EmailAddress),
    /// Flow B: the `LeadId` from the link.
    Lead(UserId),
    /// Flow A: the `verification_id` staff received.
    Verification(VerificationId),
}

pub struct ConfirmCommand {
    pub subject: ConfirmSubject,
    pub secret: ResetSecret,
    pub password: NewPassword,
    pub location: Option<Location>,
}

#[derive(Debug)]
pub struct Confirmed {
    pub user_id: UserId,
    /// The same person's number in contract C.
    pub system_user_id: SystemUserId,
}

#[derive(Debug, Error)]
pub enum ConfirmError {
    /// Wrong, expired, used, burned or superseded: deliberately one answer.
    #[error("The code is invalid or has expired")]
    CodeRejected,
    #[error(transparent)]
    Policy(#[from] PasswordPolicyError),
    #[error(transparent)]
    Unexpected(#[from] UnexpectedConfirm),
}

#[derive(Debug, Error)]
pub enum UnexpectedConfirm {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error("password hashing task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

impl From<StoreError> for ConfirmError {
    fn from(e: StoreError) -> Self {
        Self::Unexpected(e.into())
    }
}

impl<S: Store, N: Notifier, C: Clock, R: RandomSource> Resetkit<S, N, C, R> {
    pub async fn confirm(
        &self,
        caller: &Caller,
        cmd: ConfirmCommand,
    ) -> Result<Confirmed, ConfirmError> {
        let now = self.clock.now();
        let Some((user, record)) = self.resolve(&cmd.subject).await? else {
            // Spend the same HMAC work as a real check.
            let _ = self
                .settings
                .code_keys
                .verify(&cmd.secret, &crate::domain::CodeHash::from_bytes([0; 32]));
            let mut event = self
                .audit_event(caller, AuditAction::AttemptFailed, None)
                .detail("no_active_code");
            event.location = cmd.location;
            self.audit(event).await;
            return Err(ConfirmError::CodeRejected);
        };
        let mut event = self.audit_event(caller, AuditAction::AttemptFailed, Some(&user.id));
        event.system_user_id = user.system_user_id;
        event.location = cmd.location;
        event.channel = Some(record.channel);

        match record.check(
            &cmd.secret,
            &self.settings.code_keys,
            user.latest_verification.as_ref(),
            now,
        ) {
            Ok(()) => {}
            Err(CheckFailure::WrongCode) => {
                let burned = match self.store.record_failure(&record.id, now).await {
                    Ok(count) => count.burned,
                    Err(ConsumeError::Rejected) => false,
                    Err(ConsumeError::Store(e)) => return Err(e.into()),
                };
                self.audit(event.clone().detail("wrong_code")).await;
                if burned {
                    event.action = AuditAction::CodeBurned;
                    self.audit(event.detail("attempt_cap")).await;
                }
                return Err(ConfirmError::CodeRejected);
            }
            Err(other) => {
                self.audit(event.detail(failure_name(other))).await;
                return Err(ConfirmError::CodeRejected);
            }
        }

        // Only now is the person known to hold the code: their identifiers join the policy.
        let accepted = cmd.password.accept(&user.personal_words())?;
        let params = self.settings.hash_params;
        let salt: [u8; 16] = self.random_bytes();
        let hash = tokio::task::spawn_blocking(move || params.hash(&accepted, salt))
            .await
            .map_err(UnexpectedConfirm::from)?
            .map_err(UnexpectedConfirm::from)?;

        let system_user_id = self.system_user_id_of(&user).await?;
        event.system_user_id = Some(system_user_id);
        let reset = CompletedReset {
            verification: record.id.clone(),
            user: user.id.clone(),
            expected_credential_version: user.credential_version,
            new_password_hash: hash,
            now,
        };
        match self.store.complete_reset(&reset).await {
            Ok(()) => {}
            Err(ConsumeError::Rejected) => {
                self.audit(event.detail("lost_race")).await;
                return Err(ConfirmError::CodeRejected);
            }
            Err(ConsumeError::Store(e)) => return Err(e.into()),
        }
        event.action = AuditAction::PasswordChanged;
        self.audit(event).await;
        metrics::emit(Endpoint::PasswordConfirm, Metric::PasswordChanged);
        self.notify_changed(caller, &user).await;
        Ok(Confirmed {
            user_id: user.id,
            system_user_id,
        })
    }

    /// The person's number. One stored before numbers existed gets one now, on the first
    /// confirm that proves they hold a code (their only write): reading an older table
    /// never fails, and the success answer always carries a real number.
    async fn system_user_id_of(&self, user: &User) -> Result<SystemUserId, StoreError> {
        match user.system_user_id {
            Some(number) => Ok(number),
            None => {
                super::people::claim_fresh_number(&self.random, |number| {
                    self.store.assign_system_user_id(&user.id, number)
                })
                .await
            }
        }
    }

    /// The user and their verification record for `subject`, if there is an active one.
    async fn resolve(
        &self,
        subject: &ConfirmSubject,
    ) -> Result<Option<(User, VerificationRecord)>, StoreError> {
        let now = self.clock.now();
        let (user, verification_id) = match subject {
            ConfirmSubject::Verification(vid) => {
                let Some(record) = self.store.get_verification(vid, now).await? else {
                    return Ok(None);
                };
                let Some(user) = self.store.get_user(&record.user_id).await? else {
                    return Ok(None);
                };
                return Ok(Some((user, record)));
            }
            ConfirmSubject::Lead(id) => (self.store.get_user(id).await?, None),
            ConfirmSubject::Email(email) => {
                let ids = self
                    .store
                    .find_by(&LookupKey::new(EMAIL, &FieldValue::Email(email.clone())))
                    .await?;
                let mut users = self.load_users(&ids).await?;
                if users.len() == 1 {
                    (Some(users.remove(0)), None)
                } else {
                    (None, None)
                }
            }
        };
        let Some(user) = user else { return Ok(None) };
        let Some(vid) = verification_id.or_else(|| user.latest_verification.clone()) else {
            return Ok(None);
        };
        Ok(self
            .store
            .get_verification(&vid, now)
            .await?
            .map(|r| (user, r)))
    }

    /// "Your password was changed", when the stage wants it. Best effort: the change stands.
    async fn notify_changed(&self, caller: &Caller, user: &User) {
        if !self.settings.notify_password_changed {
            return;
        }
        let to = user
            .email()
            .cloned()
            .map(Destination::Email)
            .or_else(|| user.mobile().cloned().map(Destination::Sms));
        let Some(to) = to else { return };
        if let Err(e) = self
            .notifier
            .send(&message::password_changed(to, user.first_name.as_ref()))
            .await
        {
            tracing::warn!(error = %e, "password-changed notice not delivered");
            let event = self.audit_event(caller, AuditAction::SendFailed, Some(&user.id));
            self.audit(event.detail("password_changed_notice")).await;
        }
    }
}

fn failure_name(f: CheckFailure) -> &'static str {
    match f {
        CheckFailure::Expired => "expired",
        CheckFailure::Consumed => "already_used",
        CheckFailure::Burned => "burned",
        CheckFailure::Superseded => "superseded",
        CheckFailure::WrongCode => "wrong_code",
    }
}
