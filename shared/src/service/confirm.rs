//! Contract C: the person presents the code or link secret with a new password.

use thiserror::Error;

use super::{Caller, Endpoint, Resetkit};
use crate::domain::fields::EMAIL;
use crate::domain::password::{HashError, NewPassword};
use crate::domain::{
    AuditAction, CheckFailure, EmailAddress, FieldValue, Flow, Locale, Location, LookupKey,
    PasswordPolicyError, ResetSecret, SystemUserId, Task, User, UserId, VerificationId,
    VerificationRecord,
};
use crate::ports::{
    Clock, CompletedReset, ConsumeError, DeliveryQueue, Metric, Metrics, RandomSource, Store,
    StoreError,
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
    /// The offered locale the request asked for (`Accept-Language`): the notice's language
    /// when the person has none of their own.
    pub language: Option<Locale>,
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

impl<S: Store, D: DeliveryQueue, C: Clock, R: RandomSource, M: Metrics> Resetkit<S, D, C, R, M> {
    pub async fn confirm(
        &self,
        caller: &Caller,
        cmd: ConfirmCommand,
    ) -> Result<Confirmed, ConfirmError> {
        let now = self.clock.now();
        let Some((user, record)) = self.resolve(&cmd.subject).await? else {
            // Spend the same HMAC work and the same attempt write as a real wrong guess.
            let _ = self
                .settings
                .code_keys
                .verify(&cmd.secret, &crate::domain::CodeHash::from_bytes([0; 32]));
            self.decoy_attempt(now).await?;
            let mut event = self
                .audit_event(&caller.origin(), AuditAction::AttemptFailed, None)
                .detail("no_active_code");
            event.location = cmd.location;
            self.audit(event).await;
            return Err(ConfirmError::CodeRejected);
        };
        let mut event =
            self.audit_event(&caller.origin(), AuditAction::AttemptFailed, Some(&user.id));
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
            Err(CheckFailure::WrongCode) if !counts_guesses(&cmd.subject, &record) => {
                self.decoy_attempt(now).await?;
                self.audit(event.detail("wrong_code")).await;
                return Err(ConfirmError::CodeRejected);
            }
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
                self.decoy_attempt(now).await?;
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
        self.count(Endpoint::PasswordConfirm, Metric::PasswordChanged);
        self.notify_changed(caller, &user, cmd.language).await;
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
    ///
    /// Whatever is found, the same reads happen: one index query for an address, one user
    /// read and one verification read, decoys standing in for what is missing. The browser
    /// key is public, so neither the time nor the work of an answer may tell whether an
    /// address has an account or a code.
    async fn resolve(
        &self,
        subject: &ConfirmSubject,
    ) -> Result<Option<(User, VerificationRecord)>, StoreError> {
        let now = self.clock.now();
        let decoy_user = || UserId::from_random(self.random_bytes());
        let (user, record) = match subject {
            ConfirmSubject::Verification(vid) => {
                let record = self.store.get_verification(vid, now).await?;
                let owner = record
                    .as_ref()
                    .map_or_else(decoy_user, |r| r.user_id.clone());
                (self.store.get_user(&owner).await?, record)
            }
            ConfirmSubject::Lead(id) => {
                let user = self.store.get_user(id).await?;
                (user.clone(), self.latest_verification(user.as_ref()).await?)
            }
            ConfirmSubject::Email(email) => {
                let ids = self
                    .store
                    .find_by(&LookupKey::new(EMAIL, &FieldValue::Email(email.clone())))
                    .await?;
                // Several people under one address: none of them is "the" person.
                let id = match ids.as_slice() {
                    [id] => id.clone(),
                    _ => decoy_user(),
                };
                let user = self.store.get_user(&id).await?;
                (user.clone(), self.latest_verification(user.as_ref()).await?)
            }
        };
        Ok(match (user, record) {
            (Some(user), Some(record)) if record.user_id == user.id => Some((user, record)),
            _ => None,
        })
    }

    /// The person's latest verification; one read whether or not there is one.
    async fn latest_verification(
        &self,
        user: Option<&User>,
    ) -> Result<Option<VerificationRecord>, StoreError> {
        let vid = user
            .and_then(|u| u.latest_verification.clone())
            .unwrap_or_else(|| VerificationId::from_random(self.random_bytes()));
        self.store.get_verification(&vid, self.clock.now()).await
    }

    /// The attempt write a wrong guess costs, on a record that does not exist: a path
    /// without a usable code does the same store work as one with a code.
    async fn decoy_attempt(&self, now: crate::domain::Timestamp) -> Result<(), StoreError> {
        let decoy = VerificationId::from_random(self.random_bytes());
        match self.store.record_failure(&decoy, now).await {
            Ok(_) | Err(ConsumeError::Rejected) => Ok(()),
            Err(ConsumeError::Store(e)) => Err(e),
        }
    }

    /// "Your password was changed", when the stage wants it, queued for the courier. Best
    /// effort: the change stands either way.
    async fn notify_changed(&self, caller: &Caller, user: &User, language: Option<Locale>) {
        if !self.settings.notify_password_changed {
            return;
        }
        let origin = caller.origin();
        let task = Task::PasswordChanged {
            user: user.id.clone(),
            language,
        };
        if let Err(e) = self.enqueue(origin.clone(), task).await {
            tracing::warn!(error = %e, "password-changed notice not queued");
            self.count(Endpoint::PasswordConfirm, Metric::Unqueued);
            let event = self.audit_event(&origin, AuditAction::SendFailed, Some(&user.id));
            self.audit(event.detail("password_changed_notice")).await;
        }
    }
}

/// Whether a wrong guess spends one of the record's attempts. A guess by email address
/// names a person, not a code: it may spend a 6-digit code's attempts (the cap is what
/// makes six digits safe), never a link's. 256 bits need no cap, and anyone who knows an
/// address could otherwise burn the link in that person's mailbox.
fn counts_guesses(subject: &ConfirmSubject, record: &VerificationRecord) -> bool {
    !matches!(subject, ConfirmSubject::Email(_)) || record.flow == Flow::StaffCode
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
