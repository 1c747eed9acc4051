//! Contract A: staff reset a guest's password; the guest gets a six-digit code.

use thiserror::Error;

use super::{Caller, Endpoint, RateLimited, Resetkit};
use crate::domain::fields::{EMAIL, MOBILE, USERNAME};
use crate::domain::message::Destination;
use crate::domain::{
    narrow_by_first_name, AuditAction, Channel, Delivery, EmailAddress, FieldValue, FirstName,
    Flow, LookupKey, MatchedWith, PhoneE164, ResetSecret, SealPurpose, Task, User, UserId,
    Username, VerificationId,
};
use crate::ports::{Clock, DeliveryQueue, Metrics, QueueError, RandomSource, Store, StoreError};

/// What staff typed to find the guest. At least one identifier is present.
#[derive(Debug, Clone, Default)]
pub struct GuestResetCommand {
    pub username: Option<Username>,
    pub email: Option<EmailAddress>,
    pub mobile: Option<PhoneE164>,
    pub first_name: Option<FirstName>,
    pub channel: Option<Channel>,
}

/// A code issued to exactly one guest, its delivery queued.
#[derive(Debug)]
pub struct GuestResetIssued {
    pub user_id: UserId,
    pub matched_with: MatchedWith,
    pub verification_id: VerificationId,
    pub code: ResetSecret,
    pub channel: Channel,
}

#[derive(Debug, Error)]
pub enum GuestResetError {
    #[error("User Not Found")]
    NotFound { matched_with: MatchedWith },
    #[error("{count} guests match; add first_name to choose one")]
    Ambiguous {
        count: usize,
        matched_with: MatchedWith,
    },
    #[error("The guest has no {} on file", .0.as_str())]
    NoDestination(Channel),
    #[error("{0}")]
    RateLimited(RateLimited),
    /// The delivery queue could not take the code's message; the code was withdrawn.
    #[error("The code could not be queued for delivery; no code was issued")]
    Unqueued(#[source] QueueError),
    #[error(transparent)]
    Unexpected(#[from] StoreError),
}

impl<S: Store, D: DeliveryQueue, C: Clock, R: RandomSource, M: Metrics> Resetkit<S, D, C, R, M> {
    /// Finds the one guest, issues a code (staff may get it in the answer) and queues its
    /// delivery; the courier composes and sends the message.
    pub async fn guest_reset(
        &self,
        caller: &Caller,
        cmd: GuestResetCommand,
    ) -> Result<GuestResetIssued, GuestResetError> {
        let (candidates, matched_with) = self.find_guests(&cmd).await?;
        let mut matches = narrow_by_first_name(candidates, cmd.first_name.as_ref());
        let user = match matches.len() {
            0 => {
                self.audit(
                    self.audit_event(&caller.origin(), AuditAction::ResetRequested, None)
                        .detail("no_match"),
                )
                .await;
                return Err(GuestResetError::NotFound { matched_with });
            }
            1 => matches.remove(0),
            count => {
                self.audit(
                    self.audit_event(&caller.origin(), AuditAction::ResetRequested, None)
                        .detail("not_unique"),
                )
                .await;
                return Err(GuestResetError::Ambiguous {
                    count,
                    matched_with,
                });
            }
        };
        let to = pick_destination(&user, cmd.channel)?;
        let channel = to.channel();
        if let Err(limited) = self
            .recipient_limit(Endpoint::GuestReset, &caller.origin(), &to)
            .await?
        {
            let mut event = self.audit_event(
                &caller.origin(),
                AuditAction::SendSuppressed,
                Some(&user.id),
            );
            event.channel = Some(channel);
            event.destination = Some(to.masked());
            self.audit_limited(event, limited).await;
            return Err(GuestResetError::RateLimited(limited));
        }

        let (record, code) = self
            .issue(&user.id, Flow::StaffCode, channel, Delivery::Queued)
            .await?;
        let sealed_code =
            self.settings
                .code_keys
                .seal(SealPurpose::QueuedCode, code.expose().as_bytes(), |b| {
                    self.random.fill(b)
                });
        let task = Task::StaffCode {
            verification: record.id.clone(),
            user: user.id.clone(),
            channel,
            sealed_code,
        };
        self.queue_or_withdraw(Endpoint::GuestReset, &caller.origin(), &record, task)
            .await?
            .map_err(GuestResetError::Unqueued)?;
        Ok(GuestResetIssued {
            user_id: user.id,
            matched_with,
            verification_id: record.id,
            code,
            channel,
        })
    }
}

impl<S: Store, D, C: Clock, R: RandomSource, M: Metrics> Resetkit<S, D, C, R, M> {
    /// Username, then email, then mobile: the first identifier that finds anyone decides.
    async fn find_guests(
        &self,
        cmd: &GuestResetCommand,
    ) -> Result<(Vec<User>, MatchedWith), StoreError> {
        let lookups = [
            (
                USERNAME,
                cmd.username.clone().map(FieldValue::Text),
                MatchedWith::Username,
            ),
            (
                EMAIL,
                cmd.email.clone().map(FieldValue::Email),
                MatchedWith::Email,
            ),
            (
                MOBILE,
                cmd.mobile.clone().map(FieldValue::Phone),
                MatchedWith::Mobile,
            ),
        ];
        for (field, value, matched_with) in lookups {
            let Some(value) = value else { continue };
            let ids = self.store.find_by(&LookupKey::new(field, &value)).await?;
            if !ids.is_empty() {
                return Ok((self.load_users(&ids).await?, matched_with));
            }
        }
        Ok((Vec::new(), MatchedWith::None))
    }

    pub(super) async fn load_users(&self, ids: &[UserId]) -> Result<Vec<User>, StoreError> {
        let mut users = Vec::with_capacity(ids.len());
        for id in ids {
            // An index entry whose user is gone is stale, not a match.
            if let Some(u) = self.store.get_user(id).await? {
                users.push(u);
            }
        }
        Ok(users)
    }
}

/// Email by default; SMS when asked for or when there is no email.
fn pick_destination(user: &User, asked: Option<Channel>) -> Result<Destination, GuestResetError> {
    let email = user.email().cloned().map(Destination::Email);
    let sms = user.mobile().cloned().map(Destination::Sms);
    match asked {
        Some(Channel::Email) => email.ok_or(GuestResetError::NoDestination(Channel::Email)),
        Some(Channel::Sms) => sms.ok_or(GuestResetError::NoDestination(Channel::Sms)),
        None => email
            .or(sms)
            .ok_or(GuestResetError::NoDestination(Channel::Email)),
    }
}
