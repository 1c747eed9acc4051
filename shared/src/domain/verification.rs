use super::code::{CodeHash, CodeKeys, ResetSecret};
use super::endpoint::Endpoint;
use super::identifiers::{UserId, VerificationId};
use super::time::Timestamp;

/// Which flow issued the secret: decides its shape and lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flow {
    /// Guest reset by staff: six digits, sent by email or SMS.
    StaffCode,
    /// Forgot password: a link carrying a 256-bit token.
    Link,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Email,
    Sms,
}

impl Flow {
    /// The endpoint whose flow it is: metrics count its sends there.
    pub fn endpoint(self) -> Endpoint {
        match self {
            Flow::StaffCode => Endpoint::GuestReset,
            Flow::Link => Endpoint::ForgotPassword,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Flow::StaffCode => "staff_code",
            Flow::Link => "link",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "staff_code" => Some(Flow::StaffCode),
            "link" => Some(Flow::Link),
            _ => None,
        }
    }
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "email" => Some(Channel::Email),
            "sms" => Some(Channel::Sms),
            _ => None,
        }
    }
}

/// Where a verification's message stands, as the courier and the provider's later
/// notifications record it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Handed to the courier; not sent yet.
    Queued,
    /// The provider accepted it, under this message id.
    Sent {
        message_id: String,
    },
    /// Given up: the provider refused it, or it could not be sent within the secret's
    /// lifetime. The verification is withdrawn.
    Undelivered,
    /// The provider reported afterwards that the message bounced or drew a complaint.
    Bounced,
    Complained,
    /// Not for the courier: the secret went to a server key allowed to see it.
    Handed,
}

impl Delivery {
    pub fn as_str(&self) -> &'static str {
        match self {
            Delivery::Queued => "queued",
            Delivery::Sent { .. } => "sent",
            Delivery::Undelivered => "undelivered",
            Delivery::Bounced => "bounced",
            Delivery::Complained => "complained",
            Delivery::Handed => "handed",
        }
    }

    /// The stored form back: the status and, when sent, the provider's message id.
    pub fn parse(status: &str, message_id: Option<String>) -> Option<Self> {
        Some(match status {
            "queued" => Delivery::Queued,
            "sent" => Delivery::Sent {
                message_id: message_id.unwrap_or_default(),
            },
            "undelivered" => Delivery::Undelivered,
            "bounced" => Delivery::Bounced,
            "complained" => Delivery::Complained,
            "handed" => Delivery::Handed,
            _ => return None,
        })
    }

    /// Whether the courier may still send it: once the provider accepted it (or it was
    /// given up), a job delivered again sends nothing.
    pub fn is_pending(&self) -> bool {
        matches!(self, Delivery::Queued)
    }
}

/// One issued secret, as stored: only its HMAC, never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationRecord {
    pub id: VerificationId,
    pub user_id: UserId,
    pub flow: Flow,
    pub channel: Channel,
    pub code_hash: CodeHash,
    pub created_at: Timestamp,
    /// Also the table's TTL attribute; re-checked on every read because TTL deletion lags.
    pub expires_at: Timestamp,
    /// Failed attempts so far.
    pub attempts: u32,
    pub max_attempts: u32,
    pub consumed: bool,
    /// Where its message stands (queued, sent, …).
    pub delivery: Delivery,
}

/// Why a presented secret was refused. Callers show one generic answer for all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckFailure {
    Expired,
    Consumed,
    Burned,
    /// A newer verification was issued for the same user.
    Superseded,
    WrongCode,
}

impl VerificationRecord {
    pub fn is_burned(&self) -> bool {
        self.attempts >= self.max_attempts
    }

    /// Every rule for using a record, in one place. `latest` is the user's current one.
    pub fn check(
        &self,
        presented: &ResetSecret,
        keys: &CodeKeys,
        latest: Option<&VerificationId>,
        now: Timestamp,
    ) -> Result<(), CheckFailure> {
        if self.consumed {
            return Err(CheckFailure::Consumed);
        }
        if now >= self.expires_at {
            return Err(CheckFailure::Expired);
        }
        if self.is_burned() {
            return Err(CheckFailure::Burned);
        }
        if latest != Some(&self.id) {
            return Err(CheckFailure::Superseded);
        }
        if !keys.verify(presented, &self.code_hash) {
            return Err(CheckFailure::WrongCode);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_states_read_back_as_written() {
        for d in [
            Delivery::Queued,
            Delivery::Sent {
                message_id: "m-1".into(),
            },
            Delivery::Undelivered,
            Delivery::Bounced,
            Delivery::Complained,
            Delivery::Handed,
        ] {
            let id = match &d {
                Delivery::Sent { message_id } => Some(message_id.clone()),
                _ => None,
            };
            assert_eq!(Delivery::parse(d.as_str(), id), Some(d));
        }
    }
}
